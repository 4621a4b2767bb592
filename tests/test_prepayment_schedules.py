"""billing/prepayments.py's schedule bookkeeping itself: stopping one, a failed period
counted once (and paused after the last try), a paid period moving on once, and finding a
client's schedule. run-due charging them end to end is in test_prepayments_recurring.py."""
import datetime as dt

import pytest

import models
from billing import prepayments
from tests import factories
from tests.core_support import snapshot

START = dt.date(2026, 1, 31)


def schedule(client=None, **fields):
    client = client or factories.client()
    contact = (models.Contact.get_or_none(models.Contact.email == f"payer{client.id}@x.example")
               or factories.contact(client, email=f"payer{client.id}@x.example"))
    values = {"client": client, "contact": contact, "amount": 5000, "currency": "USD",
              "frequency": "monthly", "next_date": START, "start_date": START,
              **fields}
    return models.PrepaymentSchedule.create(**values)


def fresh(record):
    s = models.PrepaymentSchedule.get_by_id(record.id)
    return (s.status, s.next_date, s.remaining_cycles, s.failed_attempts, s.last_error)


def logged(action):
    A = models.Activity
    return [(a.subject_type, a.subject_id, a.client_id, a.contact_id, a.staff_id, a.detail)
            for a in A.select().where(A.action == action).order_by(A.id)]


@pytest.mark.parametrize("status", ["active", "paused"])
def test_stopping_a_schedule_ends_its_charges_and_names_who_stopped_it(db, status):
    record, other = schedule(status=status), schedule()
    staff = factories.staff()
    assert prepayments.stop(record, staff=staff) is True
    assert fresh(record)[:2] == ("stopped", None)
    assert fresh(other)[:2] == ("active", START)  # only that one
    assert logged("prepayment.stopped") == [
        ("prepaymentschedule", record.id, record.client_id, None, staff.id, "")]


def test_a_contact_stopping_their_schedule_is_named(db):
    record = schedule()
    assert prepayments.stop(record, contact=record.contact) is True
    assert logged("prepayment.stopped") == [
        ("prepaymentschedule", record.id, record.client_id, record.contact_id, None, "")]


@pytest.mark.parametrize("status", ["stopped", "completed"])
def test_a_schedule_that_has_ended_is_not_stopped_again(db, status):
    record = schedule(status=status)
    before = snapshot()
    assert prepayments.stop(record) is False
    assert snapshot() == before


def test_a_failed_period_is_counted_once_and_both_sides_hear_of_it(db):
    factories.company(email="books@studio.example")
    record, other = schedule(), schedule()
    message = "Your card was declined. " + "x" * 600
    assert prepayments._record_failure(record, message) is True
    assert fresh(record) == ("active", START, -1, 1, message[:500])
    assert fresh(other) == ("active", START, -1, 0, "")
    assert logged("prepayment.failed") == [
        ("prepaymentschedule", record.id, record.client_id, None, None, message[:200])]
    mail = {m.to: m.body_text for m in models.EmailMessage.select()}
    assert sorted(mail) == ["books@studio.example", record.contact.email]
    assert "Your card was declined." in mail[record.contact.email]
    # The same attempt reported again (a second run-due) is not counted twice.
    before = snapshot()
    assert prepayments._record_failure(record, message) is False
    assert snapshot() == before


def test_the_last_try_pauses_the_schedule(db):
    factories.company()
    record = schedule(failed_attempts=prepayments.MAX_ATTEMPTS - 1)
    assert prepayments._record_failure(record, None) is True
    assert fresh(record) == ("paused", START, -1, prepayments.MAX_ATTEMPTS, "")
    assert logged("prepayment.failed")[0][-1] == ""
    final = schedule()
    assert prepayments._record_failure(final, "Card removed.", final=True) is True
    assert fresh(final)[:4] == ("paused", START, -1, 1)


@pytest.mark.parametrize("remaining, after", [(-1, -1), (3, 2), (5, 4)])
def test_a_paid_period_moves_to_the_next_keeping_the_first_day(db, remaining, after):
    record = schedule(remaining_cycles=remaining, failed_attempts=2, last_error="declined")
    assert prepayments._advance(record) is True
    # 31 January, then 28 February, then (from the first day) 31 March.
    assert fresh(record) == ("active", dt.date(2026, 2, 28), after, 0, "")
    assert prepayments._advance(models.PrepaymentSchedule.get_by_id(record.id)) is True
    assert fresh(record)[1] == dt.date(2026, 3, 31)


def test_a_schedule_without_a_first_day_keeps_the_next_dates_day(db):
    record = schedule(start_date=None, next_date=dt.date(2026, 2, 28))
    assert prepayments._advance(record) is True
    assert fresh(record)[1] == dt.date(2026, 3, 28)


def test_the_last_period_completes_the_schedule(db):
    record = schedule(remaining_cycles=1)
    assert prepayments._advance(record) is True
    assert fresh(record) == ("completed", None, 0, 0, "")


@pytest.mark.parametrize("step", ["a failure", "a payment"])
@pytest.mark.parametrize("changed", ["next_date", "failed_attempts", "status"])
def test_a_period_that_moved_on_is_counted_or_advanced_once(db, step, changed):
    factories.company()
    record = schedule()
    stale = models.PrepaymentSchedule.get_by_id(record.id)
    models.PrepaymentSchedule.update({changed: {
        "next_date": dt.date(2026, 2, 28), "failed_attempts": 1, "status": "paused"}[changed]}
    ).execute()
    before = snapshot()
    if step == "a failure":
        assert prepayments._record_failure(stale, "declined") is False
    else:
        assert prepayments._advance(stale) is False
    assert snapshot() == before


def test_a_schedule_is_found_only_by_its_client(db):
    record = schedule()
    assert prepayments.get_schedule(record.client_id, record.public_id).id == record.id
    assert prepayments.get_schedule(record.client_id, record.public_id + "x" * 20) is None
    assert prepayments.get_schedule(factories.client().id, record.public_id) is None


def test_each_try_at_a_period_has_its_own_key_that_never_changes(db):
    """The key is the charge's idempotency key: a run-due after an upgrade must find the
    attempt an older one started, so its form is fixed."""
    record = schedule(failed_attempts=0)
    assert prepayments.period_key(record) == f"prepay-{record.public_id}-2026-01-31-1"
    record.failed_attempts = 2
    assert prepayments.period_key(record) == f"prepay-{record.public_id}-2026-01-31-3"


def test_a_clients_schedules_are_the_live_ones_newest_first(db):
    client = factories.client()
    noon = dt.datetime(2026, 1, 31, 12, 0)
    newest = schedule(client, created_at=noon + dt.timedelta(hours=1))  # made first, dated last
    older = schedule(client, created_at=noon)
    same_time_later_row = schedule(client, created_at=noon, status="paused")
    for status in ("stopped", "completed"):
        schedule(client, created_at=noon + dt.timedelta(hours=2), status=status)
    schedule(created_at=noon + dt.timedelta(hours=3))  # another client's
    assert [r.id for r in prepayments.schedules_for(client.id)] == [
        newest.id, same_time_later_row.id, older.id]
