"""What a plan purchase makes (billing.subscription_purchase): its subscription, invoice and
log lines, the card it keeps and for whom, unapplied money paying first; which paid invoices
start a subscription; and the lapse of purchases left unpaid. The refusals and small rules
are in tests/test_subscription_purchase_rules.py."""
import datetime as dt

import pytest

import models
from billing import subscription_purchase as purchase
from billing import subscriptions
from tests import factories
from tests.core_support import activities, interleaved, refusal
from tests.subscription_purchase_support import TODAY, bought, card, saved_card

# ------------------------------------------------------------------ what a purchase makes

def test_a_purchase_starts_on_its_day_with_its_invoice_dated_then(shop):
    other = subscriptions.subscribe(shop["b"], shop["plan"], start=TODAY, contact=shop["b1"])
    before = models.Subscription.get_by_id(other.id)
    result = bought(shop, "dated", contact=shop["a1"], gateway=shop["gateway"],
                 new_method=card(shop), quantity=2)
    sub = models.Subscription.get_by_id(result.subscription.id)
    assert (result.status, sub.status, sub.started_at, sub.quantity) == (
        "completed", "active", TODAY, 2)
    invoice = models.Invoice.get(models.Invoice.subscription == sub.id)
    assert (invoice.date, invoice.status, invoice.total) == (TODAY, "paid", 2 * 2900 + 1000)
    assert activities("subscription.purchased") == [
        (sub.id, shop["a"].id, shop["a1"].id, None, "Pro x 2")]
    assert models.Activity.get(models.Activity.action == "subscription.purchased"
                               ).subject_type == "subscription"
    assert models.GatewayToken.select().count() == 0  # the card is kept only when asked
    after = models.Subscription.get_by_id(other.id)  # another client's, untouched
    assert (after.purchase_key, after.status, after.payment_method_id) == (
        before.purchase_key, before.status, before.payment_method_id)



def test_a_saved_card_that_pays_or_waits_for_a_trial_is_the_subscriptions(shop):
    token = saved_card(shop)
    paid_with = bought(shop, "token-paid", contact=shop["a1"], token=token)
    assert paid_with.status == "completed"
    assert models.Subscription.get_by_id(paid_with.subscription.id).payment_method_id == \
        token.id
    trial = factories.plan("Trial", 2900, trial_days=14)
    waiting = purchase.buy(trial, 1, models.Company.current(), key="token-trial-" + "k" * 20,
                           contact=shop["a1"], token=token, today=TODAY)
    sub = models.Subscription.get_by_id(waiting.subscription.id)
    assert (waiting.status, sub.status, sub.payment_method_id) == ("started", "active",
                                                                   token.id)


def test_a_contacts_own_trial_keeps_their_new_card_in_their_name(shop):
    trial = factories.plan("Trial", 2900, trial_days=14)
    result = purchase.buy(trial, 1, models.Company.current(), key="own-trial-" + "k" * 20,
                          contact=shop["a1"], gateway=shop["gateway"], new_method=card(shop),
                          today=TODAY)
    token = models.GatewayToken.get_by_id(
        models.Subscription.get_by_id(result.subscription.id).payment_method_id)
    assert (token.created_by_contact_id, token.created_by_staff_id) == (shop["a1"].id, None)


def test_staff_buying_for_a_contact_keep_a_card_only_with_consent_and_are_named(shop):
    staff = factories.staff()
    trial = factories.plan("Trial", 2900, trial_days=14)

    def start_trial(key, consent):
        return purchase.buy(trial, 1, models.Company.current(), key=key + "-" + "k" * 20,
                            contact=shop["a1"], gateway=shop["gateway"],
                            new_method=card(shop), staff=staff, staff_consent=consent,
                            today=TODAY)
    refused = refusal(lambda: start_trial("no-consent", False))
    assert refused.field == "consent"
    sub = start_trial("consent", True).subscription
    token = models.GatewayToken.get_by_id(
        models.Subscription.get_by_id(sub.id).payment_method_id)
    assert (token.created_by_staff_id, token.created_by_contact_id) == (staff.id, None)
    assert activities("subscription.created") == [(sub.id, shop["a"].id, shop["a1"].id,
                                                   staff.id, "Trial")]
    assert activities("subscription.purchased") == [(sub.id, shop["a"].id, None, staff.id,
                                                     "Trial x 1")]


