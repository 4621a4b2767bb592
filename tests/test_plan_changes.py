"""Changing plan or quantity (billing.plan_changes): proration, the invoice or credit it makes,
the one charge of a saved method, every refusal changing nothing."""
import datetime as dt

import pytest
from flask import current_app

import models
from billing import DomainError, plan_changes
from billing import subscriptions as service
from tests import factories
from tests.core_support import activities, race, refusal, snapshot
from tests.payments_support import demo_card
from tests.plan_changes_support import MID, NOON, START, change, fresh

# ---------------------------------------------------------------- proration

def test_proration_for_the_days_left(pworld):
    sub, pro = pworld["sub"], pworld["pro"]
    result = plan_changes.proration(sub, pro, 2, MID)
    assert (result.days_left, result.days_in_period) == (15, 30)
    assert (result.old_remainder, result.new_remainder, result.difference) == (500, 3000, 2500)
    assert result.outcome == "charge" and result.currency == "USD"
    down = plan_changes.proration(sub, pworld["basic"], 1, MID)
    assert down.difference == 0 and down.outcome == "none"
    assert plan_changes.proration(sub, pro, 1, START).difference == 2000  # the whole period
    assert plan_changes.proration(sub, pro, 1, dt.date(2026, 12, 1)).difference == 0
    assert plan_changes.proration(sub, pro, 1, dt.date(2027, 1, 1)).days_left == 0


def test_rounding_is_half_up_to_the_minor_unit():
    assert plan_changes.share(1, 1, 2) == 1 and plan_changes.share(-1, 1, 2) == -1
    assert plan_changes.share(100, 1, 3) == 33 and plan_changes.share(200, 1, 3) == 67
    assert plan_changes.share(100, 0, 30) == 0 and plan_changes.share(100, 5, 0) == 0


def test_nothing_is_prorated_during_a_trial(pworld):
    trial = service.subscribe(pworld["b"], factories.plan("Trial", 1000, trial_days=14),
                              start=START)
    result = plan_changes.proration(trial, pworld["pro"], 1, START + dt.timedelta(days=3))
    assert (result.days_left, result.days_in_period, result.difference) == (0, 14, 0)


@pytest.mark.parametrize("start, end", [(None, dt.date(2026, 12, 1)), (START, None),
                                        (START, START), (MID, START)])
def test_a_period_missing_or_empty_leaves_no_days(pworld, start, end):
    sub = fresh(pworld["sub"])
    sub.current_period_start, sub.current_period_end = start, end
    assert plan_changes.days_left(sub, MID) == (0, 0)


# ---------------------------------------------------------------- what may be chosen

def test_the_options_are_current_plans_of_the_group_in_its_currency_and_rhythm(pworld):
    assert plan_changes.options(fresh(pworld["sub"])) == [pworld["basic"], pworld["pro"]]
    # cheapest first, then by name
    dearest, same_price = factories.plan("Alpha", 5000), factories.plan("Mid", 3000)
    assert plan_changes.options(fresh(pworld["sub"])) == [
        pworld["basic"], same_price, pworld["pro"], dearest]
    alone = service.subscribe(pworld["b"], pworld["ungrouped"], start=START)
    assert plan_changes.options(fresh(alone)) == [pworld["ungrouped"]]


def test_a_choice_reads_as_the_form_sent_it(pworld):
    pro = pworld["pro"]
    assert plan_changes.read_choice(pro.public_id, " 3 ") == (pro, 3)
    assert plan_changes.read_choice("", "") == (None, "")
    assert plan_changes.read_choice(None, None) == (None, "")
    assert plan_changes.read_choice(pro.public_id, "2.5") == (pro, "2.5")
    assert plan_changes.read_choice(pro.public_id, "٣") == (pro, "٣")  # digits, not ASCII
    # what a person types is read to its first 12 characters
    assert plan_changes.read_choice(pro.public_id, "1234567890123") == (pro, 123456789012)


