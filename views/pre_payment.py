"""Pre-Payment tab: pay an amount on account, once or on a schedule; stop a schedule.

Plain form posts, like the invoice payment screen (views/checkout.py), whose card capture,
3-D Secure and confirmation pages this tab shares.
"""
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from billing import (
    DomainError,
    checkout,
    checkout_steps,
    gateway_settings,
    payment_methods,
    prepayments,
)
from billing.schedule import FREQUENCIES
from extensions import limiter
from gateways.base import GatewayError
from views import checkout as pay_views
from views.current import company, user_locale
from views.tabs import portal_tab, render_tab

bp = Blueprint("pre_payment", __name__, url_prefix="/client")


def form_context(form, error=None, key=None):
    client_id = current_user.client_id
    enabled = gateway_settings.enabled()
    saved = payment_methods.chargeable(client_id, enabled)
    c = company()
    currency = current_user.client.currency
    return {
        "form": form, "error": error, "key": key or form.get("key") or pay_views.new_key(),
        "currency": currency, "saved": saved,
        "new_gateways": [g for g in enabled if g.capabilities.online],
        "minimum": c.minimum_prepayment if currency == c.currency else 0,
        "frequencies": FREQUENCIES, "schedules": prepayments.schedules_for(client_id),
    }


def form_page(form, error=None, status=200, key=None):
    return render_tab("pre_payment/index.html", status_code=status,
                      **form_context(form, error, key))


@bp.route("/pre_payment", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])  # card-testing bots try many cards
@portal_tab("pre_payment")
def index():
    if request.method == "GET":
        return form_page({})
    form = request.form
    try:
        following = checkout_steps.advance_prepayment(
            current_user, form, pay_views.choice(form), company(), locale=user_locale(),
            staff=pay_views.acting()["staff"])
    except checkout.PaymentFailed as exc:
        return form_page(form, exc, 422, key=checkout_steps.key_after(exc, form.get("key")))
    except DomainError as exc:
        return form_page(form, exc, 422)
    except GatewayError as exc:  # the gateway failed before any charge (e.g. card setup)
        return form_page(form, exc, 422, key=form.get("key"))
    if following.step == "paid":
        return pay_views.finished(following.outcome)
    recurring = form.get("recurring") == "1"
    return pay_views.capture_page(
        following.gateway, form, following.plan, error=following.error,
        status=422 if following.error else 200, key=following.key,
        action=url_for("pre_payment.index"), carry="pre_payment/_carry.html", items=[],
        save_choice="recurring" if recurring else pay_views.save_choice(following.gateway))


def get_schedule(public_id):
    record = prepayments.get_schedule(current_user.client_id, public_id)
    if record is None:
        abort(404)
    return record


@bp.route("/pre_payment/<public_id>/stop", methods=["GET", "POST"])
@portal_tab("pre_payment")
def stop(public_id):
    """GET asks for confirmation (the no-JavaScript path); POST stops the schedule."""
    record = get_schedule(public_id)
    if request.method == "GET":
        return render_tab("pre_payment/stop.html", schedule=record, frequencies=FREQUENCIES)
    acting = pay_views.acting()
    if prepayments.stop(record, contact=acting["contact"], staff=acting["staff"]):
        flash(_("The recurring pre-payment was stopped. No more payments will be taken."),
              "success")
    else:
        flash(_("That recurring pre-payment had already ended."), "info")
    return redirect(url_for("pre_payment.index"), 303)
