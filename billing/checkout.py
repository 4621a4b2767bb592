"""Taking a payment through a gateway, exactly once.

Every attempt carries an idempotency key. The key is claimed by inserting a pending
Payment (a unique column: the database, SQLite or PostgreSQL, lets exactly one insert win);
the gateway is called outside any transaction, with the same key; then finalize() applies
the stored plan under a row lock, once, whoever gets there first: the browser's request or
the gateway's webhook.
"""
import dataclasses
import json

from peewee import IntegrityError

import gateways
import models
import money
from billing import (
    DomainError,
    allocation,
    gateway_settings,
    numbering,
    payment_methods,
    receipts,
    reservations,
    transaction,
)
from gateways.base import GatewayError
from i18n import gettext as _

DONE = ("completed", "refunded", "partially_refunded")


class PaymentFailed(DomainError):
    """Declined or the gateway failed: nothing was recorded. retryable: same key again
    (every failure says which: the gateway's error knows)."""

    def __init__(self, message, *, retryable):
        super().__init__(message)
        self.retryable = retryable


@dataclasses.dataclass
class Outcome:
    payment: models.Payment   # the gateway payment, or the credit payment if credit paid all
    status: str               # completed, requires_action, processing, duplicate
    client_secret: str = ""


def check_key(key):
    key = (key or "").strip()
    if not 16 <= len(key) <= 80 or not key.replace("-", "").replace("_", "").isalnum():
        raise DomainError(_("This payment form has expired. Please start again."), "key")
    return key


def begin_attempt(contact, idempotency_key):
    """The checks every attempt starts with: (key, None), or (key, Outcome) for a repeat."""
    if not contact.may_sign_in:
        # Archiving a client closes its account: nothing more is charged through it.
        raise DomainError(_("This account is closed. Please contact us to pay."))
    key = check_key(idempotency_key)
    existing = models.Payment.get_or_none(models.Payment.idempotency_key == key)
    if existing is not None and existing.client_id != contact.client_id:
        raise DomainError(_("This payment form has expired. Please start again."), "key")
    if existing is not None and existing.status != "failed":
        return key, Outcome(existing, "duplicate")
    return key, None


def pay(contact, items, company, *, idempotency_key, token=None, gateway=None,
        new_method=None, save_method=False, use_credit=False, staff=None,
        staff_consent=False):
    """Pay [(invoice public id, amount text or None)] for the contact's client.

    Pay with a saved method (token: GatewayToken) or a method the gateway just captured
    (gateway + new_method: SavedMethod; save_method keeps it). Raises DomainError /
    PaymentFailed and records nothing when refused. Staff saving a card for the contact
    must confirm the client's consent (staff_consent).
    """
    key, repeat = begin_attempt(contact, idempotency_key)
    if repeat:
        return repeat
    plan = allocation.plan(contact.client_id, items, company, use_credit=use_credit,
                           locale=money.locale_for(contact, company))
    if plan.charge == 0:
        return _credit_only(contact, plan, company, key, staff)
    return charge_plan(contact, plan, company, key, token=token, gateway=gateway,
                       new_method=new_method, save_method=save_method, staff=staff,
                       staff_consent=staff_consent)


def resolve_method(client_id, token=None, gateway=None, new_method=None):
    """(gateway, method) to charge: a saved token of this client, or a just-captured method."""
    if token is not None:
        # The caller's copy may predate a removal (another tab, staff): decide on the row.
        token = models.GatewayToken.get_or_none(models.GatewayToken.id == token.id)
        if token is None or token.client_id != client_id or token.deleted_at is not None:
            raise DomainError(_("That payment method is no longer available."), "method")
        gateway = gateway_settings.get(token.gateway_id)
        method = payment_methods.as_saved(token)
    else:
        method = new_method
    if gateway is None or method is None or not gateway.capabilities.online:
        raise DomainError(_("That payment method is no longer available."), "method")
    return gateway, method


