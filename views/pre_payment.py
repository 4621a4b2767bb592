"""Pre-Payment tab: pay an amount on account, once or on a schedule; stop a schedule.

Plain form posts, like the invoice payment screen (views/checkout.py), whose card capture,
3-D Secure and confirmation pages this tab shares.
"""
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from billing import DomainError, checkout, gateway_settings, payment_methods, prepayments
from billing.allocation import Plan
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
    kind, _sep, ref = form.get("method", "").partition(":")
    staff = pay_views.acting()["staff"]
    try:
        if kind == "token":
            token, _gateway = payment_methods.usable(current_user.client_id, ref)
            if token is None:
                raise DomainError(_("That payment method is no longer available."), "method")
            outcome = prepayments.prepay(current_user, company(), form, locale=user_locale(),
                                         idempotency_key=form.get("key"), token=token,
                                         staff=staff)
            return pay_views.finished(outcome)
        gateway = gateway_settings.get(int(ref)) if ref.isdigit() and kind == "new" else None
        # The amount, note and schedule are checked before anything reaches the gateway.
        amount, _plan, recurrence = prepayments.validate(current_user, company(), form,
                                                     user_locale())
        if gateway is None or not gateway.capabilities.online:
            raise DomainError(_("Choose how you would like to pay."), "method")
        prepayments.check_can_recur(recurrence, gateway=gateway,
                                    save_method=pay_views.save_choice(gateway) != "off")
        if form.get("step") == "capture":
            return capture_and_prepay(gateway, form, amount, recurrence, staff)
        return capture(gateway, form, amount, recurrence)
    except checkout.PaymentFailed as exc:
        # A retryable failure keeps the key: the retry is the same attempt, at the gateway too.
        return form_page(form, exc, 422, key=form.get("key") if exc.retryable
                         else pay_views.new_key())
    except DomainError as exc:
        return form_page(form, exc, 422)
    except GatewayError as exc:  # the gateway failed before any charge (e.g. card setup)
        return form_page(form, exc, 422, key=form.get("key"))


def capture(gateway, form, amount, recurrence, error=None, status=200):
    plan = Plan(client_id=current_user.client_id, currency=current_user.client.currency,
                lines=[], credit=0, total=amount)
    choice = "recurring" if recurrence else pay_views.save_choice(gateway)
    return pay_views.capture_page(gateway, form, plan, error=error, status=status,
                                  action=url_for("pre_payment.index"),
                                  carry="pre_payment/_carry.html", items=[],
                                  save_choice=choice)


def capture_and_prepay(gateway, form, amount, recurrence, staff):
    consent = form.get("staff_consent") == "1"
    save = recurrence is not None or pay_views.wants_save(gateway, form)
    if save:
        try:  # before the card is captured: refused, nothing reaches the gateway
            payment_methods.check_staff_consent(staff, consent)
        except DomainError as exc:
            return capture(gateway, form, amount, recurrence, error=exc, status=422)
    try:
        method = pay_views.captured_method(gateway, form)
        outcome = prepayments.prepay(current_user, company(), form, locale=user_locale(),
                                     idempotency_key=form.get("key"), gateway=gateway,
                                     new_method=method, save_method=save, staff=staff,
                                     staff_consent=consent)
    except (GatewayError, checkout.PaymentFailed) as exc:
        if not getattr(exc, "retryable", False):
            form = form.copy()
            form["key"] = pay_views.new_key()
        return capture(gateway, form, amount, recurrence, error=exc, status=422)
    return pay_views.finished(outcome)


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
