"""Subscription renewals (issue 12 §3): run-due bills each period once and auto-bills the
saved method through billing.autobill; a charge given up holds the subscription past due or
suspended (the business's choice) until paid; trials convert on their end date; ending,
suspended and far-behind subscriptions are handled as a mature portal does."""
import datetime as dt
import os
import pathlib
import subprocess
import sys

import pytest
from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import models
import portal
from billing import (
    allocation,
    autobill,
    checkout,
    company_settings,
    invoices,
    payment_methods,
    renewals,
    scheduler,
    subscription_invoices,
    subscriptions,
)
from billing.schedule import add_months
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened, race, snapshot
from tests.factories import PLAN_FORM as GOOD
from tests.mail_support import mails
from tests.payments_support import demo_card, reload

START = dt.date(2026, 11, 2)  # subscribed; the first period runs to Dec 2
RENEWAL = dt.date(2026, 12, 2)


def at_noon(day, days_later=0):
    return dt.datetime.combine(day, dt.time(12)) + dt.timedelta(days=days_later)


def make_plan(**fields):
    return subscriptions.create_plan({**GOOD, "trial_days": "0", "setup_fee": "10.00",
                                      **fields}, "en_US")


def customer(currency="USD", email="ap@acme.example"):
    client = factories.client(name="Acme Buyer", currency=currency)
    primary = factories.contact(client, email=email, is_primary=True)
    return client, primary


def subscribed(client, plan=None, start=START, first_invoice=True, **kw):
    """A subscription whose purchase billed its first period (as the purchase page does)."""
    subscription = subscriptions.subscribe(client, plan or make_plan(), start=start, **kw)
    if first_invoice and not subscription.trial_ends_on:
        first = subscription_invoices.issue_period_invoice(
            subscription, subscription.current_period_start, subscription.current_period_end,
            setup_fee=True)
        invoices.mark_paid(first)
    return reload(subscription)


def tick(day, days_later=0, config=None):
    """The renewal and auto-bill jobs of one run-due, on `day` (+ days_later) at noon."""
    config = current_app.config if config is None else config
    now = at_noon(day, days_later)
    return renewals.renew_due(config, today=now.date()), autobill.charge_due(config, now=now)


def renewal_invoices(subscription):
    Inv = models.Invoice
    return list(Inv.select().where((Inv.subscription == subscription.id)
                                   & (Inv.date > subscription.started_at)).order_by(Inv.id))


def periods(invoice):
    return [li.description for li in invoice.ordered_lines()]


def activity(action):
    return [a.detail for a in models.Activity.select().where(models.Activity.action == action)]


# -- one invoice per period, charged to the saved method ----------------------------------

def test_renewal_issues_one_invoice_per_period_and_charges_the_saved_card(db, demo_gateway):
    client, primary = customer()
    demo_card(client, demo_gateway, last4="1111")
    subscription = subscribed(client, make_plan(price="29.00"), quantity=2)
    assert tick(RENEWAL, -1) == ({"reactivated": 0}, {})  # the day before: nothing
    renewed, charged = tick(RENEWAL)
    assert (renewed["renewed"], renewed["charging"], charged) == (1, 1, {"paid": 1})
    (invoice,) = renewal_invoices(subscription)
    assert periods(invoice) == ["2026-12-02 to 2027-01-02"]  # no set-up fee the second time
    assert (invoice.date, invoice.total, invoice.status, invoice.balance) == (
        RENEWAL, 5800, "paid", 0)
    payment = models.Payment.get(models.Payment.idempotency_key
                                 == f"autobill-{invoice.public_id}")
    assert (payment.amount, payment.contact_id, payment.method_label) == (
        5800, primary.id, "Visa •••• 1111")
    assert models.DemoCharge.select().count() == 1
    subscription = reload(subscription)
    assert (subscription.current_period_start, subscription.current_period_end,
            subscription.next_billing_date, subscription.status) == (
        RENEWAL, dt.date(2027, 1, 2), dt.date(2027, 1, 2), "active")
    # later ticks the same day, or before the next date, bill and charge nothing more
    for later in (0, 1, 30):
        assert tick(RENEWAL, later) == ({"reactivated": 0}, {})
    assert len(renewal_invoices(subscription)) == 1 == models.DemoCharge.select().count()
    assert invoice.number in " ".join(
        m.subject + m.body_text for m in models.EmailMessage.select().where(
            models.EmailMessage.to == "ap@acme.example"))
    assert activity("subscription.invoiced")[-1] == invoice.number