def charge_plan(contact, plan, company, key, *, token=None, gateway=None, new_method=None,
                save_method=False, staff=None, staff_consent=False, extra=None, fields=None,
                retake_failed=True, off_session=False):
    """The one charging path: claim the key with a pending row that holds the plan, call
    the gateway outside any transaction, then finalize (or leave it pending for 3-D Secure,
    a processing gateway, a webhook or run-due).

    extra: more of the stored plan for finalize (a pre-payment's schedule, say); fields:
    more columns of the pending row. retake_failed=False: a failed attempt under this key
    stays failed (run-due's scheduled charges make a new key for each retry). off_session:
    nobody is there to pass 3-D Secure (run-due), so the gateway declines instead of asking.
    """
    attempt = claim(contact, plan, company, key, token=token, gateway=gateway,
                    new_method=new_method, save_method=save_method, staff=staff,
                    staff_consent=staff_consent, extra=extra, fields=fields,
                    retake_failed=retake_failed)
    if attempt is None:
        return Outcome(models.Payment.get(models.Payment.idempotency_key == key), "duplicate")
    return charge_claimed(contact, attempt, plan, key, off_session=off_session)


@dataclasses.dataclass
class Attempt:
    """A claimed attempt: its pending row (the reservation) and what it will charge."""
    payment: models.Payment
    gateway: object
    method: object


def claim(contact, plan, company, key, *, token=None, gateway=None, new_method=None,
          save_method=False, staff=None, staff_consent=False, extra=None, fields=None,
          retake_failed=True):
    """charge_plan's first half: an Attempt, or None when the key is already taken.

    Runs in its own transaction, or in the caller's: a subscription purchase claims inside
    the transaction that makes the invoice it pays, so both exist or neither does."""
    gateway, method = resolve_method(contact.client_id, token, gateway, new_method)
    data = json.loads(plan.to_json())
    data.update(extra or {})
    if save_method and new_method is not None and gateway.capabilities.token_billing:
        payment_methods.check_staff_consent(staff, staff_consent)
        data["save"] = dataclasses.asdict(new_method)
    if token is not None:
        data["token"] = token.id
    data["staff"] = staff.id if staff else None
    label = f"{(method.brand or 'Card').title()} •••• {method.last4}" if method.last4 \
        else gateway.label
    payment = _claim(contact, plan, company, key, gateway, label, json.dumps(data),
                     fields or {}, retake_failed)
    return Attempt(payment, gateway, method) if payment is not None else None


def charge_claimed(contact, attempt, plan, key, *, off_session=False):
    """charge_plan's second half: call the gateway (outside any transaction: the claim must
    be committed first, so a crash after the charge is found by run-due), then finalize."""
    payment, gateway = attempt.payment, attempt.gateway
    try:
        result = gateway.charge(attempt.method, plan.charge, plan.currency, idempotency_key=key,
                                metadata={"payment": payment.public_id,
                                          "client": contact.client.public_id},
                                **({"off_session": True} if off_session else {}))
    except GatewayError as exc:
        mark_failed(payment.id, exc.message)
        raise PaymentFailed(exc.message, retryable=exc.retryable) from exc
    models.Payment.update(gateway_reference=result.reference).where(
        models.Payment.id == payment.id).execute()
    if result.status == "succeeded":
        return Outcome(finalize(payment.id, result.reference), "completed")
    if result.status == "requires_action":
        return Outcome(payment, "requires_action", result.client_secret)
    return Outcome(payment, "processing")


