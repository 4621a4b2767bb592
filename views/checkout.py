"""Paying invoices: POST /client/invoices/payment (review, pay, capture a new card).

Plain form posts, not htmx swaps: the card-capture page must be a full page load so that
its own Content-Security-Policy (allowing the gateway's script) applies, and so a reload
after paying lands on the payment, never on a second submission.
"""
import secrets

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import pass_context

import models
from billing import (
    DomainError,
    allocation,
    checkout,
    gateway_settings,
    payment_methods,
    reservations,
)
from extensions import CSP, limiter
from gateways.base import GatewayError
from views.current import acting_staff_id, company, user_locale
from views.tabs import portal_tab, render_tab, tab_enabled

bp = Blueprint("checkout", __name__, url_prefix="/client")


def acting():
    """Who is doing this: the contact, or (impersonating) staff. Never assume the contact."""
    staff_id = acting_staff_id()
    staff = models.StaffUser.get_or_none(models.StaffUser.id == staff_id) if staff_id else None
    return {"contact": None if staff else current_user.id, "staff": staff}


def selected_ids(form):
    if form.get("all"):
        Invoice = models.Invoice
        query = (Invoice.for_client(current_user.client_id)
                 .where(Invoice.status.in_(("sent", "partial")) & (Invoice.balance > 0)
                        & (Invoice.currency == current_user.client.currency))
                 .order_by(Invoice.due_date, Invoice.id).limit(allocation.MAX_INVOICES))
        return [inv.public_id for inv in query]
    return [pid[:24] for pid in form.getlist("invoices")][: allocation.MAX_INVOICES + 1]


def amount_text(form, pid):
    """The amount typed for an invoice (blank stays blank: refused), else the form's choice:
    the full balance or what is due now. A form without either (pay all) pays what is due."""
    text = form.get(f"amount_{pid}")
    if text is not None:
        return text[:40]
    return allocation.FULL if form.get(f"choice_{pid}") == "full" else allocation.DUE


def requested_items(form):
    return [(pid, amount_text(form, pid)) for pid in selected_ids(form)]


def checkout_context(form, error=None, key=None):
    """What the review screen shows: the invoices, credit, saved and new methods."""
    client_id = current_user.client_id
    ids = selected_ids(form)
    Invoice = models.Invoice
    found = {i.public_id: i for i in Invoice.for_client(client_id)
             .where(Invoice.public_id.in_(ids or [""]))}
    invoices = [found[pid] for pid in ids if pid in found and found[pid].is_payable]
    # An invoice a payment in flight holds in full is shown as being processed, never
    # offered for a second charge (the claim would refuse it anyway).
    processing = reservations.in_flight(client_id, invoices)
    held_in_full = {inv.id for inv, _, left in processing if left == 0}
    invoices = [inv for inv in invoices if inv.id not in held_in_full]
    currency = invoices[0].currency if invoices else current_user.client.currency
    credit = sum(c.balance for c in allocation.available_credit(client_id, currency))
    enabled = gateway_settings.enabled()
    usable_ids = {g.config.id for g in enabled if g.capabilities.token_billing}
    saved = [t for t in models.GatewayToken.for_client(client_id)
             .order_by(models.GatewayToken.is_default.desc(), models.GatewayToken.id.desc())
             if t.gateway_id in usable_ids]
    c = company()
    return {
        "invoices": invoices, "processing": processing, "currency": currency,
        "credit_available": credit,
        "saved": saved, "new_gateways": [g for g in enabled if g.capabilities.online],
        "offline_gateways": [g for g in enabled if not g.capabilities.online],
        "editable": c.allow_partial_payments or c.allow_over_payment,
        "form": form, "error": error, "key": key or form.get("key") or new_key(),
        "all": form.get("all", ""),
    }


def new_key():
    return secrets.token_urlsafe(24)


def review(form, error=None, status=200, key=None):
    context = checkout_context(form, error, key)
    if not context["invoices"] and not context["processing"] and error is None:
        context["error"] = DomainError(_("Select at least one unpaid invoice to pay."), "invoices")
        status = 422
    return render_tab("payments/checkout.html", status_code=status, **context)


@bp.route("/invoices/payment", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])  # card-testing bots try many cards
@portal_tab("invoices")
def pay():
    if not tab_enabled("payments"):
        abort(404)  # the confirmation lives in the Payments tab
    if request.method == "GET":
        # A link to the payment screen (after approving quotes): review only, never a charge.
        return review(request.args)
    form = request.form
    step = form.get("step", "review")
    if step == "review":
        return review(form)
    method = form.get("method", "")
    kind, _sep, ref = method.partition(":")
    use_credit = form.get("use_credit") == "1"
    try:
        if kind == "token":
            token, gateway = payment_methods.usable(current_user.client_id, ref)
            if token is None:
                raise DomainError(_("That payment method is no longer available."), "method")
            outcome = checkout.pay(current_user, requested_items(form), company(),
                                   idempotency_key=form.get("key"), token=token,
                                   use_credit=use_credit, **acting_staff())
            return finished(outcome)
        plan = allocation.plan(current_user.client_id, requested_items(form), company(),
                               use_credit=use_credit, locale=user_locale())
        if plan.charge == 0:  # credit covers it all: no gateway needed
            outcome = checkout.pay(current_user, requested_items(form), company(),
                                   idempotency_key=form.get("key"), use_credit=True,
                                   **acting_staff())
            return finished(outcome)
        gateway = gateway_settings.get(int(ref)) if ref.isdigit() else None
        if gateway is None or kind not in ("new", "offline"):
            raise DomainError(_("Choose how you would like to pay."), "method")
        if kind == "offline" or not gateway.capabilities.online:
            return render_tab("payments/instructions.html", gateway=gateway, plan=plan)
        if step == "capture":
            return capture_and_pay(gateway, form)
        return capture_page(gateway, form, plan)
    except checkout.PaymentFailed as exc:
        # A retryable failure keeps the key: the retry is the same attempt, at the gateway too.
        return review(form, exc, 422, key=form.get("key") if exc.retryable else new_key())
    except DomainError as exc:
        return review(form, exc, 422)
    except GatewayError as exc:  # the gateway failed before any charge (e.g. card setup)
        return review(form, exc, 422, key=form.get("key"))