def test_the_subscriptions_own_method_is_charged_before_the_clients_default(db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway, last4="1111")  # the default
    chosen = demo_card(client, demo_gateway, last4="4444")
    subscription = subscribed(client, payment_method=chosen)
    assert tick(RENEWAL)[1] == {"paid": 1}
    assert models.Payment.get(models.Payment.method != "manual").method_label == \
        "Visa •••• 4444"
    # once that card is removed, the next period falls back to the default
    payment_methods.forget(chosen)
    assert tick(dt.date(2027, 1, 2))[1] == {"paid": 1}
    labels = [p.method_label for p in models.Payment.select().where(
        models.Payment.method != "manual").order_by(models.Payment.id)]
    assert labels == ["Visa •••• 4444", "Visa •••• 1111"]
    assert len(renewal_invoices(subscription)) == 2


def test_without_a_saved_method_the_invoice_is_emailed_and_left_owed(db, demo_gateway):
    client, _ = customer()
    subscription = subscribed(client)
    renewed, charged = tick(RENEWAL)
    assert (renewed["renewed"], renewed["owed"], charged) == (1, 1, {})
    (invoice,) = renewal_invoices(subscription)
    assert (invoice.status, invoice.balance) == ("sent", 2900)
    assert not models.AutoBill.select().exists()
    told = models.EmailMessage.get(models.EmailMessage.to == "ap@acme.example",
                                   models.EmailMessage.body_text.contains(invoice.number))
    assert "/client/invoice/" in told.body_text and "$29.00" in told.body_text
    assert reload(subscription).status == "active"  # owed, not a failed charge


def test_zero_decimal_currency_amounts(db, demo_gateway):
    client, _ = customer("JPY")
    demo_card(client, demo_gateway)
    plan = make_plan(name="Hosting JP", currency="JPY", price="5000", setup_fee="1500")
    subscription = subscribed(client, plan, quantity=3)
    assert tick(RENEWAL)[1] == {"paid": 1}
    (invoice,) = renewal_invoices(subscription)
    assert [(li.unit_cost, li.quantity, li.amount) for li in invoice.ordered_lines()] == [
        (5000, 3, 15000)]
    assert (invoice.currency, invoice.total) == ("JPY", 15000)
    charge = models.DemoCharge.get()
    assert (charge.amount, charge.currency) == (15000, "JPY")
    body = models.EmailMessage.get(models.EmailMessage.body_text.contains(invoice.number))
    assert "¥15,000" in body.body_text and "150.00" not in body.body_text


# -- trials, endings, suspension, catching up ---------------------------------------------

def test_a_trial_converts_on_its_end_date_and_not_before(db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway)
    subscription = subscribed(client, make_plan(trial_days="14"))
    ends = START + dt.timedelta(days=14)
    assert subscription.trial_ends_on == ends
    for day in range(14):
        assert tick(START, day) == ({"reactivated": 0}, {})
    assert reload(subscription).display_status(ends - dt.timedelta(days=1)) == "trial"
    renewed, charged = tick(ends)
    assert (renewed["renewed"], charged) == (1, {"paid": 1})
    (invoice,) = models.Invoice.select().where(models.Invoice.subscription == subscription.id)
    # the first paid period starts on the trial's end, and carries the set-up fee
    assert periods(invoice) == ["Pro", "2026-11-16 to 2026-12-16"]
    assert (invoice.total, invoice.status) == (3900, "paid")
    subscription = reload(subscription)
    assert (subscription.current_period_start, subscription.next_billing_date) == (
        ends, dt.date(2026, 12, 16))
    assert subscription.display_status(ends) == "active"


