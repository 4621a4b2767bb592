"""The purchase service's own rules (billing.subscription_purchase), called as the page calls
them: each refusal word for word at its field, the account a new customer gets, which
subscriptions a paid invoice starts, the lapse of unpaid purchases and the link staff copy.

The page's flows are in tests/test_subscription_purchase.py, _once.py and _unpaid.py."""
import datetime as dt

import pytest
from flask import current_app

import gateways
import models
from billing import subscription_purchase as purchase
from billing import subscriptions
from billing.accounts import wait_for_queued_resets
from tests import factories
from tests.core_support import activities, refusal

TODAY = dt.date(2026, 11, 16)
DETAILS = {"client_name": "Gamma LLC", "first_name": "Gil", "last_name": "Gamma",
           "phone": "+1 555 0100", "address": "1 Main St", "vat_number": "US123",
           "email": "gil@gamma.example"}
CLOSED = "This account is closed. Please contact us."


@pytest.fixture
def shop(db, demo_gateway):
    people = factories.two_clients()
    gateway = gateways.for_config(models.GatewayConfig.get_by_id(demo_gateway.id))
    plan = factories.plan("Pro", 2900, setup_fee=1000)
    return {**people, "plan": plan, "gateway": gateway}


def card(shop, number="4242424242424242"):
    return shop["gateway"].tokenize(number, "12", "2035", "123")


def buy(shop, key, **kw):
    kw.setdefault("config", dict(current_app.config))
    return purchase.buy(shop["plan"], kw.pop("quantity", 1), models.Company.current(),
                        key=f"{key}-" + "k" * 24, today=TODAY, **kw)


def buy_new(shop, key, details=None, **kw):
    return buy(shop, key, details={**DETAILS, **(details or {})}, password_hash="x",
               gateway=shop["gateway"], new_method=card(shop), **kw)


# ------------------------------------------------------------------ refusals

def test_a_plan_in_another_currency_is_refused_at_the_plan(shop):
    euro = factories.plan("Euro", 2000, currency="EUR")
    refused = refusal(lambda: purchase.check_currency(shop["a"], euro))
    assert (refused.message, refused.field) == (
        "This plan is priced in EUR and your account is billed in USD, so it cannot be "
        "bought here. Please contact us.", "plan")
    assert purchase.check_currency(shop["a"], shop["plan"]) is None


def test_a_closed_account_cannot_buy(shop):
    models.Contact.update(is_active=False).where(
        models.Contact.id == shop["a1"].id).execute()
    closed = models.Contact.get_by_id(shop["a1"].id)
    refused = refusal(lambda: purchase.check_returning(closed, shop["plan"], {"quantity": "1"}))
    assert (refused.message, refused.field) == (CLOSED, None)
    refused = refusal(lambda: buy(shop, "closed", contact=closed, gateway=shop["gateway"],
                                  new_method=card(shop)))
    assert (refused.message, refused.field) == (CLOSED, None)
    assert purchase.check_returning(shop["a2"], shop["plan"], {"quantity": " 3 "}) == 3


def test_with_logins_off_a_new_customer_is_refused_at_the_address(shop):
    factories.company(portal_login_enabled=False)
    form = {**DETAILS, "password": "gamma-password", "confirm": "gamma-password",
            "quantity": "1"}
    for call in (lambda: purchase.check_new_customer(models.Company.current(), shop["plan"],
                                                     form),
                 lambda: buy_new(shop, "logins-off")):
        refused = refusal(call)
        assert (refused.message, refused.field) == (
            "New accounts cannot be opened here. If you are a client already, open the portal "
            "from the link in our latest e-mail to buy this plan.", "email")


# ------------------------------------------------------------------ the new customer's account

def test_a_new_customer_gets_a_whole_account_billed_in_the_plans_currency(shop):
    shop["plan"].currency = "EUR"
    shop["plan"].save()
    result = buy_new(shop, "whole", client_public_id="cl_gamma_0001")
    assert result.status == "completed" and result.new_customer
    client = models.Client.get(models.Client.email == "gil@gamma.example")
    assert (client.name, client.address, client.vat_number, client.currency,
            client.public_id) == ("Gamma LLC", "1 Main St", "US123", "EUR", "cl_gamma_0001")
    contact = models.Contact.get(models.Contact.client == client.id)
    assert (contact.first_name, contact.last_name, contact.phone, contact.email,
            contact.is_primary, contact.email_verified, contact.password_hash) == (
        "Gil", "Gamma", "+1 555 0100", "gil@gamma.example", True, False, "x")
    assert result.contact.id == contact.id


@pytest.mark.parametrize("details, name", [
    ({"client_name": ""}, "Gil Gamma"),
    ({"client_name": "", "first_name": "", "last_name": "Gamma"}, "Gamma"),
    ({"client_name": "", "first_name": "", "last_name": ""}, "gil@gamma.example"),
    ({"client_name": "G" * 250}, "G" * 200),
])
def test_a_new_customers_client_is_named_by_company_else_person_else_address(shop, details,
                                                                              name):
    buy_new(shop, "named", details)
    assert models.Client.get(models.Client.email == "gil@gamma.example").name == name