def _claim(contact, plan, company, key, gateway, label, data, extra_fields=None,
           retake_failed=True):
    """Claim the key and reserve the plan's amounts in one transaction; None: a duplicate.

    The pending row is both the claim (its key is unique) and the reservation (its plan
    counts against the invoices while it is pending; see billing/reservations.py).
    """
    P = models.Payment
    fields = dict(amount=plan.charge, currency=plan.currency, gateway=gateway.config.id,
                  method=gateway.capabilities.methods[0], method_label=label[:100],
                  plan=data, status="pending", failure_message="", contact=contact,
                  date=models.utcnow().date(), created_at=models.utcnow(),
                  **(extra_fields or {}))
    with transaction():
        # Lock first: a racing claim on PostgreSQL waits here, then sees our pending row.
        invoices = reservations.lock_invoices(ln.invoice.id for ln in plan.lines)
        existing = P.get_or_none(P.idempotency_key == key)
        if existing is not None and existing.client_id != contact.client_id:
            raise DomainError(_("This payment form has expired. Please start again."), "key")
        if existing is not None and (existing.status != "failed" or not retake_failed):
            return None
        reservations.check_fits(plan, company, invoices)
        if existing is None:
            try:
                with models.db.atomic():
                    return P.create(client=contact.client_id, idempotency_key=key, **fields)
            except IntegrityError:
                return None  # the same form, submitted twice at once: the other one won
        # A retry of a failed attempt keeps its key, so the gateway too sees one request.
        # created_at restarts: run-due must give this attempt its own grace period.
        taken = P.update(**fields).where((P.id == existing.id) & (P.status == "failed")
                                         ).execute()
        return P.get_by_id(existing.id) if taken else None


def _credit_only(contact, plan, company, key, staff):
    with transaction():
        invoices = reservations.lock_invoices(ln.invoice.id for ln in plan.lines)
        # Credit must not pay what a card payment in flight already holds either.
        reservations.check_fits(plan, company, invoices)
        lines = [(invoices[ln.invoice.id], ln.amount) for ln in plan.lines]
        try:
            with models.db.atomic():
                payment, _spent = allocation.spend_credit(contact.client_id, plan.currency, key,
                                                     lines, plan.credit, contact, staff)
        except IntegrityError:
            payment = None
        receipt = receipts.queue([payment]) if payment is not None else []
    receipts.deliver(receipt)
    if payment is None:
        existing = models.Payment.get_or_none(models.Payment.idempotency_key == key)
        if existing:
            return Outcome(existing, "duplicate")
        raise DomainError(_("The credit is no longer available."), "use_credit")
    return Outcome(payment, "completed")


def finalize(payment_id, reference=None):
    """The money arrived: apply the plan once. Safe to call again and concurrently."""
    with transaction():
        payment = allocation.locked(models.Payment, payment_id)
        if payment.status not in ("pending", "failed"):
            return payment
        data = json.loads(payment.plan or '{"lines": []}')
        staff = models.StaffUser.get_or_none(models.StaffUser.id == data.get("staff"))
        if reference:
            payment.gateway_reference = reference
        payment.number = payment.number or numbering.next_number("payment")
        payment.status, payment.failure_message = "completed", ""
        payment.date = models.utcnow().date()
        credit_payment = None
        if payment.is_prepayment:
            payment.applied = 0  # money on account: staff apply it to invoices later
        else:
            credit_payment, _spent = allocation.apply_plan(payment, data,
                                                      contact=payment.contact_id, staff=staff)
        payment.save()
        token = None
        if data.get("save"):
            token = payment_methods.store(payment.client_id, payment.gateway_id, data["save"],
                                          contact=None if staff else payment.contact_id,
                                          staff=staff, staff_consent=True)  # asked before
        if data.get("recurring"):
            from billing import prepayments  # it builds on this module
            prepayments.start_schedule(payment, data["recurring"], token or data.get("token"))
        if data.get("lines"):
            from billing import subscription_purchase  # it builds on this module
            subscription_purchase.activate_paid([inv_id for inv_id, _ in data["lines"]],
                                                token.id if token else data.get("token"))
        models.Activity.log("payment.completed", payment, client=payment.client_id,
                            contact=payment.contact_id, staff=staff,
                            detail=f"{payment.amount} {payment.currency}")
        # Only the call that completed the payment gets here: one receipt per payment.
        receipt = receipts.queue([payment, credit_payment])
    receipts.deliver(receipt)
    return payment


def mark_failed(payment_id, message):
    """The attempt took no money: it leaves "pending", which releases its reservation."""
    P = models.Payment
    P.update(status="failed", failure_message=message[:500]).where(
        (P.id == payment_id) & (P.status == "pending")).execute()