def test_cancelled_at_period_end_is_ended_not_renewed(db, demo_gateway):
    client, primary = customer()
    demo_card(client, demo_gateway)
    subscription = subscribed(client)
    subscriptions.cancel(subscription, reason="Other", reasons=["Other"], contact=primary)
    # renewals alone leave it (it is ending), and the whole tick ends it before renewing
    assert tick(RENEWAL) == ({"reactivated": 0}, {})
    assert subscriptions.end_due(today=RENEWAL) == 1
    assert tick(RENEWAL, 40) == ({"reactivated": 0}, {})
    assert reload(subscription).status == "cancelled"
    assert renewal_invoices(subscription) == []
    jobs = scheduler.JOBS
    assert jobs.index(scheduler.subscription_endings) < jobs.index(
        scheduler.subscription_renewals) < jobs.index(scheduler.auto_bill)


def test_a_suspended_subscription_is_not_renewed(db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway)
    subscribed(client)
    models.Subscription.update(status="suspended").execute()  # held by staff, nothing owed
    before = snapshot()
    assert tick(RENEWAL, 70) == ({"reactivated": 0}, {})
    assert snapshot() == before


def test_a_paused_subscription_is_not_renewed_and_resumes_on_its_shifted_date(db,
                                                                             demo_gateway):
    from billing import plan_changes
    client, _ = customer()
    demo_card(client, demo_gateway)
    subscription = subscribed(client)
    models.Plan.update(allow_pause=True).execute()
    paused_on = RENEWAL - dt.timedelta(days=10)
    plan_changes.pause(reload(subscription), today=paused_on)
    before = snapshot()
    tick(RENEWAL, 5)
    assert snapshot() == before and renewal_invoices(subscription) == []
    # Resumed 20 days later: the 10 paid days left are kept, so it renews 20 days late.
    plan_changes.resume(reload(subscription), today=paused_on + dt.timedelta(days=20))
    shifted = RENEWAL + dt.timedelta(days=20)
    assert reload(subscription).next_billing_date == shifted
    tick(shifted - dt.timedelta(days=1))
    assert renewal_invoices(subscription) == []
    tick(shifted)
    assert len(renewal_invoices(subscription)) == 1


def test_far_behind_bills_the_current_period_only(db, demo_gateway):
    """After long downtime (or months suspended) the period containing today is billed;
    the missed ones are skipped and logged, not billed in a flood."""
    client, _ = customer()
    demo_card(client, demo_gateway)
    subscription = subscribed(client, start=dt.date(2026, 1, 31))
    today = dt.date(2026, 11, 5)
    renewed, charged = tick(today)
    assert (renewed["renewed"], charged) == (1, {"paid": 1})
    (invoice,) = renewal_invoices(subscription)
    # the 31st anchor survives the short months it skipped over
    assert periods(invoice) == ["2026-10-31 to 2026-11-30"]
    assert reload(subscription).next_billing_date == dt.date(2026, 11, 30)
    assert activity("subscription.periods_skipped") == ["8 from 2026-02-28"]
    assert tick(today, 1) == ({"reactivated": 0}, {})
    assert tick(dt.date(2026, 11, 30))[0]["renewed"] == 1
    assert periods(renewal_invoices(subscription)[-1]) == ["2026-11-30 to 2026-12-31"]


# -- failed charges: retries, e-mails, past due or suspended, reactivation ----------------

def fail_three_times(client, demo_gateway):
    demo_card(client, demo_gateway, "chargedeclined", "0341")
    subscription = subscribed(client)
    outcomes = [tick(RENEWAL, day)[1] for day in range(autobill.MAX_ATTEMPTS)]
    assert outcomes == [{"retry": 1}, {"retry": 1}, {"failed": 1}]
    (invoice,) = renewal_invoices(subscription)
    return reload(subscription), invoice


def test_a_failed_renewal_is_retried_then_past_due_and_both_told(db, demo_gateway):
    client, _ = customer()
    subscription, invoice = fail_three_times(client, demo_gateway)
    assert subscription.status == "past_due"
    assert subscription.status_label() == "Past due"
    row = models.AutoBill.get(models.AutoBill.invoice == invoice.id)
    assert (row.status, row.attempts) == ("failed", autobill.MAX_ATTEMPTS)
    assert mails("did not go through") == ["ap@acme.example"] * 3
    assert mails("failed") == ["billing@test.example"] * 3
    E = models.EmailMessage
    final = E.select().where(E.to == "ap@acme.example").order_by(E.id.desc()).first()
    assert "will not try again" in final.body_text and "past due" in final.body_text
    staff = E.select().where(E.to == "billing@test.example").order_by(E.id.desc()).first()
    assert "past due until the invoice is paid" in staff.body_text
    assert activity("subscription.past_due") == [invoice.number]
    # past due keeps renewing: the next period is issued (and tried) as usual
    assert tick(dt.date(2027, 1, 2))[0]["renewed"] == 1
    assert reload(subscription).status == "past_due"