@pytest.mark.parametrize("text, difference", [
    ("2500", 2500), ("-1000", -1000), (" 0 ", 0), ("1" * 25, int("1" * 20)),
    ("", plan_changes.UNREADABLE), (None, plan_changes.UNREADABLE),
    ("X5", plan_changes.UNREADABLE), ("--5", plan_changes.UNREADABLE),
    ("5-", plan_changes.UNREADABLE), ("2,500", plan_changes.UNREADABLE),
    ("٢٥", plan_changes.UNREADABLE),
])
def test_the_confirmed_difference_is_read_strictly(text, difference):
    assert plan_changes.confirmed_difference(text) == difference


# ---------------------------------------------------------------- upgrade, downgrade

def test_upgrade_without_a_saved_method_leaves_an_invoice_to_pay(pworld):
    sub = pworld["sub"]
    done = change(sub, pworld["pro"], 1, expected=1000, contact=pworld["a1"])
    after = fresh(sub)
    assert (after.plan_id, after.quantity, after.unit_price) == (pworld["pro"].id, 1, 3000)
    assert after.current_period_end == sub.current_period_end  # the period runs on
    invoice = done.invoice
    assert (invoice.status, invoice.total, invoice.balance) == ("sent", 1000, 1000)
    assert invoice.subscription_id == sub.id and invoice.date == MID and invoice.due_date == MID
    (line,) = invoice.lines
    assert line.product == "Plan change: Pro" and "15 of 30 days left" in line.description
    assert done.credit is None and done.charge is None
    assert models.AutoBill.select().count() == 0 and models.Payment.select().count() == 0
    (logged,) = models.Activity.select().where(
        models.Activity.action == "subscription.plan_changed")
    assert logged.contact_id == pworld["a1"].id and invoice.number in logged.detail
    assert "Basic x 1 to Pro x 1" in logged.detail


def test_the_change_is_written_in_the_clients_language(pworld):
    models.Client.update(locale="de_DE").where(models.Client.id == pworld["a"].id).execute()
    up = change(pworld["sub"], pworld["pro"], 1, expected=1000).invoice
    (line,) = up.lines
    assert (line.product, line.description) == (
        "Tarifwechsel: Pro",
        "Basic × 1 zu Pro × 1, noch 15 von 30 Tagen: 2026-11-16 bis 2026-12-01")
    down = change(pworld["sub"], pworld["basic"], 1, expected=-1000).credit
    (line,) = down.lines
    assert (line.product, line.description) == (
        "Tarifwechsel: Basic",
        "Pro × 1 zu Basic × 1, noch 15 von 30 Tagen: 2026-11-16 bis 2026-12-01")


def test_without_a_language_of_its_own_the_client_reads_the_companys(pworld):
    models.Company.update(locale="fr_FR").execute()
    (line,) = change(pworld["sub"], pworld["pro"], 1, expected=1000).invoice.lines
    assert line.product == "Changement de formule : Pro"


def test_a_change_overtaken_by_another_is_refused_and_touches_nothing(pworld):
    sub = pworld["sub"]
    beside = service.subscribe(pworld["b"], pworld["basic"], start=START)
    seen = fresh(sub)  # the confirmation page was opened
    change(sub, pworld["basic"], 2, expected=500)  # another tab changed the quantity
    before = snapshot()
    refused = refusal(lambda: plan_changes.change(
        seen, pworld["pro"], 1, expected_difference=1000, config=current_app.config,
        today=MID, now=NOON))
    assert (refused.message, refused.field) == (
        "This subscription was changed meanwhile. Check it and try again.", "confirmation")
    assert snapshot() == before
    assert (fresh(beside).plan_id, fresh(beside).quantity) == (pworld["basic"].id, 1)


def test_one_minor_unit_more_is_invoiced(pworld):
    plus = factories.plan("Plus", 1002)
    done = change(pworld["sub"], plus, 1, expected=1)
    assert (done.invoice.total, done.credit) == (1, None)


def test_the_change_is_invoiced_in_the_plans_currency(pworld):
    models.Client.update(currency="EUR").where(models.Client.id == pworld["a"].id).execute()
    done = change(pworld["sub"], pworld["pro"], 1, expected=1000)
    assert models.Invoice.get_by_id(done.invoice.id).currency == "USD"


