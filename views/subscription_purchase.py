"""A plan's public purchase page: /client/subscriptions/<plan public id>/purchase.

Anyone may open it. A visitor who is not logged in buys as a new customer (the business's
registration fields, e-mail and password); a logged-in contact buys for their client with a
saved card or a new one. Steps, as plain form posts that work without JavaScript:
the form (POST step=review) -> the card capture (step=capture) or a confirmation showing
the total (step=pay) -> the subscription's page, logged in. What the person chose between
steps is kept in the session (a new customer's password only as its hash), never in the
page. The steps are decided by billing.purchase_steps and the rules are
billing.subscription_purchase's; this module parses the form and maps outcomes to responses.
"""
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from werkzeug.security import generate_password_hash

import models
from billing import DomainError, FieldErrors, payment_methods, purchase_steps
from billing import company_settings as settings
from billing import subscription_purchase as purchase_service
from billing.schedule import FREQUENCIES
from extensions import limiter
from gateways.base import GatewayError
from i18n import gettext as _
from views import checkout as pay_views
from views import limits
from views.current import company, service_config
from views.sessions import start_contact_session
from views.tabs import render_tab, tab_enabled

bp = Blueprint("purchase", __name__, url_prefix="/client")
STATE = "purchase"
FORM_INPUTS = {"client_name": 200, "first_name": 100, "last_name": 100, "phone": 50,
               "address": 1000, "vat_number": 50, "email": 253, "password": 200,
               "confirm": 200, "quantity": 20, "method": 40}


def logged_in():
    return current_user.is_authenticated


def purchase_account():
    """Whose budget a POST draws on: the logged-in contact's address, else the one typed
    (or, at the card step, the one typed at the first step)."""
    if logged_in():
        return current_user.email
    kept = (session.get(STATE) or {}).get("details") or {}
    return request.form.get("email") or kept.get("email", "")


@bp.route("/subscriptions/<public_id>/purchase", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])  # card-testing bots try many cards
@limits.password_form(purchase_account, per_ip=limits.REGISTER_PER_IP,
                      per_account=limits.REGISTER_PER_ACCOUNT,
                      only_when=lambda: not logged_in())  # it makes accounts, like registering
def purchase(public_id):
    if not tab_enabled("subscriptions"):
        abort(404)
    plan = purchase_service.find_plan(public_id)
    if plan is None:
        return page("subscriptions/purchase_unavailable.html", 404)
    if logged_in():
        g.active_tab = "subscriptions"
    if request.method == "GET":
        return form_page(plan, {})
    form = {name: request.form.get(name, "")[:limit + 1] for name, limit in FORM_INPUTS.items()}
    step = request.form.get("step", "review")
    try:
        if step == "review":
            return review(plan, form)
        return finish(plan)
    except FieldErrors as exc:
        return form_page(plan, form, exc.errors, 422)
    except DomainError as exc:
        if step != "review" and exc.field not in ("key", "plan", "quantity"):
            try:  # the step that was refused, with the reason
                return step_page(plan, session.get(STATE) or {}, exc, 422)
            except (DomainError, GatewayError):
                pass  # that step cannot be shown again: back to the form
        return form_page(plan, form, {exc.field or "form": exc.message}, 422)
    except GatewayError as exc:  # the gateway failed before any charge (e.g. card setup)
        return form_page(plan, form, {"method": exc.message}, 422)


def page(template, status=200, **context):
    """The portal's page for a contact; a page of its own (like the login's) for a visitor."""
    shell = "page.html" if logged_in() else "subscriptions/_purchase_shell.html"
    return render_tab(template, status, shell=shell, **context)


def client_id():
    """The buyer's client (its saved methods), None for a new customer."""
    return current_user.client_id if logged_in() else None


def form_page(plan, form, errors=None, status=200):
    quantity = form.get("quantity") or str(plan.min_quantity)
    shown = plan.min_quantity
    if quantity.isdigit() and len(quantity) < 10:
        shown = max(plan.min_quantity, int(quantity))
        if plan.max_quantity:
            shown = min(shown, plan.max_quantity)
    price = purchase_service.Price(plan, shown, models.utcnow().date())
    saved, gateways = purchase_steps.offered_methods(price, client_id())
    c = company()
    return page("subscriptions/purchase.html", status, plan=plan, price=price, form=form,
                errors=errors or {}, saved=saved, gateways=gateways,
                quantity=quantity, frequencies=FREQUENCIES,
                new_customer=not logged_in(), login_open=c.portal_login_enabled,
                login_off=_(purchase_service.LOGIN_OFF),
                fields=settings.REGISTRATION_FIELDS, rules=settings.registration_rules(c),
                currency_error=_currency_error(plan))


