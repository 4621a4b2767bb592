"""Auto-bill: a recurring invoice (or a subscription's renewal) charged to a saved method.

recurring.generate() queues an AutoBill row with each invoice that auto-bill applies to (in
the transaction that issues it, so each invoice has one); renewals.renew() does the same for
each subscription period. charge_due(), a run-due job, then
charges it through checkout.pay(), outside any transaction, with the same claim and
reservation rules as a contact paying by hand. An attempt is claimed with a conditional
UPDATE on the row, so overlapping run-due runs (threads, processes, machines) make one
attempt each time, and a declined charge is tried again a bounded number of times.
"""
import collections
import datetime as dt
import logging

from flask import render_template

import i18n
import mail
import models
from billing import DomainError, allocation, checkout, payment_methods, transaction
from i18n import gettext as _

log = logging.getLogger("portal.autobill")

MODES = {
    "off": "Off",
    "always": "Always",
    "optin": "Opt-in: off until the client turns it on",
    "optout": "Opt-out: on until the client turns it off",
}
CHOOSABLE = ("optin", "optout")  # the modes where the contact decides
MAX_ATTEMPTS = 3
# Between attempts: a card declined now is usually declined a minute later too; a day
# gives the client time to fix it (and lets a gateway's idempotency window pass).
RETRY_AFTER = dt.timedelta(days=1)
# An attempt claimed this long ago and never finished: its run died. Another run picks it
# up with the same idempotency key, so a charge that did go through is found, not repeated.
STALE_AFTER = dt.timedelta(minutes=30)
# A claim takes a row waiting for its (next) attempt, or one whose run died while charging.
CLAIMABLE = ("due", "retry", "charging")


def check_mode(mode):
    if mode not in MODES:
        raise DomainError("Choose an auto-bill setting from the list.", "auto_bill_mode")
    return mode


def applies(recurring):
    """Whether the next invoice of this schedule is charged automatically."""
    mode, choice = recurring.auto_bill_mode, recurring.auto_bill_choice
    if mode == "always":
        return True
    if mode == "optin":
        return choice == "yes"
    if mode == "optout":
        return choice != "no"
    return False


def set_choice(recurring, wants, *, contact=None, staff=None):
    """The contact's answer for one schedule (the portal's Recurring tab)."""
    R = models.RecurringInvoice
    with transaction():
        recurring = R.get_by_id(recurring.id)
        if recurring.auto_bill_mode not in CHOOSABLE:
            raise DomainError(_("Automatic payment for this schedule is set by "
                                "the business."), "auto_bill")
        recurring.auto_bill_choice = "yes" if wants else "no"
        recurring.save()
        models.Activity.log("recurring.auto_bill_" + ("on" if wants else "off"), recurring,
                            client=recurring.client_id, contact=contact, staff=staff)
    return recurring


def payer(client):
    """Whose payment an automatic charge is: the primary contact, else the first one, who
    may still sign in (an archived client or deactivated contact is charged nothing)."""
    C = models.Contact
    for contact in client.contacts.order_by(C.is_primary.desc(), C.id):
        if contact.may_sign_in:
            return contact
    return None


def default_method(client_id):
    """The client's default saved method, if its gateway can still charge it."""
    T = models.GatewayToken
    token = T.for_client(client_id).where(T.is_default == True).first()  # noqa: E712
    if token is None:
        return None
    token, _gateway = payment_methods.usable(client_id, token.public_id)
    return token


def idempotency_key(invoice, attempt):
    # One key per attempt: a gateway (Stripe) answers a key it has seen with its first
    # answer for a day, so a retry under the same key would only replay the decline. The
    # AutoBill claim and the invoice's reservation keep attempts from ever overlapping.
    base = f"autobill-{invoice.public_id}"
    return base if attempt <= 1 else f"{base}-{attempt}"


def charge_due(config, now=None):
    """Charge every auto-bill that is due; returns counts by outcome."""
    now = now or models.utcnow()
    A = models.AutoBill
    counts = collections.Counter()
    for row in A.select().where(A.status == "processing"):
        counts[_follow_up(row, config, now)] += 1
    due = A.select(A.id).where(
        (A.status.in_(("due", "retry")) & _waited(now))
        | ((A.status == "charging") & (A.claimed_at < now - STALE_AFTER)))
    for (row_id,) in due.tuples():
        row = _claim(row_id, now)
        if row is not None:
            counts[_attempt(row, config, now)] += 1
    counts.pop(None, None)
    return counts


def charge_now(invoice, config, now=None):
    """Charge one invoice's auto-bill at once (a plan change's upgrade) through the same claim
    as charge_due, so a second request, or a run-due tick at that moment, finds it taken and
    charges nothing. Returns the outcome, or None when there is no row or it was taken."""
    now = now or models.utcnow()
    A = models.AutoBill
    row = A.get_or_none(A.invoice == invoice.id)
    row = _claim(row.id, now) if row is not None else None
    return _attempt(row, config, now) if row is not None else None


def _waited(now):
    A = models.AutoBill
    return A.next_attempt_at.is_null() | (A.next_attempt_at <= now)