def acting_staff():
    return {"staff": acting()["staff"]}


def finished(outcome):
    payment = outcome.payment
    if outcome.status == "requires_action":
        return authenticate_page(payment, outcome.client_secret)
    if outcome.status == "processing":
        flash(_("Your payment is being processed. It will appear here once the payment "
                "service confirms it."), "info")
    elif outcome.status == "duplicate":
        flash(_("This payment was already submitted; it was recorded once."), "info")
    else:
        flash(_("Payment received. Thank you!"), "success")
    return redirect(url_for("payments.show", public_id=payment.public_id), 303)


def capture_page(gateway, form, plan, error=None, status=200, **overrides):
    """The gateway's own card capture, carrying the chosen invoices and amounts along.

    overrides: what another payment screen (the Pre-Payment tab) posts to and carries."""
    context = {"gateway": gateway, "form": form, "plan": plan, "error": error,
               "mode": "pay", "key": form.get("key") or new_key(),
               "items": requested_items(form), "save_choice": save_choice(gateway),
               "acting_staff": acting()["staff"] is not None,
               "action": url_for("checkout.pay"), "carry": "payments/_carry.html",
               **overrides}
    if gateway.capabilities.client_side_capture:
        customer = payment_methods.customer_for(current_user.client, gateway)
        context["setup_id"], context["client_secret"] = gateway.start_setup(customer)
    response = render_tab("payments/capture.html", status_code=status, **context)
    return with_gateway_csp(response, gateway)


def save_choice(gateway):
    """How the save-card checkbox shows, from the business's token mode for this gateway."""
    if not gateway.capabilities.token_billing:
        return "off"
    return gateway.config.token_mode if gateway.config.token_mode in (
        "always", "optin", "optout", "off") else "optin"


def wants_save(gateway, form):
    mode = save_choice(gateway)
    return mode == "always" or (mode in ("optin", "optout") and form.get("save") == "1")


def captured_method(gateway, form):
    """The method the gateway's capture returned: a demo token or a Stripe PaymentMethod."""
    if gateway.capabilities.client_side_capture:
        customer = payment_methods.customer_for(current_user.client, gateway)
        return gateway.finish_setup(form.get("setup_intent", "")[:100], customer)
    return gateway.tokenize(form.get("card_number", "")[:25], form.get("exp_month", "")[:2],
                            form.get("exp_year", "")[:4], form.get("cvc", "")[:4])


def capture_and_pay(gateway, form):
    plan = allocation.plan(current_user.client_id, requested_items(form), company(),
                           use_credit=form.get("use_credit") == "1", locale=user_locale())
    staff, consent = acting()["staff"], form.get("staff_consent") == "1"
    if wants_save(gateway, form):
        try:  # before the card is captured: refused, nothing reaches the gateway
            payment_methods.check_staff_consent(staff, consent)
        except DomainError as exc:
            return capture_page(gateway, form, plan, error=exc, status=422)
    try:
        method = captured_method(gateway, form)
        outcome = checkout.pay(current_user, requested_items(form), company(),
                               idempotency_key=form.get("key"), gateway=gateway,
                               new_method=method, save_method=wants_save(gateway, form),
                               use_credit=form.get("use_credit") == "1", staff=staff,
                               staff_consent=consent)
    except (GatewayError, checkout.PaymentFailed) as exc:
        retryable = getattr(exc, "retryable", False)
        if not retryable:
            form = form.copy()
            form["key"] = new_key()
        return capture_page(gateway, form, plan, error=exc, status=422)
    return finished(outcome)


def authenticate_page(payment, client_secret):
    gateway = gateway_settings.get(payment.gateway_id)
    response = render_tab("payments/authenticate.html", payment=payment, gateway=gateway,
                          client_secret=client_secret)
    return with_gateway_csp(response, gateway)


def with_gateway_csp(response, gateway):
    if gateway is not None and hasattr(gateway, "csp"):
        response.headers["Content-Security-Policy"] = gateway.csp(CSP)
    return response


@bp.post("/payments/<public_id>/complete")
@portal_tab("payments")
def complete(public_id):
    try:
        outcome = checkout.complete_action(current_user, public_id)
    except checkout.PaymentFailed as exc:
        flash(exc.message, "error")
        return redirect(url_for("invoices.index"), 303)
    except DomainError:
        abort(404)
    return finished(outcome)


@bp.app_template_filter("decimal")
@pass_context
def decimal_filter(ctx, minor, currency):
    """Minor units as a form field holds them, in the locale the form is parsed in
    ("125.00", "125,00"), so submitting it unchanged reads back the same amount."""
    import money
    return money.input_string(minor or 0, currency, ctx.get("locale") or user_locale())
