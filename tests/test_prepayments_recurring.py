"""Recurring pre-payments (issue 11 parts 1-2): the first payment saves the card and
schedules the rest; run-due charges each period once (catching up, overlapping runs),
retries a failed charge three times then pauses and tells both sides, pauses a closed
account's schedule; the contact stops a schedule, and another client's is not found.

Siblings: tests/test_prepayments.py (the tab and one-off pre-payments) and
tests/test_prepayments_stripe.py (through Stripe on localstripe). Shared helpers and the
`enabled` fixture are tests/prepayments_support.py."""
import datetime as dt
import json
import logging

import models
from billing import prepayments, scheduler
from tests.conftest import csrf_token
from tests.core_support import race
from tests.payments_support import reload
from tests.prepayments_support import TAB, due, pay_new_card, prepayments_of

# -- recurring ------------------------------------------------------------------------------

def start_recurring(client, gateway, **fields):
    """A new card, saved for the schedule as the first payment is taken."""
    done = pay_new_card(client, gateway, amount="25", recurring="1", **fields)
    assert done.status_code == 303, done.get_data(as_text=True)
    return models.PrepaymentSchedule.get()


def test_recurring_prepayment_saves_the_card_and_schedules_the_rest(app, client, auth, world,
                                                                    enabled, demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly", cycles="3")
    today = models.utcnow().date()
    token = models.GatewayToken.get()
    assert (sched.amount, sched.frequency, sched.remaining_cycles, sched.status) == (
        2500, "monthly", 2, "active")
    assert sched.payment_method_id == token.id and sched.start_date == today
    assert sched.next_date > today and sched.contact_id == world["a1"].id
    html = client.get(TAB).get_data(as_text=True)
    assert "Monthly" in html and "$25.00" in html and f"/pre_payment/{sched.public_id}/stop" in html
    # run-due charges the two remaining periods, then the schedule is complete
    later = sched.next_date + dt.timedelta(days=70)
    assert due(app, later)["charged"] == 2
    assert [p.amount for p in prepayments_of(world["a"])] == [2500, 2500, 2500]
    assert (reload(sched).status, reload(sched).next_date) == ("completed", None)
    assert due(app, later + dt.timedelta(days=400))["charged"] == 0


def test_catch_up_after_three_missed_periods_charges_each_once(app, client, auth, world, enabled,
                                                               demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="weekly")
    first = sched.next_date
    # run-due was down for three periods: each is charged once, the schedule moves past them
    today = first + dt.timedelta(days=14)
    assert due(app, today) == {"charged": 3, "failed": 0, "waiting": 0}
    keys = sorted(p.idempotency_key for p in prepayments_of(world["a"])[1:])
    assert [k[-12:-2] for k in keys] == [
        (first + dt.timedelta(days=7 * n)).isoformat() for n in range(3)]
    assert reload(sched).next_date == first + dt.timedelta(days=21)
    assert due(app, today)["charged"] == 0  # a second run finds nothing due
    assert len(prepayments_of(world["a"])) == 4


def test_two_overlapping_run_due_charge_each_period_once(app, client, auth, world, enabled,
                                                         demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="daily")
    today = sched.next_date + dt.timedelta(days=2)  # three periods due
    results = race(app, 2, lambda i: due(app, today))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(prepayments_of(world["a"])) == 4  # the first payment and three periods
    assert models.DemoCharge.select().count() == 4
    assert reload(sched).next_date == today + dt.timedelta(days=1)


def test_failed_charge_is_retried_three_times_then_paused_and_both_sides_told(app,
        client, auth, world, enabled, demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly")
    # The card starts declining (a charge_declined test card in its place).
    models.GatewayToken.update(token="demo_chargedeclined_0000").execute()
    day = sched.next_date
    assert due(app, day)["failed"] == 1
    assert due(app, day)["failed"] == 1
    assert reload(sched).status == "active" and reload(sched).failed_attempts == 2
    assert due(app, day)["failed"] == 1
    sched = reload(sched)
    assert (sched.status, sched.failed_attempts, sched.next_date) == ("paused", 3, day)
    assert "declined" in sched.last_error
    assert due(app, day + dt.timedelta(days=90)) == {
        "charged": 0, "failed": 0, "waiting": 0}
    assert len(prepayments_of(world["a"])) == 4  # the first and three failed attempts
    assert [p.status for p in prepayments_of(world["a"])][1:] == ["failed"] * 3
    mails = list(models.EmailMessage.select().order_by(models.EmailMessage.id))
    failures = [m for m in mails if "failed" in m.subject.lower()]
    to_contact = [m for m in failures if m.to == "a1@alpha.example"]
    to_business = [m for m in failures if m.to == "billing@test.example"]
    assert len(to_contact) == 3 and len(to_business) == 3
    # The first payment's money arrived: its receipt (one per contact) is all else sent.
    receipts = [m for m in mails if m not in failures]
    assert receipts and {m.subject for m in receipts} == {receipts[0].subject}
    assert receipts[0].subject.startswith("Receipt")
    assert len({m.to for m in receipts}) == len(receipts)
    assert "paused" in to_contact[-1].body_text and "$25.00" in to_contact[-1].body_text
    html = client.get(TAB).get_data(as_text=True)
    assert "Paused" in html and "declined" in html


def test_a_recovered_card_is_charged_on_the_next_tick(app, client, auth, world, enabled,
                                                      demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly")
    good = models.GatewayToken.get().token
    models.GatewayToken.update(token="demo_chargedeclined_0000").execute()
    assert due(app, sched.next_date)["failed"] == 1
    models.GatewayToken.update(token=good).execute()
    assert due(app, sched.next_date)["charged"] == 1
    assert reload(sched).failed_attempts == 0 and reload(sched).next_date > sched.next_date


def test_stop_asks_then_stops_and_a_foreign_schedule_is_not_found(app, client, auth, world, enabled,
                                                                  demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly")
    url = f"{TAB}/{sched.public_id}/stop"
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Stop this recurring pre-payment?" in \
        confirm.get_data(as_text=True)
    assert reload(sched).status == "active"  # asking changes nothing
    done = client.post(url, data={"csrf_token": csrf_token(client, url)})
    assert done.status_code == 303
    assert (reload(sched).status, reload(sched).next_date) == ("stopped", None)
    assert due(app, sched.next_date)["charged"] == 0
    assert "You have no recurring pre-payments" in client.get(TAB).get_data(as_text=True)
    # another client's contact: 404 for the page and the POST, nothing changed
    models.PrepaymentSchedule.update(status="active").execute()
    client.post("/client/logout", data={"csrf_token": csrf_token(client, TAB)})
    auth.login("b1@beta.example")
    assert client.get(url).status_code == 404
    assert client.post(url, data={"csrf_token": csrf_token(client, TAB)}).status_code == 404
    assert client.get(f"{TAB}/nonsense/stop").status_code == 404
    assert reload(sched).status == "active"


def test_run_due_cli_reports_prepayments(app, client, auth, world, enabled, demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="daily")
    models.PrepaymentSchedule.update(next_date=models.utcnow().date()).execute()
    lines = scheduler.run_due(app)
    assert "recurring pre-payments: 1 charged, 0 failed, 0 still processing" in lines
    assert reload(sched).next_date > models.utcnow().date()


def test_a_closed_account_pauses_its_schedule_at_once(app, client, auth, world, enabled,
                                                      demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly")
    models.Contact.update(is_active=False).where(models.Contact.id == world["a1"].id).execute()
    assert due(app, sched.next_date)["failed"] == 1
    sched = reload(sched)
    assert (sched.status, sched.failed_attempts, sched.last_error) == (
        "paused", 1, "The account that set up this pre-payment is closed.")
    assert len(prepayments_of(world["a"])) == 1  # nothing charged


# -- a period's earlier attempt, and what each outcome counts as -------------------------

def _period_payment(sched, status):
    """A payment already under the period's key: a run that crashed after charging, or a
    charge the gateway has not settled yet."""
    first = prepayments_of(sched.client)[0]
    return models.Payment.create(
        client=sched.client_id, contact=sched.contact_id, date=sched.next_date,
        currency=first.currency, amount=sched.amount, status=status, is_prepayment=True,
        method=first.method, gateway=first.gateway_id,
        idempotency_key=prepayments.period_key(sched))


def test_a_period_still_pending_waits_and_is_neither_charged_nor_advanced(
        app, client, auth, world, enabled, demo_gateway, caplog):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly")
    _period_payment(sched, "pending")
    charges = models.DemoCharge.select().count()
    assert due(app, sched.next_date) == {"charged": 0, "failed": 0, "waiting": 1}
    assert (reload(sched).next_date, reload(sched).failed_attempts) == (sched.next_date, 0)
    assert models.DemoCharge.select().count() == charges
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_period_paid_before_a_crash_is_booked_even_if_the_account_closed_since(
        app, client, auth, world, enabled, demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly")
    _period_payment(sched, "completed")
    models.Contact.update(is_active=False).where(models.Contact.id == world["a1"].id).execute()
    charges = models.DemoCharge.select().count()
    assert due(app, sched.next_date) == {"charged": 1, "failed": 0, "waiting": 0}
    after = reload(sched)
    assert (after.status, after.failed_attempts) == ("active", 0)
    assert after.next_date > sched.next_date
    assert models.DemoCharge.select().count() == charges


def test_a_removed_card_pauses_the_schedule_saying_why_and_counts_one_failure(
        app, client, auth, world, enabled, demo_gateway, caplog):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly")
    models.GatewayToken.update(deleted_at=models.utcnow()).execute()
    assert due(app, sched.next_date) == {"charged": 0, "failed": 1, "waiting": 0}
    after = reload(sched)
    assert (after.status, after.failed_attempts, after.last_error) == (
        "paused", 1, "The saved payment method for this pre-payment was removed.")
    assert len(prepayments_of(world["a"])) == 1
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_declined_period_counts_as_failed_not_as_a_crash(app, client, auth, world, enabled,
                                                           demo_gateway, caplog):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly")
    models.GatewayToken.update(token="demo_chargedeclined_0000").execute()
    assert due(app, sched.next_date) == {"charged": 0, "failed": 1, "waiting": 0}
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_schedule_paused_after_run_due_listed_it_is_not_charged(app, client, auth, world,
                                                                  enabled, demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly")
    models.PrepaymentSchedule.update(status="paused").execute()
    # charge_due lists active schedules, then runs each: the run itself re-reads the status.
    with app.app_context():
        assert list(prepayments._run_schedule(sched.id, sched.next_date)) == []
    assert len(prepayments_of(world["a"])) == 1
    assert reload(sched).next_date == sched.next_date


def test_the_schedule_keeps_the_note_and_each_period_names_its_schedule(
        app, client, auth, world, enabled, demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly", note="Retainer, Q1")
    assert sched.note == "Retainer, Q1"
    assert due(app, sched.next_date)["charged"] == 1
    period = prepayments_of(world["a"])[-1]
    assert (period.notes, json.loads(period.plan)["schedule"]) == ("Retainer, Q1", sched.id)


def test_one_schedules_bad_data_is_logged_and_the_others_are_still_charged(
        app, client, auth, world, enabled, demo_gateway, caplog):
    auth.login("a1@alpha.example")
    good = start_recurring(client, demo_gateway, frequency="monthly")
    broken = [models.PrepaymentSchedule.create(
        client=good.client_id, contact=good.contact_id, payment_method=good.payment_method_id,
        amount=1500, currency="USD", frequency=frequency, next_date=good.next_date,
        start_date=good.next_date)  # a frequency no rule knows: its period cannot move on
        for frequency in ("hourly", "secondly")]
    with caplog.at_level(logging.ERROR, logger="portal.prepayments"):
        assert due(app, good.next_date) == {"charged": 1, "failed": 2, "waiting": 0}
    assert reload(good).next_date > good.next_date
    logged = [r for r in caplog.records if r.name == "portal.prepayments"]
    # Both broken schedules are due together; PostgreSQL may read them in either order.
    assert sorted(r.getMessage() for r in logged) == sorted(
        f"pre-payment schedule {record.id} not charged" for record in broken)
    assert all(r.exc_info is not None for r in logged)
