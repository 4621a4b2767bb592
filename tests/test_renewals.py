"""Subscription renewals (issue 12 §3): run-due bills each period once and auto-bills the
saved method through billing.autobill (the demo gateway and Stripe on localstripe); trials
convert on their end date; ending, suspended, paused and far-behind subscriptions are
handled as a mature portal does.

Siblings: tests/test_renewals_failed.py (a charge given up holds the subscription past due
or suspended, the business's choice, until paid) and tests/test_renewals_once.py (several
run-dues at once, and any ticks bill each period at most once). Shared helpers are
tests/renewals_support.py."""
import datetime as dt

import models
from billing import payment_methods, renewals, scheduler, subscriptions
from tests import factories
from tests.core_support import activities, opened, snapshot
from tests.payments_support import demo_card, reload
from tests.renewals_support import (
    RENEWAL,
    START,
    activity,
    customer,
    make_plan,
    periods,
    renewal_invoices,
    subscribed,
    tick,
)

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


# -- renew() and its period, rule by rule --------------------------------------------------

def test_a_period_ending_today_is_over(db):
    client, _ = customer()
    subscription = subscribed(client)  # next billing Dec 2, 2026, monthly
    cases = {dt.date(2026, 12, 2): (RENEWAL, dt.date(2027, 1, 2), 0),
             dt.date(2027, 1, 1): (RENEWAL, dt.date(2027, 1, 2), 0),
             dt.date(2027, 1, 2): (dt.date(2027, 1, 2), dt.date(2027, 2, 2), 1),
             dt.date(2027, 2, 2): (dt.date(2027, 2, 2), dt.date(2027, 3, 2), 2)}
    for today, period in cases.items():
        assert renewals.current_period(subscription, today) == period, today


def test_renew_moves_only_the_subscription_it_is_given(db, demo_gateway):
    client, _ = customer()
    plan = make_plan()
    first, second = subscribed(client, plan), subscribed(client, plan)
    later = subscribed(client, plan, start=dt.date(2026, 11, 20))
    before = snapshot()
    assert renewals.renew(later, RENEWAL) is None  # not due yet: nothing written
    assert snapshot() == before
    invoice, charged = renewals.renew(second, RENEWAL)
    assert (reload(invoice).subscription_id, charged) == (second.id, False)
    moved = {s.id: (s.current_period_start, s.next_billing_date)
             for s in models.Subscription.select()}
    assert moved == {first.id: (START, RENEWAL), second.id: (RENEWAL, dt.date(2027, 1, 2)),
                     later.id: (dt.date(2026, 11, 20), dt.date(2026, 12, 20))}
    assert renewals.renew(second, RENEWAL) is None  # that period is billed
    # one deleted after run-due listed it: nothing, while the others are still due
    before = snapshot()
    assert renewals.renew(models.Subscription(id=later.id + 100), RENEWAL) is None
    assert snapshot() == before


def test_one_tick_renews_due_subscriptions_in_the_order_they_were_made(db, demo_gateway):
    """So their invoices are numbered in that order, whatever order the database keeps
    them in: the first one's date changed and back after the others were made (PostgreSQL
    then stores it last)."""
    client, _ = customer()
    plan = make_plan()
    made = [subscribed(client, plan) for _ in range(3)]
    factories.moved(made[0], next_billing_date=RENEWAL + dt.timedelta(days=1))
    factories.moved(made[0], next_billing_date=RENEWAL)
    renewed, _charged = tick(RENEWAL)
    assert renewed["renewed"] == 3
    invoices = [renewal_invoices(subscription)[0] for subscription in made]
    assert [i.id for i in invoices] == sorted(i.id for i in invoices)
    assert [i.number for i in invoices] == sorted(i.number for i in invoices)


def test_skipped_periods_are_logged_on_the_subscription(db):
    client, _ = customer()
    subscription = subscribed(client)
    renewals.renew(subscription, dt.date(2027, 3, 5))
    assert activities("subscription.periods_skipped") == [
        (subscription.id, client.id, None, None, "3 from 2026-12-02")]
    assert models.Activity.get(models.Activity.action == "subscription.periods_skipped"
                               ).subject_type == "subscription"


def test_the_first_billed_period_carries_the_setup_fee_whatever_else_was_invoiced(db):
    client, _ = customer()
    factories.invoice(client)  # invoices of the client's that no subscription issued
    other = subscribed(client, make_plan())  # and another subscription's, with its fee
    trial = subscribed(client, make_plan(name="Trial", trial_days="14"))
    invoice, _ = renewals.renew(trial, trial.trial_ends_on)
    assert periods(invoice)[0] == "Trial"  # the set-up fee's line names the plan
    assert invoice.total == 2900 + 1000
    second, _ = renewals.renew(trial, dt.date(2026, 12, 16))
    assert second.total == 2900
    assert other.status == "active"


def test_one_minor_unit_owed_is_queued_for_charging(db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway)
    subscription = subscribed(client, make_plan(price="0.01", setup_fee="0.00"))
    invoice, queued = renewals.renew(subscription, RENEWAL)
    assert (invoice.balance, queued) == (1, True)
    assert models.AutoBill.select().where(models.AutoBill.invoice == invoice.id).exists()


def test_a_renewal_nobody_can_receive_is_logged_not_mailed(db, caplog):
    client, primary = customer()
    subscription = subscribed(client)
    models.Contact.update(is_active=False).execute()
    with caplog.at_level("INFO", logger="portal.renewals"):
        assert tick(RENEWAL)[0]["renewed"] == 1
    (invoice,) = renewal_invoices(subscription)
    assert [m for m in caplog.messages if m.startswith("renewal invoice")] == [
        f"renewal invoice {invoice.number} not e-mailed: "
        "This client has no contact with an e-mail address."]
    assert not models.EmailMessage.select().where(
        models.EmailMessage.subject.contains(invoice.number)).exists()