def test_suspended_after_the_last_failure_when_the_business_says_so(db, demo_gateway):
    company_settings.save_subscriptions(models.Company.current(), cancellation_reasons="Other",
                                        failed_renewal_status="suspended")
    client, primary = customer()
    subscription, invoice = fail_three_times(client, demo_gateway)
    assert subscription.status == "suspended" and not subscription.billing_continues
    final = models.EmailMessage.select().where(
        models.EmailMessage.to == "ap@acme.example").order_by(models.EmailMessage.id.desc()
                                                              ).first()
    assert "is suspended and will not renew until the invoice is paid" in final.body_text
    # no renewals while suspended, however long
    for day in (dt.date(2027, 1, 2), dt.date(2027, 2, 10)):
        assert tick(day)[0]["renewed"] == 0
    # the contact pays the invoice by hand with a new card: active again at once
    good = demo_card(client, demo_gateway, last4="4242")
    checkout.pay(primary, [(invoice.public_id, allocation.FULL)], models.Company.current(),
                 idempotency_key="paid-by-hand-0001", token=good)
    assert reload(subscription).status == "active"
    assert len(activity("subscription.reactivated")) == 1
    # and the next tick bills the current period only, charged to the new default
    payment_methods.make_default(good)
    renewed, charged = tick(dt.date(2027, 2, 10))
    assert (renewed["renewed"], charged) == (1, {"paid": 1})
    assert periods(renewal_invoices(subscription)[-1]) == ["2027-02-02 to 2027-03-02"]


def test_a_suspended_subscriber_may_still_cancel_and_it_ends_unbilled(db, demo_gateway):
    company_settings.save_subscriptions(models.Company.current(), cancellation_reasons="Other",
                                        failed_renewal_status="suspended")
    client, primary = customer()
    subscription, invoice = fail_three_times(client, demo_gateway)
    assert subscriptions.can_cancel(subscription)
    subscriptions.cancel(subscription, reason="Other", reasons=["Other"], contact=primary)
    assert subscriptions.end_due(today=dt.date(2027, 1, 2)) == 1
    assert tick(dt.date(2027, 1, 2))[0]["renewed"] == 0
    assert reload(subscription).status == "cancelled"
    assert renewal_invoices(subscription) == [invoice]  # still owed; nothing new billed


def test_marked_paid_by_staff_or_cancelled_reactivates(db, demo_gateway):
    client, _ = customer()
    subscription, invoice = fail_three_times(client, demo_gateway)
    invoices.mark_paid(invoice)  # the hook, in the payment's transaction
    assert reload(subscription).status == "active"
    # another failure, then staff cancel the invoice: the next tick's sweep reactivates
    models.Subscription.update(status="past_due").execute()
    second = subscription_invoices.issue_period_invoice(subscription, dt.date(2027, 1, 2),
                                                        dt.date(2027, 2, 2))
    models.AutoBill.create(invoice=second, status="failed", attempts=3)
    assert tick(RENEWAL, 5)[0]["reactivated"] == 0  # still owed
    invoices.cancel(second)
    assert tick(RENEWAL, 6)[0]["reactivated"] == 1
    assert reload(subscription).status == "active"


def test_a_retry_that_succeeds_leaves_it_active(db, demo_gateway):
    client, _ = customer()
    bad = demo_card(client, demo_gateway, "chargedeclined", "0341")
    subscription = subscribed(client)
    assert tick(RENEWAL)[1] == {"retry": 1}
    good = demo_card(client, demo_gateway)
    payment_methods.make_default(good)
    assert payment_methods.usable(client.id, bad.public_id)[0] is not None
    assert tick(RENEWAL, 1)[1] == {"paid": 1}
    assert reload(subscription).status == "active"
    assert mails("did not go through") == ["ap@acme.example"]