def test_upgrade_charges_the_default_saved_method_once(pworld, demo_gateway):
    demo_card(pworld["a"], demo_gateway)
    done = change(pworld["sub"], pworld["pro"], 3, expected=4000)
    assert done.charge == "paid"
    invoice = done.invoice
    assert (invoice.status, invoice.balance) == ("paid", 0)
    payment = models.Payment.get()
    assert (payment.amount, payment.status) == (4000, "completed")
    assert payment.idempotency_key == f"autobill-{invoice.public_id}"
    assert models.DemoCharge.select().count() == 1
    assert (models.AutoBill.get().status, models.AutoBill.get().claimed_at) == ("paid", NOON)


def test_a_declined_card_leaves_the_invoice_owed_and_retried_later(pworld, demo_gateway):
    demo_card(pworld["a"], demo_gateway, outcome="chargedeclined")
    done = change(pworld["sub"], pworld["pro"], 1, expected=1000)
    assert done.charge in ("retry", "failed")
    assert done.invoice.status == "sent" and done.invoice.balance == 1000
    assert fresh(pworld["sub"]).plan_id == pworld["pro"].id


def test_downgrade_credits_the_unused_difference(pworld):
    sub = pworld["sub"]
    change(sub, pworld["pro"], 2, expected=2500)
    invoices_before = models.Invoice.select().count()
    done = change(sub, pworld["basic"], 1, expected=-2500, today=MID, staff=None)
    credit = done.credit
    assert done.invoice is None and models.Invoice.select().count() == invoices_before
    assert (credit.status, credit.total, credit.balance, credit.reason) == (
        "sent", 2500, 2500, "adjustment")
    assert credit.client_id == pworld["a"].id and credit.currency == "USD"
    after = fresh(sub)
    assert (after.plan_id, after.quantity, after.unit_price) == (pworld["basic"].id, 1, 1000)


def test_a_downgrade_by_staff_credits_on_the_day_in_the_plans_currency_naming_them(pworld):
    sub = pworld["sub"]
    change(sub, pworld["pro"], 2, expected=2500)
    models.Client.update(currency="EUR").where(models.Client.id == pworld["a"].id).execute()
    staff = factories.staff()
    credit = change(sub, pworld["basic"], 1, expected=-2500, staff=staff,
                    by_business=True).credit
    credit = models.Credit.get_by_id(credit.id)
    assert (credit.date, credit.currency, credit.total) == (MID, "USD", 2500)
    assert activities("credit.created") == [
        (credit.id, pworld["a"].id, None, staff.id, "2500 USD adjustment")]


def test_each_change_is_logged_on_the_subscription_with_what_it_made(pworld):
    sub, staff = pworld["sub"], factories.staff()
    up = change(sub, pworld["pro"], 1, expected=1000, contact=pworld["a1"]).invoice
    trial = service.subscribe(pworld["b"], factories.plan("Trial", 1000, trial_days=14),
                              start=START)
    change(trial, pworld["pro"], 1, expected=0, today=START, staff=staff)
    assert activities("subscription.plan_changed") == [
        (sub.id, pworld["a"].id, pworld["a1"].id, None,
         f"Basic x 1 to Pro x 1 ({up.number})"),
        (trial.id, pworld["b"].id, None, staff.id, "Trial x 1 to Pro x 1")]
    assert {a.subject_type for a in models.Activity.select().where(
        models.Activity.action == "subscription.plan_changed")} == {"subscription"}


def test_a_quantity_change_on_the_same_plan(pworld):
    done = change(pworld["sub"], pworld["basic"], 4, expected=1500)
    assert done.invoice.total == 1500 and fresh(pworld["sub"]).quantity == 4


def test_a_change_during_a_trial_bills_nothing(pworld):
    trial = service.subscribe(pworld["b"], factories.plan("Trial", 1000, trial_days=14),
                              start=START)
    done = change(trial, pworld["pro"], 1, expected=0, today=START + dt.timedelta(days=2))
    assert done.invoice is None and done.credit is None
    assert fresh(trial).plan_id == pworld["pro"].id


# ---------------------------------------------------------------- refusals

def refused(sub, new_plan, quantity, message, expected=None, **kw):
    before = snapshot()
    with pytest.raises(DomainError) as exc:
        change(sub, new_plan, quantity, expected=expected, **kw)
    assert message in exc.value.message
    assert snapshot() == before
    return exc.value