def test_without_a_public_id_the_client_gets_its_own(shop):
    buy_new(shop, "own-id")
    assert models.Client.get(models.Client.email == "gil@gamma.example").public_id


def test_an_address_with_an_account_tells_only_its_owner_with_the_portals_links(shop):
    config = {**current_app.config, "BASE_URL": "https://billing.example"}
    result = buy_new(shop, "exists", {"email": "a2@alpha.example"},
                     app=current_app._get_current_object(),
                     config=config)
    assert result.status == "exists" and result.subscription is None
    wait_for_queued_resets()
    notices = list(models.EmailMessage.select())
    assert [m.to for m in notices] == ["a2@alpha.example"]
    assert "https://billing.example/client/login" in notices[0].body_text
    assert activities("contact.registration_repeated")[0][2] == shop["a2"].id


# ------------------------------------------------------------------ a paid first invoice

def incomplete(shop, client="a", contact="a1", key="first"):
    """A purchase whose card was declined: an incomplete subscription, its invoice open."""
    result = buy(shop, f"{key}-{client}", contact=shop[contact], gateway=shop["gateway"],
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


# ------------------------------------------------------------------ the link staff copy

@pytest.mark.parametrize("base, prefix", [
    ("https://billing.example/", "https://billing.example"),
    ("https://billing.example", "https://billing.example"),
    ("https://billing.example/TAX/", "https://billing.example/TAX"),
    ("", ""),
    (None, ""),
])
def test_the_purchase_link_joins_the_base_address_and_the_plans_page(shop, base, prefix):
    path = f"/client/subscriptions/{shop['plan'].public_id}/purchase"
    assert purchase.purchase_path(shop["plan"]) == path
    assert purchase.purchase_link(shop["plan"], base) == prefix + path


# ------------------------------------------------------------------ what a purchase makes

def test_a_purchase_starts_on_its_day_with_its_invoice_dated_then(shop):
    other = subscriptions.subscribe(shop["b"], shop["plan"], start=TODAY, contact=shop["b1"])
    before = models.Subscription.get_by_id(other.id)
    result = buy(shop, "dated", contact=shop["a1"], gateway=shop["gateway"],
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
    after = models.Subscription.get_by_id(other.id)  # another client's, untouched
    assert (after.purchase_key, after.status, after.payment_method_id) == (
        before.purchase_key, before.status, before.payment_method_id)


def saved_card(shop, contact="a1"):
    from billing import payment_methods
    return payment_methods.store(shop[contact].client_id, shop["gateway"].config.id,
                                 card(shop), contact=shop[contact])


def test_a_saved_card_that_pays_or_waits_for_a_trial_is_the_subscriptions(shop):
    token = saved_card(shop)
    paid_with = buy(shop, "token-paid", contact=shop["a1"], token=token)
    assert paid_with.status == "completed"
    assert models.Subscription.get_by_id(paid_with.subscription.id).payment_method_id == \
        token.id
    trial = factories.plan("Trial", 2900, trial_days=14)
    waiting = purchase.buy(trial, 1, models.Company.current(), key="token-trial-" + "k" * 20,
                           contact=shop["a1"], token=token, today=TODAY)
    sub = models.Subscription.get_by_id(waiting.subscription.id)
    assert (waiting.status, sub.status, sub.payment_method_id) == ("started", "active",
                                                                   token.id)


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
    refused = refusal(lambda: buy(shop, "pay-no-consent", contact=shop["a1"],
                                  gateway=shop["gateway"], new_method=card(shop),
                                  save_method=True, staff=staff))
    assert refused.field == "consent"
    result = buy(shop, "pay-consent", contact=shop["a1"], gateway=shop["gateway"],
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
    result = buy(shop, "unapplied", contact=shop["a1"], gateway=shop["gateway"],
                 new_method=card(shop))
    sub = models.Subscription.get_by_id(result.subscription.id)
    assert sub.status == "active"
    assert models.Invoice.get(models.Invoice.subscription == sub.id).status == "paid"
    assert [c.amount for c in models.DemoCharge.select()] == ([charged] if charged else [])
    assert result.status == ("completed" if charged else "started")


# ------------------------------------------------------------------ buy's own refusals

def test_a_plan_withdrawn_since_the_page_opened_is_refused_at_the_plan(shop):
    opened_page = models.Plan.get_by_id(shop["plan"].id)
    subscriptions.set_archived(shop["plan"], True)
    refused = refusal(lambda: purchase.buy(
        opened_page, 1, models.Company.current(), key="withdrawn-" + "k" * 20,
        contact=shop["a1"], gateway=shop["gateway"], new_method=card(shop)))
    assert (refused.message, refused.field) == ("That plan is no longer offered.", "plan")


def test_something_due_now_needs_a_way_to_pay(shop):
    refused = refusal(lambda: buy(shop, "no-method", contact=shop["a1"]))
    assert (refused.message, refused.field) == ("Choose how you would like to pay.", "method")


def test_a_card_that_is_not_the_buyers_to_use_is_refused_at_the_method(shop):
    from billing import payment_methods
    theirs = saved_card(shop, "b1")
    removed = saved_card(shop, "a1")
    payment_methods.forget(removed)
    removed = models.GatewayToken.get_by_id(removed.id)
    for contact, token in ((shop["a1"], theirs), (shop["a1"], removed), (None, theirs)):
        extra = {"contact": contact} if contact else {
            "details": DETAILS, "password_hash": "x", "gateway": shop["gateway"]}
        refused = refusal(lambda t=token, e=extra: buy(shop, "not-mine", token=t, **e))
        assert (refused.message, refused.field) == (
            "That payment method is no longer available.", "method")


def test_a_key_another_client_bought_with_is_refused_as_expired(shop):
    first = buy(shop, "shared", contact=shop["a1"], gateway=shop["gateway"],
                new_method=card(shop))
    again = buy(shop, "shared", contact=shop["a2"], gateway=shop["gateway"],
                new_method=card(shop))
    assert (again.status, again.subscription.id, again.contact.id, again.new_customer) == (
        "duplicate", first.subscription.id, shop["a1"].id, False)
    refused = refusal(lambda: buy(shop, "shared", contact=shop["b1"], gateway=shop["gateway"],
                                  new_method=card(shop)))
    assert (refused.message, refused.field) == (
        "This purchase form has expired. Please start again.", "key")


def test_a_new_customers_repeat_is_the_same_purchase_and_one_confirmation_e_mail(shop):
    first = buy_new(shop, "new-twice")
    again = buy_new(shop, "new-twice")
    assert (again.status, again.subscription.id, again.new_customer) == (
        "duplicate", first.subscription.id, True)
    wait_for_queued_resets()
    sent = [m.body_text for m in models.EmailMessage.select().where(
        models.EmailMessage.to == "gil@gamma.example")]
    assert len([text for text in sent if "/client/register/verify/" in text]) == 1
    assert len(sent) == 2  # and the receipt


# ------------------------------------------------------------------ the form's small rules

@pytest.mark.parametrize("public_id, found", [
    ("abcdefgh", True), ("a" * 24, True), ("abcdefg", False), (None, False), (12345678, False),
])
def test_a_plan_is_found_only_by_a_public_id_of_its_shape(shop, public_id, found):
    if found:
        models.Plan.update(public_id=public_id).where(
            models.Plan.id == shop["plan"].id).execute()
    else:
        factories.plan("Short", 100, public_id="abcdefg")
    plan = purchase.find_plan(public_id)
    assert (plan.id if plan else None) == (shop["plan"].id if found else None)


@pytest.mark.parametrize("text, message", [
    ("", "Enter the quantity."), (None, "Enter the quantity."), ("  ", "Enter the quantity."),
    ("1.5", "The quantity must be a whole number."), ("-1", "The quantity must be a whole number."),
    ("٣", "The quantity must be a whole number."),
    ("1234567890", "The quantity must be a whole number."),
    ("999999999", "The quantity can be at most 10."), ("0", "The quantity must be at least 1."),
])
def test_the_quantity_typed_is_read_strictly(shop, text, message):
    refused = refusal(lambda: purchase.parse_quantity(shop["plan"], text))
    assert (refused.message, refused.field) == (message, "quantity")


def test_a_quantity_is_read_as_typed(shop):
    assert purchase.parse_quantity(shop["plan"], " 7 ") == 7
    assert purchase.parse_quantity(shop["plan"], 10) == 10


def test_the_price_of_a_trial_and_of_a_plan_bought_outright(shop):
    from billing.schedule import next_date
    outright = purchase.Price(shop["plan"], 3, TODAY)
    assert (outright.trial_ends_on, outright.period_amount, outright.setup_fee,
            outright.due_now, outright.keeps_card) == (None, 8700, 1000, 9700, False)
    assert outright.first_period_end == next_date(TODAY, "monthly")
    trial = purchase.Price(factories.plan("Trial", 2900, trial_days=14), 2, TODAY)
    ends = TODAY + dt.timedelta(days=14)
    assert (trial.trial_ends_on, trial.due_now, trial.keeps_card) == (ends, 0, True)
    assert trial.first_period_end == next_date(ends, "monthly")
    free = purchase.Price(factories.plan("Free", 0, trial_days=7), 1, TODAY)
    assert (free.setup_fee, free.due_now, free.keeps_card) == (0, 0, False)
    fee_only = purchase.Price(factories.plan("Fee", 0, trial_days=7, setup_fee=500), 1, TODAY)
    assert fee_only.keeps_card
