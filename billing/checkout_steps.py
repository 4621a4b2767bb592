"""What happens once a person chose how to pay: the invoices of the review screen
(advance), or an amount on account from the Pre-Payment tab (advance_prepayment).

A saved method, or credit that covers it all, pays at once; an offline method shows its
instructions; a new card goes through the gateway's capture page first, and pays when the
capture comes back. Each advance decides which, and takes the payment when it is due; the
portal's views only map the Next it returns to a page.
"""
import dataclasses
import secrets

from billing import (
    DomainError,
    allocation,
    checkout,
    checkout_review,
    gateway_settings,
    payment_methods,
    prepayments,
)
from gateways.base import GatewayError
from i18n import gettext as _


def new_key():
    """A fresh idempotency key: a new attempt (checkout.check_key accepts it)."""
    return secrets.token_urlsafe(24)


@dataclasses.dataclass(frozen=True)
class Choice:
    """How the person chose to pay, as the payment form posted it.

    method: "token:<saved method public id>", "new:<gateway id>" or "offline:<gateway id>";
    capture: the card-capture page posted (card holds what it captured); save: the
    save-card box is ticked; staff_consent: staff confirm the client agreed to keeping it.
    """
    method: str = ""
    key: str = ""
    use_credit: bool = False
    capture: bool = False
    save: bool = False
    staff_consent: bool = False
    card: payment_methods.CardEntry = payment_methods.CardEntry()


@dataclasses.dataclass
class Next:
    """What the payment screen shows next: "paid" (outcome: the payment, done or on its
    way), "instructions" (how to pay offline), "capture" (the gateway's card capture,
    again with error when the card step was refused; key is the attempt it carries), or
    "bought" (purchase: a plan's purchase, billing.purchase_steps)."""
    step: str
    outcome: checkout.Outcome | None = None
    gateway: object = None
    plan: allocation.Plan | None = None
    error: Exception | None = None
    key: str = ""
    purchase: object = None


def advance(contact, selection, choice, company, *, locale, staff=None):
    """The next step of paying `selection` (checkout_review.Selection) the way `choice`
    says. Raises DomainError (checkout.PaymentFailed when the gateway refused a saved
    method) or GatewayError, and then nothing was recorded or charged."""
    items = checkout_review.requested_items(contact, selection)
    kind, _sep, ref = choice.method.partition(":")
    if kind == "token":
        token, _gateway = payment_methods.usable(contact.client_id, ref)
        if token is None:
            raise DomainError(_("That payment method is no longer available."), "method")
        return Next("paid", checkout.pay(contact, items, company, idempotency_key=choice.key,
                                         token=token, use_credit=choice.use_credit,
                                         staff=staff))
    plan = allocation.plan(contact.client_id, items, company, use_credit=choice.use_credit,
                           locale=locale)
    if plan.charge == 0:  # credit covers it all: no gateway needed
        return Next("paid", checkout.pay(contact, items, company, idempotency_key=choice.key,
                                         use_credit=True, staff=staff))
    gateway = gateway_settings.get(int(ref)) if ref.isdigit() else None
    if gateway is None or kind not in ("new", "offline"):
        raise DomainError(_("Choose how you would like to pay."), "method")
    if kind == "offline" or not gateway.capabilities.online:
        return Next("instructions", gateway=gateway, plan=plan)
    if not choice.capture:
        return Next("capture", gateway=gateway, plan=plan, key=choice.key or new_key())

    def pay_with(method, save):
        return checkout.pay(contact, items, company, idempotency_key=choice.key,
                            gateway=gateway, new_method=method, save_method=save,
                            use_credit=choice.use_credit, staff=staff,
                            staff_consent=choice.staff_consent)
    return pay_captured(contact, plan, gateway, choice, staff, pay_with)


def advance_prepayment(contact, form, choice, company, *, locale, staff=None):
    """The next step of the Pre-Payment form (amount, note, schedule: prepayments.validate)
    paid the way `choice` says: a saved method, or a new card through the capture page
    (no offline method: nothing would tell us the money came). A schedule needs the card
    kept. Raises as advance() does, and then nothing was recorded or charged."""
    kind, _sep, ref = choice.method.partition(":")

    def prepay(**how):
        return prepayments.prepay(contact, company, form, locale=locale,
                                  idempotency_key=choice.key, staff=staff, **how)
    if kind == "token":
        token, _gateway = payment_methods.usable(contact.client_id, ref)
        if token is None:
            raise DomainError(_("That payment method is no longer available."), "method")
        return Next("paid", prepay(token=token))
    gateway = gateway_settings.get(int(ref)) if ref.isdigit() and kind == "new" else None
    # The amount, note and schedule are checked before anything reaches the gateway.
    amount, _note, recurrence = prepayments.validate(contact, company, form, locale)
    if gateway is None or not gateway.capabilities.online:
        raise DomainError(_("Choose how you would like to pay."), "method")
    prepayments.check_can_recur(recurrence, gateway=gateway,
                                save_method=payment_methods.save_choice(gateway) != "off")
    plan = allocation.Plan(client_id=contact.client_id, currency=contact.client.currency,
                           lines=[], credit=0, total=amount)
    if not choice.capture:
        return Next("capture", gateway=gateway, plan=plan, key=choice.key or new_key())

    def pay_with(method, save):
        return prepay(gateway=gateway, new_method=method, save_method=save,
                      staff_consent=choice.staff_consent)
    return pay_captured(contact, plan, gateway, choice, staff, pay_with,
                        must_save=recurrence is not None)


def pay_captured(contact, plan, gateway, choice, staff, pay_with, must_save=False):
    """Pay with the card the gateway's capture page just returned, through
    pay_with(method, save); a refused card step shows that page again, with the error."""
    save = must_save or payment_methods.wants_save(gateway, choice.save)
    if save:
        try:  # before the card is captured: refused, nothing reaches the gateway
            payment_methods.check_staff_consent(staff, choice.staff_consent)
        except DomainError as exc:
            return Next("capture", gateway=gateway, plan=plan, error=exc,
                        key=choice.key or new_key())
    try:
        method = payment_methods.captured(contact.client, gateway, choice.card)
        outcome = pay_with(method, save)
    except (GatewayError, checkout.PaymentFailed) as exc:
        return Next("capture", gateway=gateway, plan=plan, error=exc,
                    key=key_after(exc, choice.key))
    return Next("paid", outcome)


def key_after(error, key):
    """The key the form carries after a failed attempt: a retryable failure keeps it (the
    retry is the same attempt, at the gateway too); any other starts a new attempt."""
    return (key if getattr(error, "retryable", False) else "") or new_key()
