"""Buying a plan from its public purchase page: a new customer (an account made with the
purchase) or a logged-in contact, the first invoice paid through checkout's one charging
path, or a free trial with the card saved for later.

The rule when the card is declined is the one Stripe Billing and most portals follow: no
subscription until it is paid. Everything a purchase makes (the client and its contact when
new, the subscription, its first invoice and the pending payment that claims the form's
key and reserves the amount) is written in ONE transaction, before the gateway is called.
The subscription starts "incomplete": it grants nothing and bills nothing until its first
invoice is paid, whoever reports the money (this request, a webhook, run-due's
reconciliation, or the client paying the invoice later from the Invoices tab): checkout's
finalize calls activate_paid() in its own transaction. A declined card leaves a whole
account (never half a client) holding one incomplete subscription and one open invoice.

The form's idempotency key is claimed twice over in that transaction (Subscription.
purchase_key and the pending Payment's key, both unique), so a double submit, a retry or a
race makes one client, one subscription, one invoice and one payment.

An address that already has an account is never revealed: nothing is made or charged, and
its owner is e-mailed exactly as when someone registers with it (billing.registration).
"""
import dataclasses
import datetime as dt

from peewee import IntegrityError

import models
from billing import (
    DomainError,
    FieldErrors,
    accounts,
    allocation,
    checkout,
    payment_methods,
    registration,
    subscription_invoices,
    subscriptions,
    transaction,
)
from billing.schedule import next_date
from i18n import N_
from i18n import gettext as _

EXPIRED = N_("This purchase form has expired. Please start again.")
LOGIN_OFF = N_("New accounts cannot be opened here. If you are a client already, open the "
               "portal from the link in our latest e-mail to buy this plan.")


@dataclasses.dataclass
class Price:
    """What buying `quantity` of `plan` costs, as the page shows it before confirming."""
    plan: models.Plan
    quantity: int
    today: dt.date

    @property
    def trial_ends_on(self):
        days = self.plan.trial_days
        return self.today + dt.timedelta(days=days) if days else None

    @property
    def period_amount(self):
        return self.plan.price * self.quantity

    @property
    def setup_fee(self):
        return self.plan.setup_fee or 0

    @property
    def due_now(self):
        """Charged today: nothing during a trial (the set-up fee comes with the first
        period after it), else the set-up fee and the first period."""
        if self.trial_ends_on:
            return 0
        return self.setup_fee + self.period_amount

    @property
    def keeps_card(self):
        """A trial of a priced plan keeps a card for when it ends (when a gateway can)."""
        return bool(self.trial_ends_on) and self.setup_fee + self.period_amount > 0

    @property
    def first_period_end(self):
        return next_date(self.trial_ends_on or self.today, self.plan.frequency)


@dataclasses.dataclass
class Result:
    """How a purchase ended. status: completed, processing, requires_action (the gateway's
    own words), declined (error says why), started (a trial or a free plan: nothing to
    charge), duplicate (this form was submitted before), exists (the address has an
    account: nothing was made; say only what registration says)."""
    status: str
    subscription: models.Subscription | None = None
    contact: models.Contact | None = None
    outcome: checkout.Outcome | None = None
    error: DomainError | None = None
    new_customer: bool = False


def find_plan(public_id):
    """The plan on sale under this public id, or None (unknown, malformed or archived)."""
    if not isinstance(public_id, str) or not 8 <= len(public_id) <= 24:
        return None
    P = models.Plan
    return P.get_or_none((P.public_id == public_id) & P.archived_at.is_null())


def parse_quantity(plan, text):
    text = str(text if text is not None else "").strip()
    if not text:
        raise DomainError(_("Enter the quantity."), "quantity")
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise DomainError(_("The quantity must be a whole number."), "quantity")
    return subscriptions.check_quantity(plan, int(text))


def check_currency(client, plan):
    if plan.currency != client.currency:
        raise DomainError(_("This plan is priced in %(plan)s and your account is billed in "
                            "%(client)s, so it cannot be bought here. Please contact us.",
                            plan=plan.currency, client=client.currency), "plan")


def check_new_customer(company, plan, form):
    """The new customer's form: the registration fields the business asks (checked by
    billing.registration, the same rules), e-mail, password and quantity. Returns
    (details with the password, quantity) or FieldErrors naming every bad field."""
    if not company.portal_login_enabled:
        raise DomainError(_(LOGIN_OFF), "email")
    errors, details, quantity = {}, None, None
    try:
        quantity = parse_quantity(plan, form.get("quantity"))
    except DomainError as exc:
        errors["quantity"] = exc.message
    try:
        details = registration.check(company, form)
    except FieldErrors as exc:
        errors.update(exc.errors)
    if errors:
        raise FieldErrors(errors)
    return details, quantity


def check_returning(contact, plan, form):
    """A logged-in contact's form: the quantity, in the currency their client is billed in."""
    if not contact.may_sign_in:
        raise DomainError(_("This account is closed. Please contact us."))
    check_currency(contact.client, plan)
    return parse_quantity(plan, form.get("quantity"))