def test_staff_paying_for_a_contact_save_the_card_in_their_name_with_consent(shop):
    staff = factories.staff()
    refused = refusal(lambda: bought(shop, "pay-no-consent", contact=shop["a1"],
                                  gateway=shop["gateway"], new_method=card(shop),
                                  save_method=True, staff=staff))
    assert refused.field == "consent"
    result = bought(shop, "pay-consent", contact=shop["a1"], gateway=shop["gateway"],
                 new_method=card(shop), save_method=True, staff=staff, staff_consent=True)
    assert result.status == "completed"
    token = models.GatewayToken.get()
    assert (token.created_by_staff_id, token.created_by_contact_id) == (staff.id, None)
    assert models.Subscription.get_by_id(result.subscription.id).payment_method_id == token.id


@pytest.mark.parametrize("unapplied, charged", [(3900, None), (3899, 1)])
def test_unapplied_money_pays_what_it_covers_and_the_card_the_rest(shop, unapplied, charged):
    from tests.applying_support import unapplied_payment
    factories.company(auto_apply_prepayments=True)
    unapplied_payment(shop["a"], unapplied)
    result = bought(shop, "unapplied", contact=shop["a1"], gateway=shop["gateway"],
                 new_method=card(shop))
    sub = models.Subscription.get_by_id(result.subscription.id)
    assert sub.status == "active"
    assert models.Invoice.get(models.Invoice.subscription == sub.id).status == "paid"
    assert [c.amount for c in models.DemoCharge.select()] == ([charged] if charged else [])
    assert result.status == ("completed" if charged else "started")


# ------------------------------------------------------------------ a paid first invoice

def incomplete(shop, client="a", contact="a1", key="first"):
    """A purchase whose card was declined: an incomplete subscription, its invoice open."""
    result = bought(shop, f"{key}-{client}", contact=shop[contact], gateway=shop["gateway"],
                 new_method=card(shop, "4000000000000341"))
    assert result.status == "declined"
    sub = models.Subscription.get_by_id(result.subscription.id)
    invoice = models.Invoice.get(models.Invoice.subscription == sub.id)
    return sub, invoice


def paid(invoice):
    models.Invoice.update(status="paid", balance=0).where(
        models.Invoice.id == invoice.id).execute()


def status(sub):
    return models.Subscription.get_by_id(sub.id).status


def test_nothing_to_activate_is_nothing(shop):
    assert purchase.activate_paid([]) == 0
    assert purchase.activate_paid([None, 0]) == 0


def test_a_card_that_paid_becomes_the_card_of_each_subscription_it_started_only(shop):
    mine, my_invoice = incomplete(shop)
    also_mine, also_my_invoice = incomplete(shop, key="second")
    theirs, _ = incomplete(shop, "b", "b1")
    kept = saved_card(shop, "b1")
    carded = subscriptions.subscribe(shop["b"], shop["plan"], start=TODAY,
                                     payment_method=kept.id)
    token = saved_card(shop)
    paid(my_invoice)
    paid(also_my_invoice)
    assert purchase.activate_paid([my_invoice.id, also_my_invoice.id], token.id) == 2
    assert [models.Subscription.get_by_id(s.id).payment_method_id
            for s in (mine, also_mine, theirs, carded)] == [token.id, token.id, None, kept.id]


def test_only_the_subscriptions_of_paid_invoices_given_start(shop):
    mine, my_invoice = incomplete(shop)
    theirs, their_invoice = incomplete(shop, "b", "b1")
    paid(their_invoice)  # paid, but not among the invoices this payment paid
    assert purchase.activate_paid([my_invoice.id]) == 0  # not paid yet
    assert (status(mine), status(theirs)) == ("incomplete", "incomplete")
    paid(my_invoice)
    assert purchase.activate_paid([my_invoice.id]) == 1
    assert (status(mine), status(theirs)) == ("active", "incomplete")
    assert activities("subscription.activated") == [(mine.id, shop["a"].id, None, None, "")]
    assert purchase.activate_paid([my_invoice.id]) == 0  # once


def test_a_paid_invoice_without_a_subscription_starts_nothing(shop):
    mine, _ = incomplete(shop)
    plain = factories.invoice(shop["a"], status="paid")
    assert purchase.activate_paid([plain.id]) == 0
    assert status(mine) == "incomplete"


# ------------------------------------------------------------------ unpaid purchases lapse

def lapse(now):
    return purchase.expire_incomplete(now)


def made_at(sub):
    return models.Subscription.get_by_id(sub.id).created_at


