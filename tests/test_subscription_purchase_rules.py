"""The purchase service's rules (billing.subscription_purchase), called as the page calls them:
each refusal word for word at its field, the account a new customer gets, the form's small
rules (plan id, quantity, price) and the link staff copy. What a purchase makes, which paid
invoices start a subscription and the lapse of unpaid purchases are in
tests/test_subscription_purchase_made.py; the page's flows in tests/test_subscription_purchase.py,
_once.py and _unpaid.py."""
import datetime as dt

import pytest
from flask import current_app

import models
from billing import subscription_purchase as purchase
from billing import subscriptions
from billing.accounts import wait_for_queued_resets
from tests import factories
from tests.core_support import activities, refusal
from tests.subscription_purchase_support import DETAILS, TODAY, bought, bought_new, card, saved_card

CLOSED = "This account is closed. Please contact us."


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
    refused = refusal(lambda: bought(shop, "closed", contact=closed, gateway=shop["gateway"],
                                  new_method=card(shop)))
    assert (refused.message, refused.field) == (CLOSED, None)
    assert purchase.check_returning(shop["a2"], shop["plan"], {"quantity": " 3 "}) == 3


def test_with_logins_off_a_new_customer_is_refused_at_the_address(shop):
    factories.company(portal_login_enabled=False)
    form = {**DETAILS, "password": "gamma-password", "confirm": "gamma-password",
            "quantity": "1"}
    for call in (lambda: purchase.check_new_customer(models.Company.current(), shop["plan"],
                                                     form),
                 lambda: bought_new(shop, "logins-off")):
        refused = refusal(call)
        assert (refused.message, refused.field) == (
            "New accounts cannot be opened here. If you are a client already, open the portal "
            "from the link in our latest e-mail to buy this plan.", "email")


# ------------------------------------------------------------------ the new customer's account

def test_a_new_customer_gets_a_whole_account_billed_in_the_plans_currency(shop):
    shop["plan"].currency = "EUR"
    shop["plan"].save()
    result = bought_new(shop, "whole", client_public_id="cl_gamma_0001")
    assert result.status == "completed" and result.new_customer
    client = models.Client.get(models.Client.email == "gil@gamma.example")
    assert (client.name, client.address, client.vat_number, client.currency,
            client.public_id) == ("Gamma LLC", "1 Main St", "US123", "EUR", "cl_gamma_0001")
    contact = models.Contact.get(models.Contact.client == client.id)
    assert (contact.first_name, contact.last_name, contact.phone, contact.email,
            contact.is_primary, contact.email_verified, contact.password_hash) == (
        "Gil", "Gamma", "+1 555 0100", "gil@gamma.example", True, False, "x")
    assert result.contact.id == contact.id
    assert models.GatewayCustomer.select().count() == 0  # none was made for the card


@pytest.mark.parametrize("details, name", [
    ({"client_name": ""}, "Gil Gamma"),
    ({"client_name": "", "first_name": "", "last_name": "Gamma"}, "Gamma"),
    ({"client_name": "", "first_name": "", "last_name": ""}, "gil@gamma.example"),
    ({"client_name": "G" * 250}, "G" * 200),
])
def test_a_new_customers_client_is_named_by_company_else_person_else_address(shop, details,
                                                                              name):
    bought_new(shop, "named", details)
    assert models.Client.get(models.Client.email == "gil@gamma.example").name == name


def test_without_a_public_id_the_client_gets_its_own(shop):
    bought_new(shop, "own-id")
    assert models.Client.get(models.Client.email == "gil@gamma.example").public_id


def test_an_address_with_an_account_tells_only_its_owner_with_the_portals_links(shop):
    config = {**current_app.config, "BASE_URL": "https://billing.example"}
    result = bought_new(shop, "exists", {"email": "a2@alpha.example"},
                     app=current_app._get_current_object(),
                     config=config)
    assert result.status == "exists" and result.subscription is None
    wait_for_queued_resets()
    notices = list(models.EmailMessage.select())
    assert [m.to for m in notices] == ["a2@alpha.example"]
    assert "https://billing.example/client/login" in notices[0].body_text
    assert activities("contact.registration_repeated")[0][2] == shop["a2"].id