# -- several run-dues at once --------------------------------------------------------------

def test_overlapping_renewal_ticks_bill_and_charge_once(app, demo_gateway):
    with opened(app):
        client, _ = customer()
        demo_card(client, demo_gateway)
        subscription = subscribed(client)
    results = race(app, 4, lambda i: tick(RENEWAL))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(renewed["renewed"] for renewed, _ in results) == 1
    assert sum(charged.get("paid", 0) for _, charged in results) == 1
    with opened(app):
        assert len(renewal_invoices(subscription)) == 1
        assert models.Payment.select().where(
            models.Payment.method != "manual").count() == models.DemoCharge.select().count() == 1


def test_two_whole_run_due_ticks_at_once_renew_and_charge_once(app, demo_gateway):
    with opened(app):
        client, _ = customer()
        demo_card(client, demo_gateway)
        today = models.utcnow().date()  # the test company's zone is UTC
        subscription = subscribed(client, start=add_months(today, -1))
        assert subscription.next_billing_date == today
    results = race(app, 2, lambda i: scheduler.run_due(app))
    assert not [r for r in results if isinstance(r, Exception)], results
    for lines in results:
        assert not [line for line in lines if line.endswith(scheduler.FAILED)], lines
    assert sum("subscription renewals: 1 invoiced" in line
               for lines in results for line in lines) == 1
    with opened(app):
        (invoice,) = renewal_invoices(subscription)
        assert reload(invoice).status == "paid"
        assert models.DemoCharge.select().count() == 1


def test_run_due_command_reports_renewals(app, demo_gateway):
    with opened(app):
        client, _ = customer()
        demo_card(client, demo_gateway)
        today = models.utcnow().date()
        subscribed(client, start=add_months(today, -1))
    result = app.test_cli_runner().invoke(portal.cli, ["run-due"])
    assert result.exit_code == 0, result.output
    assert "subscription renewals: 1 invoiced (1 to charge, 0 without a saved method)" \
        in result.output
    assert "auto-bill: 1 paid" in result.output


# -- each period at most once, dates only forward, whatever the ticks ----------------------

@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frequency=st.sampled_from(["daily", "weekly", "monthly", "quarterly"]),
       trial=st.sampled_from([0, 3]),
       ticks=st.lists(st.integers(min_value=-5, max_value=200), min_size=1, max_size=8))
def test_any_ticks_bill_each_period_at_most_once(db, frequency, trial, ticks):
    client, _ = customer(email=f"buyer{next(factories._seq)}@acme.example")
    plan = make_plan(name=f"Plan {next(factories._seq)}", frequency=frequency,
                     trial_days=str(trial))
    subscription = subscribed(client, plan, first_invoice=False)
    dates = [subscription.next_billing_date]
    for offset in ticks:  # in any order: clocks of several machines need not agree
        renewals.renew_due({}, today=START + dt.timedelta(days=offset))
        dates.append(reload(subscription).next_billing_date)
    assert dates == sorted(dates)
    billed = []
    for invoice in models.Invoice.select().where(models.Invoice.subscription == subscription.id):
        (line,) = [li for li in invoice.ordered_lines() if li.product == plan.name]
        start, end = (dt.date.fromisoformat(part) for part in line.description.split(" to "))
        billed.append((start, end))
    billed.sort()
    assert len(billed) <= len(ticks)
    for (_, end), (start, _) in zip(billed, billed[1:], strict=False):
        assert end <= start  # periods never overlap: no day is billed twice
    if billed:
        assert reload(subscription).next_billing_date == billed[-1][1]
        assert billed[-1][0] <= START + dt.timedelta(days=max(ticks))


# -- the back-office setting ----------------------------------------------------------------

@pytest.fixture
def staff(app, client):
    with opened(app):
        factories.staff("boss@test.example")
    assert login_staff(client, "boss@test.example").status_code == 302
    return client


def save_setting(http, **data):
    token = csrf_token(http, "/admin/settings")
    return http.post("/admin/settings/subscriptions",
                     data={"csrf_token": token, "cancellation_reasons": "Other", **data})


