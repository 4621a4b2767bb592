"""Paying invoices: POST /client/invoices/payment (review, pay, capture a new card).

Plain form posts, not htmx swaps: the card-capture page must be a full page load so that
its own Content-Security-Policy (allowing the gateway's script) applies, and so a reload
after paying lands on the payment, never on a second submission.
"""
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import pass_context

from billing import (
    DomainError,
    checkout,
    checkout_review,
    checkout_steps,
    gateway_settings,
    payment_methods,
)
from extensions import CSP, limiter
from gateways.base import GatewayError
from views.current import acting_staff, company, user_locale
from views.tabs import portal_tab, render_tab, tab_enabled

bp = Blueprint("checkout", __name__, url_prefix="/client")


def acting():
    """Who is doing this: the contact, or (impersonating) staff. Never assume the contact."""
    staff = acting_staff()
    return {"contact": None if staff else current_user.id, "staff": staff}


def selection(form):
    """The invoices and amounts the form asks to pay (the list's ticks, or the review form)."""
    return checkout_review.Selection(
        pay_all=bool(form.get("all")), picked=tuple(form.getlist("invoices")),
        amounts={name[len("amount_"):]: text for name, text in form.items()
                 if name.startswith("amount_")},
        full=frozenset(name[len("choice_"):] for name, value in form.items()
                       if name.startswith("choice_") and value == "full"))


def choice(form):
    """How the form says to pay."""
    return checkout_steps.Choice(
        method=form.get("method", ""), key=form.get("key", ""),
        use_credit=form.get("use_credit") == "1", capture=form.get("step") == "capture",
        save=form.get("save") == "1", staff_consent=form.get("staff_consent") == "1",
        card=card_entry(form))


def card_entry(form):
    return payment_methods.CardEntry(
        setup_intent=form.get("setup_intent", ""), number=form.get("card_number", ""),
        exp_month=form.get("exp_month", ""), exp_year=form.get("exp_year", ""),
        cvc=form.get("cvc", ""))


def requested_items(form):
    return checkout_review.requested_items(current_user, selection(form))


new_key = checkout_steps.new_key


def review(form, error=None, status=200, key=None):
    """The review screen: the invoices, credit, saved and new methods."""
    offer = checkout_review.offer(current_user, selection(form), company())
    if offer.nothing_to_pay and error is None:
        error = DomainError(_("Select at least one unpaid invoice to pay."), "invoices")
        status = 422
    return render_tab("payments/checkout.html", status_code=status, **vars(offer),
                      form=form, error=error, key=key or form.get("key") or new_key(),
                      all=form.get("all", ""))


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
    if form.get("step", "review") == "review":
        return review(form)
    try:
        following = checkout_steps.advance(current_user, selection(form), choice(form),
                                           company(), locale=user_locale(),
                                           staff=acting()["staff"])
        if following.step == "paid":
            return finished(following.outcome)
        if following.step == "instructions":
            return render_tab("payments/instructions.html", gateway=following.gateway,
                              plan=following.plan)
        return capture_page(following.gateway, form, following.plan, error=following.error,
                            status=422 if following.error else 200, key=following.key)
    except checkout.PaymentFailed as exc:
        return review(form, exc, 422, key=checkout_steps.key_after(exc, form.get("key")))
    except DomainError as exc:
        return review(form, exc, 422)
    except GatewayError as exc:  # the gateway failed before any charge (e.g. card setup)
        return review(form, exc, 422, key=form.get("key"))


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
    context.update(payment_methods.start_capture(current_user.client, gateway))
    response = render_tab("payments/capture.html", status_code=status, **context)
    return with_gateway_csp(response, gateway)


save_choice = payment_methods.save_choice


def wants_save(gateway, form):
    return payment_methods.wants_save(gateway, form.get("save") == "1")


def captured_method(gateway, form):
    """The method the gateway's capture returned: a demo token or a Stripe PaymentMethod."""
    return payment_methods.captured(current_user.client, gateway, card_entry(form))


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