def buy(plan, quantity, company, *, key, contact=None, details=None, password_hash="",
        gateway=None, token=None, new_method=None, save_method=False,
        customer_reference="", client_public_id=None, staff=None, staff_consent=False,
        config=None, app=None, today=None):
    """Buy `quantity` of `plan`: for the logged-in `contact`, or for a new customer from
    `details` (checked by check_new_customer; the password already hashed).

    Pay with a saved `token`, or a `new_method` the `gateway` just captured (kept when
    save_method, and always kept for a trial when the gateway can store it). Returns a
    Result; raises DomainError (nothing made) on bad input."""
    key = checkout.check_key(key)
    today = today or models.utcnow().date()
    plan = find_plan(plan.public_id)
    if plan is None:
        raise DomainError(_("That plan is no longer offered."), "plan")
    repeat = repeat_of(key, contact)
    if repeat is not None:
        return repeat
    new_customer = contact is None
    if new_customer:
        if not company.portal_login_enabled:
            raise DomainError(_(LOGIN_OFF), "email")
        if models.Contact.select().where(models.Contact.email == details["email"]).exists():
            # A racing submit of this form may have made the account since the key was
            # looked up: its purchase came in the same commit, so it is found now.
            return repeat_of(key, None) or _exists(details["email"], config, app)
    else:
        if not contact.may_sign_in:
            raise DomainError(_("This account is closed. Please contact us."))
        check_currency(contact.client, plan)
    price = Price(plan, subscriptions.check_quantity(plan, quantity), today)
    charge = price.due_now > 0
    if charge and token is None and new_method is None:
        raise DomainError(_("Choose how you would like to pay."), "method")
    if token is not None and (contact is None or token.client_id != contact.client_id
                              or token.deleted_at is not None):
        raise DomainError(_("That payment method is no longer available."), "method")
    try:
        with transaction():
            if new_customer:
                contact = _new_customer(details, password_hash, plan, client_public_id,
                                        gateway, customer_reference)
            subscription, attempt, pay_plan = _make(
                plan, price, company, key, contact, charge, token=token, gateway=gateway,
                new_method=new_method, save_method=save_method, staff=staff,
                staff_consent=staff_consent)
    except _Taken:
        raise DomainError(_(EXPIRED), "key") from None
    except IntegrityError:
        # A racing submit of this form (its key), or of another form with this address.
        repeat = repeat_of(key, None if new_customer else contact)
        if repeat is not None:
            return repeat
        if new_customer:
            return _exists(details["email"], config, app)
        raise DomainError(_(EXPIRED), "key") from None
    if new_customer:
        # After the commit: a confirmation link for a rolled-back contact must never leave.
        registration._email_confirmation(contact, config or {}, "contact.registered")
    result = Result("started", subscription, contact, new_customer=new_customer)
    if attempt is not None:
        try:
            result.outcome = checkout.charge_claimed(contact, attempt, pay_plan, key)
            result.status = result.outcome.status
        except checkout.PaymentFailed as exc:
            result.status, result.error = "declined", exc
    result.subscription = models.Subscription.get_by_id(subscription.id)
    return result


class _Taken(Exception):
    """The key belongs to a payment that is not this purchase's: start again."""


def _make(plan, price, company, key, contact, charge, *, token, gateway, new_method,
          save_method, staff, staff_consent):
    """Inside the purchase's transaction: the subscription, and when something is due now
    its first invoice and the claimed attempt (the reservation) that will pay it."""
    client = contact.client
    subscription = subscriptions.subscribe(client, plan, quantity=price.quantity,
                                           start=price.today, contact=contact, staff=staff)
    fields = {"purchase_key": key}
    if not charge:
        if token is not None:
            fields["payment_method"] = token.id
        elif new_method is not None and gateway.capabilities.token_billing:
            saved = payment_methods.store(client.id, gateway.config.id, new_method,
                                          contact=None if staff else contact, staff=staff,
                                          staff_consent=staff_consent)
            fields["payment_method"] = saved.id
    # Else the card that pays the first invoice becomes the subscription's (activate_paid),
    # so a declined one never stays on it to be charged again at renewal.
    attempt = pay_plan = None
    if charge:
        fields["status"] = "incomplete"
    S = models.Subscription
    S.update(**fields).where(S.id == subscription.id).execute()
    if charge:
        subscription = S.get_by_id(subscription.id)
        invoice = subscription_invoices.issue_period_invoice(
            subscription, subscription.current_period_start, subscription.current_period_end,
            setup_fee=True, date=price.today)
        invoice = models.Invoice.get_by_id(invoice.id)
        if invoice.balance > 0:
            pay_plan = allocation.plan(client.id, [(invoice.public_id, allocation.FULL)],
                                       company)
            attempt = checkout.claim(contact, pay_plan, company, key, token=token,
                                     gateway=gateway, new_method=new_method,
                                     save_method=save_method, staff=staff,
                                     staff_consent=staff_consent)
            if attempt is None:
                raise _Taken()
        else:  # the client's unapplied money already paid it (billing.applying)
            activate_paid([invoice.id])
    models.Activity.log("subscription.purchased", subscription, client=client.id,
                        contact=None if staff else contact, staff=staff,
                        detail=f"{plan.name} x {price.quantity}")
    return subscription, attempt, pay_plan


