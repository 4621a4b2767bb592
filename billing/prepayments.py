"""Pre-payments: money a client pays on account, once or on a schedule.

A pre-payment goes through checkout's one charging path (claim, charge, finalize) with a
plan that names no invoice, so finalize records it unapplied. A recurring one stores its
schedule in that plan, and finalize starts the PrepaymentSchedule once the first payment's
money has arrived, whoever sees it first (the browser, a webhook or run-due).

run-due charges each due period exactly once. The idempotency key of a period's attempt is
the schedule's id, the period's date and the attempt number: the key's unique Payment row is
the claim, so two overlapping runs (on one machine or several) charge a period once. The
schedule then moves on with a conditional UPDATE ... WHERE next_date = <that period>, like
billing.recurring._claim, so it moves once too.

After downtime a schedule catches up with one charge per missed period, oldest first (what
the contact agreed to pay is owed either way). A declined period stops the catch-up; it is
tried again on each of the next ticks, MAX_ATTEMPTS in all, then the schedule pauses, and
each failure is e-mailed to the contact and the business.
"""
import logging

import models
import money
from billing import DomainError, checkout, gateway_settings, schedule, transaction
from billing.allocation import Plan
from i18n import gettext as _

log = logging.getLogger("portal.prepayments")

MAX_CYCLES = 1000
MAX_NOTE = 500
# Ticks a declined period is tried before the schedule pauses (one attempt per tick).
MAX_ATTEMPTS = 3
NEEDS_CUSTOMER = ("Your bank asked you to confirm this payment, which cannot be done for a "
                  "scheduled payment. Please pay once on the Pre-Payment tab to confirm the "
                  "card, or use another card.")


def parse_amount(text, client, company, locale):
    """What the contact typed, in the client's currency: minor units at least the minimum.

    The business sets the minimum in its own currency; it applies to clients billed in that
    currency (a minimum in dollars says nothing about yen)."""
    currency = client.currency
    try:
        amount = money.parse(text or "", currency, locale)  # whole: see checkout_review
    except money.MoneyError as exc:
        raise DomainError(str(exc), "amount") from None
    if amount <= 0:
        raise DomainError(_("Enter an amount above zero."), "amount")
    minimum = company.minimum_prepayment or 0
    if currency == company.currency and amount < minimum:
        raise DomainError(_("The minimum pre-payment is %(amount)s.",
                            amount=money.format_money(minimum, currency, locale)), "amount")
    return amount


def parse_recurrence(enabled, frequency, cycles_text):
    """None for a one-off payment, else {"frequency", "remaining"}: the payments left after
    the first (-1: until stopped). cycles_text counts every payment, this one included;
    blank means until stopped."""
    if not enabled:
        return None
    if frequency not in schedule.FREQUENCIES:
        raise DomainError(_("Choose a frequency from the list."), "frequency")
    text = (cycles_text or "").strip()
    if not text:
        return {"frequency": frequency, "remaining": -1}
    if not text.isdigit() or not 2 <= int(text) <= MAX_CYCLES:
        raise DomainError(_("Number of payments must be a whole number from 2 to %(max)s (this "
                            "payment included), or blank to continue until you stop it.",
                            max=MAX_CYCLES), "cycles")
    return {"frequency": frequency, "remaining": int(text) - 1}


def check_note(note):
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise DomainError(_("Keep the note under %(count)s characters.", count=MAX_NOTE), "note")
    return note


def validate(contact, company, form, locale):
    """The one validator of the Pre-Payment form: (amount, note, recurrence) or DomainError.

    form: amount, note, recurring ("1" when ticked), frequency, cycles."""
    amount = parse_amount(form.get("amount"), contact.client, company, locale)
    note = check_note(form.get("note"))
    recurrence = parse_recurrence(form.get("recurring") == "1", form.get("frequency"),
                                  form.get("cycles"))
    return amount, note, recurrence


def check_can_recur(recurrence, token=None, gateway=None, save_method=False):
    """A schedule charges a saved method: an existing one, or the new one saved now."""
    if recurrence is None or token is not None:
        return
    if not (save_method and gateway is not None and gateway.capabilities.token_billing):
        raise DomainError(_("Recurring pre-payments need a saved payment method: choose a "
                            "saved card, or save the new card with this payment."), "recurring")


def prepay(contact, company, form, *, locale, idempotency_key, token=None, gateway=None,
           new_method=None, save_method=False, staff=None, staff_consent=False):
    """Take a pre-payment now; with recurrence, the schedule starts once the money arrives.

    Returns checkout.Outcome. Raises DomainError / checkout.PaymentFailed having recorded
    nothing (a declined attempt stays as a failed row, as with invoice payments)."""
    key, repeat = checkout.begin_attempt(contact, idempotency_key)
    if repeat:
        return repeat
    amount, note, recurrence = validate(contact, company, form, locale)
    check_can_recur(recurrence, token, gateway, save_method)
    plan = Plan(client_id=contact.client_id, currency=contact.client.currency, lines=[],
                credit=0, total=amount)
    extra = {"recurring": recurrence} if recurrence else {}
    return checkout.charge_plan(contact, plan, company, key, token=token, gateway=gateway,
                                new_method=new_method, save_method=save_method, staff=staff,
                                staff_consent=staff_consent, extra=extra,
                                fields={"is_prepayment": True, "notes": note})


def start_schedule(payment, recurrence, token_id):
    """Called by checkout.finalize, in its transaction, when a recurring first payment is in."""
    if not token_id:
        return None  # finalize had no saved method to charge later; prepay() prevents this
    start = payment.date
    record = models.PrepaymentSchedule.create(
        client=payment.client_id, contact=payment.contact_id, payment_method=token_id,
        amount=payment.amount, currency=payment.currency, frequency=recurrence["frequency"],
        remaining_cycles=recurrence["remaining"], start_date=start, note=payment.notes,
        next_date=schedule.next_date(start, recurrence["frequency"], start.day))
    models.Activity.log("prepayment.scheduled", record, client=payment.client_id,
                        contact=payment.contact_id,
                        detail=f"{record.amount} {record.currency} {record.frequency}")
    return record