def complete_action(contact, public_id):
    """After the browser finished 3-D Secure: ask the gateway how the charge ended."""
    payment = models.Payment.for_client(contact.client_id).where(
        models.Payment.public_id == str(public_id)[:24]).first()
    if payment is None or not payment.gateway_reference:
        raise DomainError(_("That payment could not be found."))
    if payment.status in DONE:
        return Outcome(payment, "duplicate")
    gateway = gateway_settings.get(payment.gateway_id)
    if gateway is None:
        raise DomainError(_("That payment method is no longer available."))
    try:
        result = gateway.retrieve_charge(payment.gateway_reference)
    except GatewayError as exc:
        if not exc.retryable:
            mark_failed(payment.id, exc.message)
        raise PaymentFailed(exc.message, retryable=exc.retryable) from exc
    if result.status == "succeeded":
        return Outcome(finalize(payment.id), "completed")
    return Outcome(payment, "processing")


def apply_refund(payment_id, refunded_total, staff=None):
    """The gateway says `refunded_total` of this payment went back: reopen what it paid.

    Absolute, not a delta, so a webhook delivered twice changes nothing the second time.
    """
    with transaction():
        payment = allocation.locked(models.Payment, payment_id)
        delta = min(refunded_total, payment.amount) - payment.refunded
        if delta <= 0 or payment.status not in DONE:
            return payment
        left = delta
        A = models.PaymentAllocation
        for alloc in payment.allocations.order_by(A.id.desc()):
            take = min(left, alloc.amount - alloc.refunded)
            if take <= 0:
                continue
            alloc.refunded += take
            alloc.save()
            left -= take
            if alloc.invoice_id:
                invoice = allocation.locked(models.Invoice, alloc.invoice_id)
                invoice.balance += take
                invoice.status = "sent" if invoice.balance >= invoice.total else "partial"
                invoice.save()
                models.Client.update(balance=models.Client.balance + take,
                                     paid_to_date=models.Client.paid_to_date - take).where(
                    models.Client.id == payment.client_id).execute()
            elif alloc.credit_id:
                credit = allocation.locked(models.Credit, alloc.credit_id)
                credit.balance = max(0, credit.balance - take)
                credit.status = "applied" if credit.balance == 0 else credit.status
                credit.save()
            if left == 0:
                break
        payment.refunded += delta
        payment.applied -= delta - left
        payment.status = "refunded" if payment.refunded >= payment.amount \
            else "partially_refunded"
        payment.save()
        models.Activity.log("payment.refunded", payment, client=payment.client_id,
                            staff=staff, detail=f"{delta} {payment.currency}")
    return payment


def refund(payment, amount_text, *, expected_refunded, locale, staff=None):
    """Staff give money back: at the gateway when it can refund, then in our records.

    expected_refunded is what the staff member saw; with it the refund is a total, not an
    increment, so a double submit refunds once. Two submits at the very same moment both
    reach the gateway, where the idempotency key makes Stripe refund once. amount_text is
    typed in `locale` (money.PLAIN for the API).
    """
    if payment.status not in DONE or payment.method == "credit":
        raise DomainError(_("Only a completed payment can be refunded."))
    try:
        amount = money.parse(amount_text, payment.currency, locale)
    except money.MoneyError as exc:
        raise DomainError(str(exc), "amount") from None
    if payment.refunded != expected_refunded:
        if amount > 0 and payment.refunded == expected_refunded + amount:
            return payment  # this very refund went through already (a second submit)
        raise DomainError(_("This payment changed since the page was opened. Reload and check."))
    if amount <= 0 or expected_refunded + amount > payment.amount:
        raise DomainError(_("Refund between zero and what is left of the payment."), "amount")
    gateway = gateways.for_config(payment.gateway) if payment.gateway_id else None
    if gateway is not None and gateway.capabilities.refunds and payment.gateway_reference:
        try:
            gateway.refund(payment.gateway_reference, amount,
                           idempotency_key=f"refund-{payment.public_id}-{expected_refunded}-"
                                           f"{amount}")
        except GatewayError as exc:
            raise PaymentFailed(exc.message, retryable=exc.retryable) from exc
    return apply_refund(payment.id, expected_refunded + amount, staff=staff)