def _claim(row_id, now):
    """Take one attempt for this run, or None when another run has it."""
    A = models.AutoBill
    row = A.get_or_none(A.id == row_id)
    if row is None or row.status not in CLAIMABLE:
        return None  # settled, given up, or waiting on the gateway: nothing to attempt
    if row.status == "charging":
        if row.claimed_at is None or row.claimed_at >= now - STALE_AFTER:
            return None  # another run is at it right now
        # A run that died mid-attempt: resume that same attempt (same key), not a new one.
        taken = A.update(claimed_at=now).where(
            (A.id == row.id) & (A.status == "charging") & (A.claimed_at == row.claimed_at)
        ).execute()
    else:
        taken = A.update(status="charging", attempts=A.attempts + 1, claimed_at=now).where(
            (A.id == row.id) & (A.status == row.status) & (A.attempts == row.attempts)
            & _waited(now)).execute()
    return A.get_by_id(row.id) if taken == 1 else None


def _attempt(row, config, now):
    invoice = models.Invoice.get_by_id(row.invoice_id)
    key = idempotency_key(invoice, row.attempts)
    if not invoice.is_payable:
        # Paid by this very attempt (a run that died before recording it), or some other way.
        ours = models.Payment.get_or_none(models.Payment.idempotency_key == key)
        if ours is not None and ours.status in checkout.DONE:
            return _finish(row, "charging", "paid", payment=ours.id)
        return _finish(row, "charging", "skipped")
    contact = payer(invoice.client)
    from billing import renewals  # it builds on this module
    token = renewals.method_for_invoice(invoice)
    if contact is None or token is None:
        # Nothing to charge: the invoice was sent as usual and waits to be paid.
        return _finish(row, "charging", "unpaid")
    company = models.Company.current()
    try:
        outcome = checkout.pay(contact, [(invoice.public_id, allocation.FULL)], company,
                               idempotency_key=key, token=token)
    except checkout.PaymentFailed as exc:
        return _failed(row, "charging", exc.message, now, config, declined=not exc.retryable)
    except DomainError as exc:  # e.g. the contact is paying it at this very moment
        return _failed(row, "charging", exc.message, now, config, declined=False)
    payment = outcome.payment
    if payment.status in checkout.DONE:
        return _finish(row, "charging", "paid", payment=payment.id)
    # Processing, or the bank wants the customer (3-D Secure): the pending payment holds
    # the balance; the reconciling job settles it and _follow_up reads how it ended.
    return _finish(row, "charging", "processing", payment=payment.id)


def _follow_up(row, config, now):
    payment = models.Payment.get_or_none(models.Payment.id == row.payment_id)
    if payment is not None and payment.status in checkout.DONE:
        return _finish(row, "processing", "paid")
    if payment is None or payment.status in ("failed", "cancelled"):
        message = payment.failure_message if payment is not None else ""
        return _failed(row, "processing", message or "The payment did not go through.", now,
                       config, declined=True)
    return None  # still pending at the gateway


def _finish(row, expected, status, **fields):
    A = models.AutoBill
    done = A.update(status=status, **fields).where(
        (A.id == row.id) & (A.status == expected) & (A.claimed_at == row.claimed_at)
    ).execute()
    return status if done else None


def _failed(row, expected, message, now, config, *, declined):
    """Count the failure; schedule the next attempt or give up; tell both sides."""
    A = models.AutoBill
    final = row.attempts >= MAX_ATTEMPTS
    status = "failed" if final else "retry"
    with transaction():
        done = A.update(status=status, last_error=message[:500],
                        next_attempt_at=now + RETRY_AFTER).where(
            (A.id == row.id) & (A.status == expected) & (A.claimed_at == row.claimed_at)
        ).execute()
        if not done:
            return None
        log.info("auto-bill of invoice %s failed (attempt %s): %s", row.invoice_id,
                 row.attempts, message)
        if final:  # a subscription's renewal left unpaid holds the subscription
            from billing import renewals
            renewals.charge_given_up(row.invoice_id)
        if declined or final:
            _tell_both(models.AutoBill.get_by_id(row.id), message, final, now, config)
    return status


def _tell_both(row, message, final, now, config):
    """The contact and the business each hear of a declined or abandoned charge."""
    invoice = row.invoice
    contact = payer(invoice.client)
    company = models.Company.current()
    context = {"invoice": invoice, "contact": contact, "company": company, "reason": message,
               "final": final, "retry_on": (now + RETRY_AFTER).date(),
               "base_url": config.get("BASE_URL", ""), "attempts": row.attempts,
               "max_attempts": MAX_ATTEMPTS,
               "subscription": invoice.subscription if invoice.subscription_id else None}
    if contact is not None and contact.email:
        with i18n.for_contact(contact, company):
            mail.queue(contact.email,
                       _("Automatic payment of invoice %(number)s did not go through",
                         number=invoice.number),
                       render_template("email/autobill_declined.txt", **context))
    if company is not None and company.email:
        mail.queue(company.email,
                   f"Auto-bill of invoice {invoice.number} for {invoice.client.name} failed",
                   render_template("email/autobill_declined_staff.txt", **context))
