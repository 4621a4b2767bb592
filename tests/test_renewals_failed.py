"""Failed subscription renewals: a charge is retried, then given up; the subscription is
held past due or suspended (the business's choice, set in the back office) until the
invoice is paid, marked paid or cancelled; both the contact and the business are told, and
the client's subscriptions tab says so.

Siblings: tests/test_renewals.py (renewals that go through, trials, endings) and
tests/test_renewals_once.py (several run-dues at once). Shared helpers are
tests/renewals_support.py."""
import datetime as dt

import pytest

import models
from billing import (
    allocation,
    autobill,
    checkout,
    company_settings,
    invoices,
    payment_methods,
    payments,
    renewals,
    subscription_invoices,
    subscriptions,
)
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import activities, login_staff, opened, snapshot
from tests.mail_support import mails
from tests.payments_support import demo_card, reload
from tests.renewals_support import (
    RENEWAL,
    activity,
    customer,
    make_plan,
    periods,
    renewal_invoices,
    subscribed,
    tick,
)

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


def test_a_given_up_invoice_part_paid_holds_it_until_the_last_cent(db, demo_gateway):
    client, _ = customer()
    subscription, invoice = fail_three_times(client, demo_gateway)
    staff = factories.staff()
    payments.record_manual(staff, client, "28.99", [invoice.id], method="bank_transfer",
                           locale="en_US")
    assert (reload(invoice).status, reload(invoice).balance) == ("partial", 1)
    assert tick(RENEWAL, 5)[0]["reactivated"] == 0
    assert reload(subscription).status == "past_due"
    payments.record_manual(staff, client, "0.01", [invoice.id], method="bank_transfer",
                           locale="en_US")
    assert reload(subscription).status == "active"
    assert activities("subscription.reactivated") == [
        (subscription.id, client.id, None, None, "")]
    assert models.Activity.get(models.Activity.action == "subscription.reactivated"
                               ).subject_type == "subscription"


def held_for(subscription, status, autobill_status="failed"):
    """`subscription` held as `status`, owing a period invoice whose auto-bill ended so."""
    invoice = subscription_invoices.issue_period_invoice(subscription, RENEWAL,
                                                         dt.date(2027, 1, 2))
    models.AutoBill.create(invoice=invoice, status=autobill_status, attempts=3)
    models.Subscription.update(status=status).where(
        models.Subscription.id == subscription.id).execute()
    return invoice


def test_the_sweep_reactivates_each_one_held_for_a_charge_and_no_other(db):
    plan = make_plan()
    clients = [customer(email=f"ap{n}@acme.example")[0] for n in range(4)]
    past_due, suspended, still_owed, by_staff = (subscribed(c, plan) for c in clients)
    settled = [held_for(past_due, "past_due"), held_for(suspended, "suspended")]
    held_for(still_owed, "past_due")
    invoices.mark_paid(held_for(by_staff, "active", autobill_status="paid"))
    models.Subscription.update(status="past_due").where(  # staff hold it for another reason
        models.Subscription.id == by_staff.id).execute()
    for invoice in settled:
        invoices.cancel(invoice)  # no hook: the sweep finds them
    assert tick(RENEWAL, 1)[0]["reactivated"] == 2
    statuses = [reload(s).status for s in (past_due, suspended, still_owed, by_staff)]
    assert statuses == ["active", "active", "past_due", "past_due"]
    assert activities("subscription.reactivated") == [
        (past_due.id, clients[0].id, None, None, ""),
        (suspended.id, clients[1].id, None, None, "")]
    assert tick(RENEWAL, 2)[0]["reactivated"] == 0


def test_one_subscriptions_bad_data_is_logged_and_the_rest_renew(db, demo_gateway, caplog):
    carded, _ = customer()
    demo_card(carded, demo_gateway)
    uncarded, _ = customer(email="ap@other.example")
    plan, free = make_plan(), make_plan(name="Free", price="0.00", setup_fee="0.00")
    order = [subscribed(carded, free, first_invoice=False), subscribed(carded, plan),
             subscribed(uncarded, free, first_invoice=False), subscribed(carded, plan),
             subscribed(uncarded, plan), subscribed(uncarded, plan)]
    with caplog.at_level("WARNING", logger="portal.renewals"):
        renewed, charged = tick(RENEWAL)
    assert renewed == {"reactivated": 0, "renewed": 4, "charging": 2, "owed": 2, "failed": 2}
    assert charged == {"paid": 2}
    refused = [m for m in caplog.messages if " not renewed: " in m]
    assert [m.split(":")[0] for m in refused] == [
        f"subscription {order[0].id} not renewed", f"subscription {order[2].id} not renewed"]
    assert all("total of zero" in m for m in refused)
    assert [len(renewal_invoices(s)) for s in order] == [0, 1, 0, 1, 1, 1]


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


def test_giving_up_holds_only_that_invoices_subscription(db, demo_gateway):
    client, _ = customer()
    other_client, _ = customer(email="ops@other.example")
    plan = make_plan()
    held, beside, ended = (subscribed(client, plan) for _ in range(3))
    elsewhere = subscribed(other_client, plan)
    models.Subscription.update(status="cancelled").where(
        models.Subscription.id == ended.id).execute()
    invoice = subscription_invoices.issue_period_invoice(held, RENEWAL, dt.date(2027, 1, 2))
    assert renewals.charge_given_up(invoice.id).status == "past_due"
    statuses = {s.id: s.status for s in models.Subscription.select()}
    assert statuses == {held.id: "past_due", beside.id: "active", elsewhere.id: "active",
                        ended.id: "cancelled"}
    assert activities("subscription.past_due") == [
        (held.id, client.id, None, None, invoice.number)]
    assert models.Activity.get(models.Activity.action == "subscription.past_due"
                               ).subject_type == "subscription"
    # given up again while already held: nothing changes and nothing more is logged
    assert renewals.charge_given_up(invoice.id).status == "past_due"
    assert len(activities("subscription.past_due")) == 1
    # a cancelled subscription's invoice given up leaves it cancelled
    last = subscription_invoices.issue_period_invoice(ended, RENEWAL, dt.date(2027, 1, 2))
    assert renewals.charge_given_up(last.id).status == "cancelled"
    assert len(activities("subscription.past_due")) == 1


def test_an_unknown_or_missing_choice_after_failure_means_past_due(db):
    company = models.Company.current()
    assert renewals.after_failure_status(company) == "past_due"  # never chosen
    for chosen in ("suspended", "past_due"):
        company.failed_renewal_status = chosen
        assert renewals.after_failure_status(company) == chosen
    company.failed_renewal_status = "cancelled"  # written by hand: not a choice offered
    assert renewals.after_failure_status(company) == "past_due"
    models.Company.delete().execute()
    assert renewals.after_failure_status() == "past_due"


def test_each_invoice_is_charged_to_its_own_subscriptions_method(db, demo_gateway):
    client, _ = customer()
    default = demo_card(client, demo_gateway, last4="1111")
    first_card = demo_card(client, demo_gateway, last4="2222")
    second_card = demo_card(client, demo_gateway, last4="3333")
    plan = make_plan()
    first = subscribed(client, plan, payment_method=first_card)
    second = subscribed(client, plan, payment_method=second_card)
    plain = factories.invoice(client)
    for subscription, card in ((first, first_card), (second, second_card)):
        invoice = reload(subscription_invoices.issue_period_invoice(
            subscription, RENEWAL, dt.date(2027, 1, 2)))
        assert renewals.method_for_invoice(invoice).id == card.id
    assert renewals.method_for_invoice(plain).id == default.id


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
