"""The steps of a plan's purchase page (views/subscription_purchase.py), decided here as
checkout_steps decides the invoice payment screen's: which methods a purchase may use,
the method the person chose, and the purchase itself once the card step is done.

What the person chose between steps is the view's session state, a dict: "plan" (its
public id), "key" (the attempt), "quantity", "method" ("token:<saved method public id>",
"new:<gateway id>" or "" when no card is needed) and, for a new customer, "details".
"""
import models
from billing import DomainError, gateway_settings, payment_methods
from billing import subscription_purchase as purchase
from billing.checkout_steps import Next
from gateways.base import GatewayError
from i18n import gettext as _


def offered_methods(price, client_id=None):
    """(saved methods, gateways for a new card) a purchase at this price may use: a trial
    only keeps a card, so it offers gateways that can store one; a free plan needs none.
    client_id: the buyer's client (a new customer has no saved methods)."""
    if price.due_now == 0 and not price.keeps_card:
        return [], []
    enabled = [gw for gw in gateway_settings.enabled() if gw.capabilities.online]
    if price.due_now == 0:
        enabled = [gw for gw in enabled if gw.capabilities.token_billing]
    saved = payment_methods.chargeable(client_id, enabled) if client_id and enabled else []
    return saved, enabled


def choose_method(price, method, client_id=None):
    """The method the person picked, checked against what this purchase offers (the only
    one on offer when they picked none); DomainError when there is nothing to pick."""
    saved, gateways = offered_methods(price, client_id)
    kind, _sep, ref = method.partition(":")
    if kind == "token" and any(t.public_id == ref for t in saved):
        return method
    if kind == "new" and any(str(gw.config.id) == ref for gw in gateways):
        return method
    if price.due_now == 0 and not gateways:
        return ""  # a trial or a free plan, and no gateway that keeps a card: none needed
    if not saved and len(gateways) == 1 and not method:
        return f"new:{gateways[0].config.id}"
    if not gateways:
        raise DomainError(_("This plan cannot be bought online at the moment. Please contact "
                          "us."), "method")
    raise DomainError(_("Choose how you would like to pay."), "method")


def chosen_method(method, client_id=None):
    """(saved method, gateway) for a chosen method: (token, its gateway), (None, the
    gateway that captures a new card), or (None, None) when none is needed."""
    kind, _sep, ref = method.partition(":")
    if kind == "token" and client_id is not None:
        token, gateway = payment_methods.usable(client_id, ref)
        if token is None:
            raise DomainError(_("That payment method is no longer available."), "method")
        return token, gateway
    if kind == "new" and ref.isdigit():
        gateway = gateway_settings.get(int(ref))
        if gateway is None or not gateway.capabilities.online:
            raise DomainError(_("That payment method is no longer available."), "method")
        return None, gateway
    return None, None


def advance_purchase(plan, state, choice, company, *, contact=None, staff=None,
                     customer=None, **options):
    """Buy what `state` holds for `plan` (checkout_steps.Choice: the card the capture page
    posted, the save box, staff's consent). contact: the logged-in buyer, None for a new
    customer; customer(gateway): the gateway's customer a new card is captured for.

    Returns Next("bought", purchase=subscription_purchase.Result), or Next("capture",
    error=...) when the gateway refused the card step. Raises DomainError, and then nothing
    was made or charged. options go to subscription_purchase.buy."""
    if state.get("plan") != plan.public_id or not state.get("key"):
        raise DomainError(_(purchase.EXPIRED), "key")
    # A resubmit (a double click, a retry, the back button) finds what this key made.
    repeat = purchase.repeat_of(state["key"], contact)
    if repeat is not None:
        return Next("bought", purchase=repeat)
    if (contact is not None) == ("details" in state):
        raise DomainError(_(purchase.EXPIRED), "key")  # logged in or out since
    token, gateway = chosen_method(state.get("method", ""),
                                   contact.client_id if contact else None)
    price = purchase.Price(plan, state["quantity"],
                           options.get("today") or models.utcnow().date())
    save = price.due_now == 0 or (gateway is not None
                                  and payment_methods.wants_save(gateway, choice.save))
    new_method = None
    if gateway is not None and token is None:
        if not choice.capture:
            raise DomainError(_("Enter the card details."), "method")
        if save:  # before the card is captured: refused, nothing reaches the gateway
            payment_methods.check_staff_consent(staff, choice.staff_consent)
        try:
            new_method = payment_methods.captured(None, gateway, choice.card,
                                                  customer=lambda: customer(gateway))
        except GatewayError as exc:
            return Next("capture", gateway=gateway, error=exc)
    return Next("bought", purchase=purchase.buy(
        plan, state["quantity"], company, key=state["key"], contact=contact,
        details=state.get("details"), password_hash=state.get("hash", ""), gateway=gateway,
        token=token, new_method=new_method, save_method=save,
        customer_reference=state.get("customer", ""), client_public_id=state.get("client"),
        staff=staff, staff_consent=choice.staff_consent, **options))