# ------------------------------------------------------------------ buy's own refusals

def test_a_plan_withdrawn_since_the_page_opened_is_refused_at_the_plan(shop):
    opened_page = models.Plan.get_by_id(shop["plan"].id)
    subscriptions.set_archived(shop["plan"], True)
    refused = refusal(lambda: purchase.buy(
        opened_page, 1, models.Company.current(), key="withdrawn-" + "k" * 20,
        contact=shop["a1"], gateway=shop["gateway"], new_method=card(shop)))
    assert (refused.message, refused.field) == ("That plan is no longer offered.", "plan")


def test_something_due_now_needs_a_way_to_pay(shop):
    refused = refusal(lambda: bought(shop, "no-method", contact=shop["a1"]))
    assert (refused.message, refused.field) == ("Choose how you would like to pay.", "method")
    # down to one cent due
    shop["plan"] = factories.plan("Penny", 1)
    refused = refusal(lambda: bought(shop, "no-method-cent", contact=shop["a1"]))
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
        refused = refusal(lambda t=token, e=extra: bought(shop, "not-mine", token=t, **e))
        assert (refused.message, refused.field) == (
            "That payment method is no longer available.", "method")


def test_a_key_another_client_bought_with_is_refused_as_expired(shop):
    first = bought(shop, "shared", contact=shop["a1"], gateway=shop["gateway"],
                new_method=card(shop))
    again = bought(shop, "shared", contact=shop["a2"], gateway=shop["gateway"],
                new_method=card(shop))
    assert (again.status, again.subscription.id, again.contact.id, again.new_customer) == (
        "duplicate", first.subscription.id, shop["a1"].id, False)
    refused = refusal(lambda: bought(shop, "shared", contact=shop["b1"], gateway=shop["gateway"],
                                  new_method=card(shop)))
    assert (refused.message, refused.field) == (
        "This purchase form has expired. Please start again.", "key")


def test_a_new_customers_repeat_is_the_same_purchase_and_one_confirmation_e_mail(shop):
    first = bought_new(shop, "new-twice")
    again = bought_new(shop, "new-twice")
    assert (again.status, again.subscription.id, again.new_customer) == (
        "duplicate", first.subscription.id, True)
    wait_for_queued_resets()
    sent = [m.body_text for m in models.EmailMessage.select().where(
        models.EmailMessage.to == "gil@gamma.example")]
    link = current_app.config["BASE_URL"] + "/client/register/verify/"
    assert len([text for text in sent if link in text]) == 1
    assert len(sent) == 2  # and the receipt
    assert [a[2] for a in activities("contact.registered")] == [first.contact.id]


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


def test_a_removed_card_cannot_wait_for_a_trial(shop):
    from billing import payment_methods
    removed = saved_card(shop, "a1")
    payment_methods.forget(removed)
    removed = models.GatewayToken.get_by_id(removed.id)
    trial = factories.plan("Trial", 2900, trial_days=14)
    refused = refusal(lambda: purchase.buy(
        trial, 1, models.Company.current(), key="removed-trial-" + "k" * 20,
        contact=shop["a1"], token=removed, today=TODAY))
    assert (refused.message, refused.field) == (
        "That payment method is no longer available.", "method")


def test_a_key_an_earlier_payment_of_the_client_holds_is_refused_word_for_word(shop):
    models.Payment.create(client=shop["a"].id, status="completed", amount=1, currency="USD",
                          date=TODAY, idempotency_key="held-" + "k" * 24)
    refused = refusal(lambda: bought(shop, "held", contact=shop["a1"],
                                     gateway=shop["gateway"], new_method=card(shop)))
    assert (refused.message, refused.field) == (
        "This purchase form has expired. Please start again.", "key")