def test_staff_choose_what_a_failed_renewal_does(app, staff):
    page = staff.get("/admin/settings").get_data(as_text=True)
    assert '<input type="radio" name="failed_renewal_status" value="past_due" checked>' in page
    assert "Suspend it: no renewals until the unpaid invoice is paid" in page
    response = save_setting(staff, failed_renewal_status="suspended")
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    with opened(app):
        assert models.Company.current().failed_renewal_status == "suspended"
        assert renewals.after_failure_status() == "suspended"
    page = staff.get("/admin/settings").get_data(as_text=True)
    assert 'value="suspended" checked' in page
    # a form without the field (an older page) leaves the setting as it is
    assert save_setting(staff).status_code in (302, 303)
    with opened(app):
        assert models.Company.current().failed_renewal_status == "suspended"


@pytest.mark.parametrize("bad", ["", "cancelled", "PAST_DUE"])
def test_an_unknown_choice_is_refused_and_nothing_changes(app, staff, bad):
    with opened(app):
        before = snapshot()
    response = save_setting(staff, failed_renewal_status=bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose what happens when a renewal cannot be charged." in html
    assert '<fieldset aria-invalid="true" aria-describedby="err-failed_renewal_status">' in html
    with opened(app):
        assert snapshot() == before


# -- what the client reads ----------------------------------------------------------------

@pytest.mark.parametrize("status, label, notice", [
    ("past_due", "Past due", "Please pay the unpaid invoice below."),
    ("suspended", "Suspended", "It renews again once the unpaid invoice below is paid."),
])
def test_the_subscriptions_tab_says_past_due_and_suspended(client, auth, world, app, status,
                                                           label, notice):
    with opened(app):
        subscription = subscribed(world["a"])
        models.Subscription.update(status=status).execute()
    auth.login("a1@alpha.example")
    listing = client.get("/client/subscriptions").get_data(as_text=True)
    assert f'<span class="status status-{status}">{label}</span>' in listing
    page = client.get(f"/client/subscriptions/{subscription.public_id}").get_data(as_text=True)
    assert f'status-{status}">{label}<' in page and notice in page


def test_stripe_renewal_through_localstripe(client, auth, world, app, localstripe,
                                            stripe_gateway, conn):
    from tests.payments_support import add_card, stripe_api
    auth.login("a1@alpha.example")
    add_card(client, localstripe, stripe_gateway)
    with opened(app):
        subscription = subscribed(world["a"])
        renewed, charged = tick(RENEWAL)
        assert (renewed["charging"], charged) == (1, {"paid": 1})
        (invoice,) = renewal_invoices(subscription)
        payment = models.Payment.get(models.Payment.idempotency_key
                                     == f"autobill-{invoice.public_id}")
        assert payment.status == "completed"
    intent = stripe_api(localstripe).v1.payment_intents.retrieve(payment.gateway_reference)
    assert (intent.status, intent.amount, intent.metadata["payment"]) == (
        "succeeded", 2900, payment.public_id)


def test_two_run_due_processes_at_once_renew_and_charge_once(app, demo_gateway, tmp_path):
    """Two `portal run-due` processes on one database, as cron on two machines: on
    PostgreSQL both run and the claim decides; on SQLite they take turns (single_run)."""
    with opened(app):
        client, _ = customer()
        demo_card(client, demo_gateway)
        subscription = subscribed(client, start=add_months(models.utcnow().date(), -1))
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
           "PORTAL_DATABASE_URL": app.config["DATABASE_URL"],
           "PORTAL_BASE_URL": "http://portal.test", "PORTAL_SECRET_KEY": "test-secret"}
    env.pop("PORTAL_ENV", None)
    portal_command = str(pathlib.Path(sys.executable).with_name("portal"))
    runs = [subprocess.Popen([portal_command, "run-due"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0 and "FAILED" not in out, (out, err)
    assert "".join(out for out, _ in outputs).count("subscription renewals: 1 invoiced") == 1
    with opened(app):
        (invoice,) = renewal_invoices(subscription)
        assert reload(invoice).status == "paid"
        assert models.DemoCharge.select().count() == 1