SAME_GROUP = "You can only switch to another plan of the same group."


@pytest.mark.parametrize("target, quantity, message, field", [
    ("other", 1, SAME_GROUP, "plan"),
    ("ungrouped", 1, SAME_GROUP, "plan"),
    ("old", 1, "That plan is no longer offered.", "plan"),
    ("euro", 1, "That plan is priced in EUR, this subscription in USD.", "plan"),
    ("yearly", 1, "That plan is billed at a different frequency. Please contact us to switch "
     "to it.", "plan"),
    ("pro", 0, "The quantity must be at least 1.", "quantity"),
    ("pro", 11, "The quantity can be at most 10.", "quantity"),
    ("pro", "2", "The quantity must be a whole number.", "quantity"),
    ("basic", 1, "Choose a different plan or quantity.", "plan"),
    (None, 1, "Choose a plan from the list.", "plan"),
])
def test_each_bad_choice_is_refused_and_changes_nothing(pworld, target, quantity, message,
                                                        field):
    error = refused(pworld["sub"], pworld[target] if target else None, quantity, message)
    assert (error.message, error.field) == (message, field)


def test_a_stale_confirmation_is_refused(pworld):
    refused(pworld["sub"], pworld["pro"], 1, "has changed since it was shown", expected=999)
    refused(pworld["sub"], pworld["pro"], 1, "has changed since it was shown", expected=0)


def test_a_plan_that_does_not_allow_changes(pworld):
    locked = service.subscribe(pworld["b"], pworld["locked"], start=START)
    error = refused(locked, pworld["basic"], 1, "cannot be changed from the portal")
    assert (error.message, error.field) == (
        "This subscription's plan cannot be changed from the portal. Please contact us to "
        "change it.", "subscription")
    # The business may: but the group rule still holds.
    refused(locked, pworld["basic"], 1, "same group", by_business=True)
    done = change(locked, pworld["locked"], 2, expected=500, by_business=True)
    assert fresh(locked).quantity == 2 and done.invoice.total == 500


NOT_LIVE = "Only an active subscription can be changed."
CANCELLING = ("This subscription is cancelled at the end of the period. Undo the cancellation "
              "first to change it.")


@pytest.mark.parametrize("state, message", [
    ({"status": "cancelled"}, NOT_LIVE), ({"status": "ended"}, NOT_LIVE),
    ({"status": "paused"}, NOT_LIVE), ({"cancel_at_period_end": True}, CANCELLING)])
def test_a_subscription_that_is_not_live_cannot_change(pworld, state, message):
    models.Subscription.update(**state).where(
        models.Subscription.id == pworld["sub"].id).execute()
    error = refused(pworld["sub"], pworld["pro"], 1, message, expected=1000)
    assert (error.message, error.field) == (message, "subscription")


def test_two_confirmations_at_once_change_and_charge_once(app, pworld, demo_gateway):
    demo_card(pworld["a"], demo_gateway)
    sub_id, pro_id = pworld["sub"].id, pworld["pro"].id
    models.db.close()

    def confirm(_):
        sub = models.Subscription.get_by_id(sub_id)
        return plan_changes.change(sub, models.Plan.get_by_id(pro_id), 1,
                                   expected_difference=1000, config=app.config, today=MID,
                                   now=NOON)

    results = race(app, 2, confirm)
    models.db.connect(reuse_if_open=True)
    done = [r for r in results if isinstance(r, plan_changes.Change)]
    assert len(done) == 1, results
    assert all(isinstance(r, DomainError) for r in results if r not in done)
    assert models.Invoice.select().count() == 1 and models.DemoCharge.select().count() == 1
    assert models.Payment.select().count() == 1


def test_a_subscription_without_periods_changes_with_nothing_to_settle(pworld):
    bare = models.Subscription.create(client=pworld["b"], plan=pworld["basic"],
                                      started_at=START)
    done = change(bare, pworld["pro"], 2, expected=0)
    assert done.invoice is None and done.credit is None
    assert (fresh(bare).plan_id, fresh(bare).quantity) == (pworld["pro"].id, 2)
