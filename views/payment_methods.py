"""Payment Methods tab: saved cards and accounts; add through the gateway's own capture."""
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

import models
from billing import DomainError, gateway_settings, listing, payment_methods
from extensions import limiter
from gateways.base import GatewayError
from views.checkout import acting, with_gateway_csp
from views.tabs import portal_tab, render_tab

bp = Blueprint("payment_methods", __name__, url_prefix="/client")


def get_method(public_id):
    token = models.GatewayToken.for_client(current_user.client_id).where(
        models.GatewayToken.public_id == public_id[:24]).first()
    if token is None:
        abort(404)
    return token


@bp.get("/payment_methods")
@portal_tab("payment_methods")
def index():
    methods = listing.payment_methods(current_user.client_id).all()
    return render_tab("payment_methods/list.html", methods=methods,
                      can_add=bool(gateway_settings.with_token_billing()))


@bp.get("/payment_methods/<public_id>")
@portal_tab("payment_methods")
def show(public_id):
    token = get_method(public_id)
    count = models.GatewayToken.for_client(current_user.client_id).count()
    return render_tab("payment_methods/show.html", method=token, several=count > 1)


@bp.post("/payment_methods/<public_id>/remove")
@portal_tab("payment_methods")
def remove(public_id):
    token = get_method(public_id)
    try:
        payment_methods.remove(token, **acting())
    except GatewayError as exc:
        flash(_("The card could not be removed: %(reason)s", reason=exc.message), "error")
        return redirect(url_for("payment_methods.show", public_id=public_id), 303)
    flash(_("%(card)s was removed.", card=f"{token.brand.title()} •••• {token.last4}"), "success")
    return redirect(url_for("payment_methods.index"), 303)


@bp.post("/payment_methods/<public_id>/default")
@portal_tab("payment_methods")
def make_default(public_id):
    token = get_method(public_id)
    try:
        payment_methods.make_default(token, **acting())
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("%(card)s is now your default.", card=f"{token.brand.title()} •••• {token.last4}"),
              "success")
    return redirect(url_for("payment_methods.index"), 303)


def chosen_gateway():
    available = gateway_settings.with_token_billing()
    wanted = request.values.get("gateway", "")
    for gateway in available:
        if str(gateway.config.id) == wanted or len(available) == 1:
            return gateway, available
    return None, available


@bp.route("/payment_methods/create", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
@portal_tab("payment_methods")
def create():
    gateway, available = chosen_gateway()
    if not available:
        abort(404)
    if gateway is None:
        return render_tab("payment_methods/choose.html", available=available)
    who = acting()
    consent = request.values.get("staff_consent") == "1"
    if who["staff"] is not None and not consent:
        # Staff viewing the portal as the contact: the client's consent comes first, before
        # any card form (a gateway's own form would store the card at the gateway already).
        return consent_page(gateway, request.method == "POST" or "asked" in request.args)
    error = None
    if request.method == "POST":
        from views.checkout import captured_method
        try:
            saved = captured_method(gateway, request.form)
            payment_methods.store(current_user.client_id, gateway.config.id, saved,
                                  staff_consent=consent, **who)
        except GatewayError as exc:
            error = exc
        else:
            flash(_("%(card)s was saved.", card=f"{saved.brand.title()} •••• {saved.last4}"),
                  "success")
            return redirect(url_for("payment_methods.index"), 303)
    return capture(gateway, error, staff_consent=consent)


def consent_page(gateway, refused):
    error = None
    if refused:
        try:
            payment_methods.check_staff_consent(acting()["staff"], False)
        except DomainError as exc:
            error = exc
    return render_tab("payment_methods/consent.html", status_code=422 if error else 200,
                      gateway=gateway, error=error)


def capture(gateway, error, staff_consent=False):
    context = {"gateway": gateway, "mode": "setup", "error": error, "form": {}, "items": [],
               "staff_consent": staff_consent}
    try:
        if gateway.capabilities.client_side_capture:
            customer = payment_methods.customer_for(current_user.client, gateway)
            context["setup_id"], context["client_secret"] = gateway.start_setup(customer)
    except GatewayError as exc:
        context["error"] = exc
        context["gateway_down"] = True
    status = 422 if error else 503 if context.get("gateway_down") else 200
    response = render_tab("payments/capture.html", status_code=status, **context)
    return with_gateway_csp(response, gateway)