def _currency_error(plan):
    if not logged_in():
        return None
    try:
        purchase_service.check_currency(current_user.client, plan)
    except DomainError as exc:
        return exc.message
    return None


def review(plan, form):
    """Check the form (nothing is made yet), keep what was chosen, show the next step."""
    if logged_in():
        details = None
        quantity = purchase_service.check_returning(current_user, plan, form)
    else:
        details, quantity = purchase_service.check_new_customer(company(), plan, form)
    price = purchase_service.Price(plan, quantity, models.utcnow().date())
    state = {"plan": plan.public_id, "key": pay_views.new_key(), "quantity": quantity,
             "method": purchase_steps.choose_method(price, form.get("method", ""),
                                                    client_id())}
    if details is not None:
        # Hashed now, whatever the address: this step costs every address the same.
        state["hash"] = generate_password_hash(details.pop("password"))
        state["details"] = details
        state["client"] = models.new_public_id()
    session[STATE] = state
    return step_page(plan, state)


def step_page(plan, state, error=None, status=200):
    """The card capture for a new card, else the confirmation showing the total."""
    if state.get("plan") != plan.public_id:
        raise DomainError(_(purchase_service.EXPIRED), "key")
    price = purchase_service.Price(plan, state["quantity"], models.utcnow().date())
    token, gateway = purchase_steps.chosen_method(state.get("method", ""), client_id())
    context = {"plan": plan, "price": price, "error": error, "token": token,
               "gateway": gateway, "frequencies": FREQUENCIES,
               "acting_staff": logged_in() and pay_views.acting()["staff"] is not None}
    if gateway is None or token is not None:
        return page("subscriptions/purchase_confirm.html", status, **context)
    context["save_choice"] = ("always" if price.due_now == 0
                              else pay_views.save_choice(gateway))
    if gateway.capabilities.client_side_capture:
        customer = _customer(gateway, state)
        context["setup_id"], context["client_secret"] = gateway.start_setup(customer)
    response = page("subscriptions/purchase_card.html", status, **context)
    return pay_views.with_gateway_csp(response, gateway)


def _customer(gateway, state):
    """The gateway's customer the card is captured for: the client's, or for a new customer
    one made now (kept in the session) and given to the client the purchase makes."""
    if logged_in():
        return payment_methods.customer_for(current_user.client, gateway)
    if not state.get("customer"):
        details = state["details"]
        name = (details["client_name"] or f"{details['first_name']} {details['last_name']}"
                .strip() or details["email"])
        state["customer"] = gateway.create_customer(name, details["email"], state["client"])
        session[STATE] = state
    return state["customer"]


def finish(plan):
    """Buy what the session holds for this plan: with the card just captured (step=capture)
    or the saved one / no card at all (step=pay)."""
    state = session.get(STATE) or {}
    contact = current_user._get_current_object() if logged_in() else None
    following = purchase_steps.advance_purchase(
        plan, state, pay_views.choice(request.form), company(), contact=contact,
        staff=pay_views.acting()["staff"] if contact else None,
        customer=lambda gateway: _customer(gateway, state),
        config=service_config(), app=current_app._get_current_object())
    if following.step == "capture":
        return step_page(plan, state, following.error, 422)
    return finished(following.purchase, state)


def finished(result, state):
    """Map the purchase's outcome to a response; a new customer is logged in first (the
    state stays in the new session, so a resubmit is answered as a duplicate)."""
    if result.status == "exists":
        session.pop(STATE, None)
        # The very page, status and wording of a registration: nothing says "known address".
        return render_template("auth/register_sent.html", email=state["details"]["email"])
    if (result.new_customer and "details" in state and result.contact is not None
            and not logged_in()):
        start_contact_session(result.contact, **{STATE: state})  # fresh, as login makes it
        models.Activity.log("contact.login", result.contact, client=result.contact.client_id,
                            contact=result.contact, ip=request.remote_addr or "")
    subscription = result.subscription
    target = url_for("subscriptions.show", public_id=subscription.public_id)
    if result.status == "requires_action":
        return pay_views.authenticate_page(result.outcome.payment, result.outcome.client_secret)
    if result.status == "declined":
        flash(_("%(error)s Your subscription starts once its first invoice is paid: you can pay "
                "it below with another card.", error=result.error.message), "error")
    elif result.status == "processing":
        flash(_("Your payment is being processed. Your subscription starts once the payment "
                "service confirms it."), "info")
    elif result.status == "duplicate":
        flash(_("This purchase was already submitted; it was recorded once."), "info")
    elif result.status == "started" and subscription.trial_ends_on:
        flash(_("Your free trial has started. Nothing was charged today."), "success")
    else:
        flash(_("Thank you! Your subscription is active."), "success")
    return redirect(target, 303)