def test_a_purchase_lapses_exactly_a_day_less_an_hour_after_it_was_made(shop):
    sub, invoice = incomplete(shop)
    other = factories.invoice(shop["b"], status="sent")
    active = subscriptions.subscribe(shop["b"], shop["plan"], start=TODAY)
    deadline = made_at(sub) + purchase.EXPIRE_AFTER
    assert lapse(deadline - dt.timedelta(microseconds=1)) == 0
    assert lapse(deadline) == 1
    assert (status(sub), models.Subscription.get_by_id(sub.id).ends_on) == (
        "ended", deadline.date())
    assert models.Invoice.get_by_id(invoice.id).status == "cancelled"
    assert models.Invoice.get_by_id(other.id).status == "sent"  # another client's bill
    assert status(active) == "active"
    assert activities("subscription.purchase_lapsed") == [
        (sub.id, shop["a"].id, None, None, "")]
    assert models.Activity.get(models.Activity.action == "subscription.purchase_lapsed"
                               ).subject_type == "subscription"


def test_a_younger_purchase_waits_while_an_older_one_lapses(shop):
    old, _ = incomplete(shop)
    young, young_invoice = incomplete(shop, "b", "b1")
    made = made_at(old)
    models.Subscription.update(created_at=made + dt.timedelta(hours=2)).where(
        models.Subscription.id == young.id).execute()
    assert lapse(made + purchase.EXPIRE_AFTER) == 1
    assert (status(old), status(young)) == ("ended", "incomplete")
    assert models.Invoice.get_by_id(young_invoice.id).status == "sent"


def test_a_partly_paid_first_invoice_is_cancelled_with_its_purchase(shop):
    sub, invoice = incomplete(shop)
    models.Invoice.update(status="partial", balance=invoice.balance - 100).where(
        models.Invoice.id == invoice.id).execute()
    assert lapse(made_at(sub) + purchase.EXPIRE_AFTER) == 1
    assert models.Invoice.get_by_id(invoice.id).status == "cancelled"


def test_one_purchase_with_money_in_flight_does_not_hold_up_the_rest(shop):
    held, held_invoice = incomplete(shop)
    free, _ = incomplete(shop, "b", "b1")
    assert held.id < free.id  # the held one comes first
    models.Payment.create(client=shop["a"].id, status="pending", amount=held_invoice.balance,
                          currency="USD", date=TODAY, idempotency_key="in-flight-" + "k" * 20,
                          plan=f'{{"lines": [[{held_invoice.id}, {held_invoice.balance}]], '
                               '"credit": 0}')
    later = max(made_at(held), made_at(free)) + purchase.EXPIRE_AFTER
    assert lapse(later) == 1
    assert (status(held), status(free)) == ("incomplete", "ended")


def test_every_lapse_of_a_run_is_counted(shop):
    first, _ = incomplete(shop)
    second, _ = incomplete(shop, "b", "b1")
    assert lapse(max(made_at(first), made_at(second)) + purchase.EXPIRE_AFTER) == 2


def test_a_declined_saved_card_is_not_kept_for_the_renewals(shop):
    """The card that pays the first invoice becomes the subscription's, never one declined."""
    from billing import checkout
    from tests.payments_support import demo_card
    declined = demo_card(shop["a"], shop["gateway"].config, outcome="chargedeclined")
    result = bought(shop, "declined-saved", contact=shop["a1"], token=declined)
    sub = models.Subscription.get_by_id(result.subscription.id)
    assert (result.status, sub.status, sub.payment_method_id) == ("declined", "incomplete",
                                                                  None)
    good = demo_card(shop["a"], shop["gateway"].config, last4="1111")
    invoice = models.Invoice.get(models.Invoice.subscription == sub.id)
    paid = checkout.pay(shop["a1"], [(invoice.public_id, None)], models.Company.current(),
                        idempotency_key="later-with-another-" + "k" * 10, token=good)
    assert paid.status == "completed"
    sub = models.Subscription.get_by_id(sub.id)
    assert (sub.status, sub.payment_method_id) == ("active", good.id)


def test_one_purchase_paid_as_it_lapses_does_not_hold_up_the_rest(shop):
    """The first invoice is paid between the lapse's read and its cancel (the payment's
    webhook lands then): that purchase is left to the payment, and the next still lapses."""
    paid, paid_invoice = incomplete(shop)
    free, _ = incomplete(shop, "b", "b1")
    assert paid.id < free.id  # the paid one comes first
    settle = models.Invoice.update(status="paid", balance=0).where(
        models.Invoice.id == paid_invoice.id)
    later = max(made_at(paid), made_at(free)) + purchase.EXPIRE_AFTER
    with interleaved(r'SELECT .* FROM "invoice" AS "t1" WHERE \("t1"\."id" = ',
                     settle.execute) as fired:
        assert lapse(later) == 1
    assert fired and (status(paid), status(free)) == ("incomplete", "ended")
