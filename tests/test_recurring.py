import datetime as dt
import threading

import pytest

import models
from billing import DomainError, recurring, schedule
from tests import factories
from tests.conftest import hx
from tests.core_support import opened, snapshot

LINES = [{"product": "Retainer", "quantity": 1, "unit_cost": 50000, "tax_rate": "10"}]


def test_schedule_keeps_the_day_of_month_through_short_months():
    d = dt.date(2026, 1, 31)
    d = schedule.next_date(d, "monthly", 31)
    assert d == dt.date(2026, 2, 28)
    assert schedule.next_date(d, "monthly", 31) == dt.date(2026, 3, 31)
    assert schedule.next_date(dt.date(2026, 11, 30), "quarterly", 30) == dt.date(2027, 2, 28)
    assert schedule.next_date(dt.date(2026, 1, 1), "fortnightly") == dt.date(2026, 1, 15)


def test_generate_catches_up_one_invoice_per_period_and_stops_after_cycles(db):
    client = factories.client()
    r = recurring.create_recurring(client, LINES, frequency="monthly",
                                   start_date=dt.date(2026, 8, 15), remaining_cycles=3)
    made = recurring.generate_due({}, today=dt.date(2026, 11, 20))
    assert [i.date for i in made] == [dt.date(2026, 8, 15), dt.date(2026, 9, 15),
                                      dt.date(2026, 10, 15)]
    assert all(i.status == "sent" and i.total == 55000 and i.recurring_id == r.id for i in made)
    r = models.RecurringInvoice.get_by_id(r.id)
    assert r.status == "completed" and r.remaining_cycles == 0 and r.next_send_date is None
    assert recurring.generate_due({}, today=dt.date(2027, 6, 1)) == []
    assert models.Client.get_by_id(client.id).balance == 3 * 55000


def test_pause_resume_and_stop(db):
    """Paused issues nothing and keeps its place; resumed catches up from there; stopped
    issues nothing ever again and cannot be restarted."""
    client = factories.client()
    r = recurring.create_recurring(client, LINES, frequency="weekly",
                                   start_date=dt.date(2026, 10, 1))
    assert [i.date for i in recurring.generate_due({}, today=dt.date(2026, 10, 1))] == [
        dt.date(2026, 10, 1)]
    r = recurring.set_status(r, "paused")
    assert (r.status, r.next_send_date) == ("paused", dt.date(2026, 10, 8))
    assert recurring.generate_due({}, today=dt.date(2026, 10, 20)) == []
    assert recurring.generate(r, today=dt.date(2026, 10, 20)) is None
    assert models.Invoice.select().count() == 1
    r = recurring.set_status(r, "active")
    assert (r.status, r.next_send_date) == ("active", dt.date(2026, 10, 8))
    assert [i.date for i in recurring.generate_due({}, today=dt.date(2026, 10, 20))] == [
        dt.date(2026, 10, 8), dt.date(2026, 10, 15)]
    r = recurring.set_status(r, "completed")
    assert (r.status, r.next_send_date) == ("completed", None)
    assert recurring.generate_due({}, today=dt.date(2027, 1, 1)) == []
    before = snapshot()
    for status in ("active", "paused"):
        with pytest.raises(DomainError, match="has ended and cannot be restarted"):
            recurring.set_status(r, status)
    assert snapshot() == before
    assert models.Invoice.select().count() == 3


def test_resuming_a_schedule_without_a_next_date_starts_it_at_its_start_date(db):
    client = factories.client()
    r = recurring.create_recurring(client, LINES, frequency="monthly",
                                   start_date=dt.date(2026, 10, 5), status="paused")
    models.RecurringInvoice.update(next_send_date=None).where(
        models.RecurringInvoice.id == r.id).execute()  # never scheduled (e.g. imported)
    r = recurring.set_status(r, "active")
    assert r.next_send_date == dt.date(2026, 10, 5)
    assert [i.date for i in recurring.generate_due({}, today=dt.date(2026, 10, 5))] == [
        dt.date(2026, 10, 5)]


def test_overlapping_runs_issue_each_invoice_once(app):
    with opened(app):
        client = factories.client()
        recurring.create_recurring(client, LINES, frequency="weekly",
                                   start_date=dt.date(2026, 10, 1))
    results, errors = [], []

    def tick():
        with app.app_context():
            try:
                models.db.connect(reuse_if_open=True)
                results.extend(recurring.generate_due({}, today=dt.date(2026, 11, 1)))
            except Exception as exc:  # noqa: BLE001 - the assertion below reports it
                errors.append(exc)
            finally:
                models.db.close()

    threads = [threading.Thread(target=tick, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        assert not t.is_alive(), "a run never finished"
    assert errors == []
    with opened(app):
        dates = [i.date for i in models.Invoice.select().order_by(models.Invoice.date)]
    assert len(dates) == len(set(dates)) == 5  # Oct 1, 8, 15, 22, 29
    assert len(results) == 5


def test_tab_lists_schedules_and_the_invoices_each_produced(client, auth, world, app):
    with opened(app):
        r = recurring.create_recurring(world["a"], LINES, start_date=dt.date(2026, 10, 1))
        recurring.generate(r, dt.date(2026, 10, 2))
        draft = recurring.create_recurring(world["a"], LINES, start_date=dt.date(2026, 10, 1),
                                           status="draft")
        theirs = recurring.create_recurring(world["b"], LINES, start_date=dt.date(2026, 10, 1))
        produced = models.Invoice.get(models.Invoice.recurring == r)
    auth.login("a2@alpha.example")
    listing = hx(client, "/client/recurring_invoices").get_data(as_text=True)
    assert r.number in listing and draft.number not in listing
    assert theirs.number not in listing
    page = client.get(f"/client/recurring_invoices/{r.public_id}").get_data(as_text=True)
    assert produced.number in page and "Monthly" in page
    assert client.get(f"/client/recurring_invoices/{theirs.public_id}").status_code == 404
    assert client.get(f"/client/recurring_invoices/{draft.public_id}").status_code == 404


def test_empty_state(client, auth, world):
    auth.login("b1@beta.example")
    assert "no recurring invoices" in client.get("/client/recurring_invoices").get_data(
        as_text=True)