def _new_customer(details, password_hash, plan, client_public_id, gateway,
                  customer_reference):
    """A whole account, as registration makes one (its address still to be confirmed
    before a password login), billed in the plan's currency."""
    email = details["email"]
    name = (details["client_name"] or f"{details['first_name']} {details['last_name']}".strip()
            or email)[:200]
    extra = {"public_id": client_public_id} if client_public_id else {}
    client = models.Client.create(name=name, email=email, address=details["address"],
                                  vat_number=details["vat_number"], currency=plan.currency,
                                  **extra)
    contact = models.Contact.create(
        client=client, first_name=details["first_name"], last_name=details["last_name"],
        phone=details["phone"], email=email, is_primary=True, email_verified=False,
        password_hash=password_hash)
    if customer_reference and gateway is not None:
        # The gateway customer the card was captured for, made before the client existed.
        models.GatewayCustomer.create(client=client, gateway=gateway.config.id,
                                      reference=customer_reference)
    contact.client = client
    return contact


def repeat_of(key, contact):
    """The purchase this key already made, as a duplicate Result; None when there is none."""
    S = models.Subscription
    subscription = S.get_or_none(S.purchase_key == key)
    if subscription is None:
        return None
    if contact is not None and subscription.client_id != contact.client_id:
        raise DomainError(_(EXPIRED), "key")
    return Result("duplicate", subscription, subscription.contact,
                  new_customer=contact is None)


def _exists(email, config, app):
    """Nothing is made; the address's owner hears of it from the account worker, after this
    request answered, as for a registration (billing.registration._notify_owner)."""
    if app is not None:
        accounts.queue_account_work(app, notify_owner, email, config or {})
    return Result("exists")


def notify_owner(email, config):
    contact = models.Contact.get_or_none(models.Contact.email == email)
    if contact is not None:
        registration._notify_owner(contact, config)


def activate_paid(invoice_ids, token_id=None):
    """Called inside checkout.finalize's transaction (and a purchase's own): each incomplete
    subscription whose first invoice is now paid becomes active, once; a card saved with
    that payment becomes the subscription's payment method."""
    S, Invoice = models.Subscription, models.Invoice
    ids = [int(i) for i in invoice_ids if i]
    if not ids:
        return 0
    paid = Invoice.select(Invoice.subscription).where(
        Invoice.id.in_(ids) & (Invoice.status == "paid") & Invoice.subscription.is_null(False))
    activated = 0
    for subscription in S.select().where(S.status.in_(("incomplete", "active"))
                                         & S.id.in_(paid)):
        # The payment hook (renewals.settled) may have activated it a moment ago in this
        # transaction, without the card: the card is still the subscription's to keep.
        if token_id and subscription.payment_method_id is None:
            S.update(payment_method=token_id).where(
                (S.id == subscription.id) & S.payment_method.is_null()).execute()
        if S.update(status="active").where((S.id == subscription.id)
                                           & (S.status == "incomplete")).execute():
            models.Activity.log("subscription.activated", subscription,
                                client=subscription.client_id)
            activated += 1
    return activated


# As Stripe Billing does: a purchase whose first invoice is still unpaid after this long
# lapses, so an abandoned purchase neither waits forever nor keeps a debt on the account.
EXPIRE_AFTER = dt.timedelta(hours=23)


def expire_incomplete(now=None):
    """run-due: end each incomplete purchase older than EXPIRE_AFTER and cancel its unpaid
    first invoice, unless a payment for it is still in flight (3-D Secure, processing).
    The invoice is locked (cancel) before the subscription is claimed, in the order
    finalize takes them, so a payment arriving at the same moment wins or waits. Returns
    how many lapsed."""
    from billing import invoices, reservations
    now = now or models.utcnow()
    S, Invoice = models.Subscription, models.Invoice
    lapsed = 0
    for subscription in S.select().where((S.status == "incomplete")
                                         & (S.created_at <= now - EXPIRE_AFTER)):
        unpaid = list(Invoice.select().where((Invoice.subscription == subscription.id)
                                             & Invoice.status.in_(("sent", "partial"))))
        if reservations.held(subscription.client_id, [inv.id for inv in unpaid]):
            continue  # run-due's reconciliation settles that payment first
        try:
            with transaction():
                for invoice in unpaid:
                    invoices.cancel(invoice)
                if S.update(status="ended", ends_on=now.date()).where(
                        (S.id == subscription.id) & (S.status == "incomplete")).execute():
                    models.Activity.log("subscription.purchase_lapsed", subscription,
                                        client=subscription.client_id)
                    lapsed += 1
        except DomainError:
            continue  # paid meanwhile: finalize made it active
    return lapsed


def purchase_path(plan):
    return f"/client/subscriptions/{plan.public_id}/purchase"


def purchase_link(plan, base_url):
    """The address staff copy from the back office (PORTAL_BASE_URL, like e-mailed links)."""
    return f"{(base_url or '').rstrip('/')}{purchase_path(plan)}"