def schedules_for(client_id):
    S = models.PrepaymentSchedule
    return list(S.for_client(client_id).where(S.status.in_(("active", "paused")))
                .order_by(S.created_at.desc(), S.id.desc()))


def get_schedule(client_id, public_id):
    S = models.PrepaymentSchedule
    return S.for_client(client_id).where(S.public_id == str(public_id)[:24]).first()


def stop(record, *, contact=None, staff=None):
    """No more charges. A charge already under way may still complete."""
    S = models.PrepaymentSchedule
    with transaction():
        changed = S.update(status="stopped", next_date=None).where(
            (S.id == record.id) & S.status.in_(("active", "paused"))).execute()
        if changed:
            models.Activity.log("prepayment.stopped", record, client=record.client_id,
                                contact=contact, staff=staff)
    return bool(changed)


# -- run-due -------------------------------------------------------------------------------

def period_key(record):
    return (f"prepay-{record.public_id}-{record.next_date.isoformat()}-"
            f"{record.failed_attempts + 1}")


def charge_due(today=None):
    """Charge every due period of every active schedule. Returns counts for run-due."""
    today = today or models.utcnow().date()
    S = models.PrepaymentSchedule
    due = [row.id for row in S.select(S.id).where((S.status == "active")
                                                  & (S.next_date <= today))]
    counts = {"charged": 0, "failed": 0, "waiting": 0}
    for schedule_id in due:
        try:
            for word in _run_schedule(schedule_id, today):
                counts[word] += 1
        except Exception:  # one schedule's bad data must not stop the others
            log.exception("pre-payment schedule %s not charged", schedule_id)
            counts["failed"] += 1
    return counts


def _run_schedule(schedule_id, today):
    """Charge this schedule's due periods in order (catching up after downtime: one charge
    per missed period), stopping at a failure (retried next tick) or a pending charge."""
    P = models.Payment
    while True:
        record = models.PrepaymentSchedule.get_by_id(schedule_id)
        if record.status != "active" or record.next_date is None or record.next_date > today:
            return
        key = period_key(record)
        payment = P.get_or_none(P.idempotency_key == key)
        if payment is None:
            try:
                payment = _charge_period(record, key)
            except DomainError as exc:  # no way left to charge: the contact must act
                if _record_failure(record, exc.message, final=True):
                    yield "failed"
                return
        if payment.status == "pending":
            yield "waiting"  # another run's charge, or the gateway still at work
            return
        if payment.status == "failed":
            if _record_failure(record, payment.failure_message):
                yield "failed"
            return
        if _advance(record):
            yield "charged"


def _charge_period(record, key):
    contact = record.contact
    if contact is None or not contact.may_sign_in:
        raise DomainError(_("The account that set up this pre-payment is closed."))
    token = record.payment_method
    if token is None or token.deleted_at is not None:
        raise DomainError(_("The saved payment method for this pre-payment was removed."))
    plan = Plan(client_id=record.client_id, currency=record.currency, lines=[], credit=0,
                total=record.amount)
    try:
        outcome = checkout.charge_plan(
            contact, plan, models.Company.current(), key, token=token, retake_failed=False,
            off_session=True, extra={"schedule": record.id},
            fields={"is_prepayment": True, "notes": record.note})
    except checkout.PaymentFailed:
        pass  # the failed row under this key says why; the caller reads it
    else:
        if outcome.status == "requires_action":
            # Nobody is there to confirm with the bank (a gateway that ignored off_session):
            # withdraw the charge now rather than hold the period for an hour.
            from billing import reconcile
            payment = models.Payment.get_by_id(outcome.payment.id)
            reconcile._withdraw(gateway_settings.get(token.gateway_id), payment,
                                payment.gateway_reference, NEEDS_CUSTOMER)
    return models.Payment.get(models.Payment.idempotency_key == key)


def _advance(record):
    """The period is paid: move to the next one, once (a conditional UPDATE)."""
    S = models.PrepaymentSchedule
    finished = record.remaining_cycles == 1
    remaining = record.remaining_cycles - 1 if record.remaining_cycles > 0 else -1
    following = schedule.next_date(record.next_date, record.frequency,
                                   (record.start_date or record.next_date).day)
    with transaction():
        return S.update(
            next_date=None if finished else following, remaining_cycles=remaining,
            status="completed" if finished else "active", failed_attempts=0, last_error="",
        ).where((S.id == record.id) & (S.next_date == record.next_date)
                & (S.failed_attempts == record.failed_attempts)
                & (S.status == "active")).execute() == 1


def _record_failure(record, message, final=False):
    """Count a failed attempt once, tell both sides, pause after MAX_ATTEMPTS."""
    from billing import notifications
    S = models.PrepaymentSchedule
    attempts = record.failed_attempts + 1
    paused = final or attempts >= MAX_ATTEMPTS
    with transaction():
        changed = S.update(
            failed_attempts=attempts, last_error=(message or "")[:500],
            status="paused" if paused else "active",
        ).where((S.id == record.id) & (S.next_date == record.next_date)
                & (S.failed_attempts == record.failed_attempts)
                & (S.status == "active")).execute()
        if changed:
            record = models.PrepaymentSchedule.get_by_id(record.id)
            notifications.prepayment_failed_emails(record, message, paused)
            models.Activity.log("prepayment.failed", record, client=record.client_id,
                                detail=(message or "")[:200])
    return changed == 1
