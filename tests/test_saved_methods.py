"""billing/payment_methods.py itself: which saved cards can pay, keeping, removing and
choosing the default, and the gateway's customer for a client. The Payment Methods tab's
pages are in test_payment_methods.py."""
import pytest
import stripe

import models
from billing import DomainError, gateway_settings, payment_methods
from gateways.base import PaymentDeclined, SavedMethod
from tests import factories
from tests.core_support import activities, snapshot
from tests.payments_support import (
    confirm_in_browser,
    demo_card,
    make_gateway,
    reload,
    stripe_api,
    stripe_card,
)


def tokens(client):
    T = models.GatewayToken
    return [(t.last4, t.is_default, t.deleted_at is not None)
            for t in T.select().where(T.client == client).order_by(T.id)]


@pytest.fixture
def wallet(db):
    client = factories.client()
    demo = make_gateway("demo")
    return client, demo, [demo_card(client, demo, last4=f"000{n}") for n in (1, 2, 3)]


def test_the_first_card_kept_is_the_default_and_the_activity_names_who_kept_it(db):
    client, demo = factories.client(), make_gateway("demo")
    contact, staff = factories.contact(client), factories.staff()
    first = payment_methods.store(client.id, demo.id, SavedMethod(
        token="demo_ok_a", customer_reference="", brand="mastercard-debit-world-elite-card"
        "-extra-long", last4="44445", exp_month=1, exp_year=2031), contact=contact)
    second = payment_methods.store(client.id, demo.id, {
        "token": "demo_ok_b", "customer_reference": "cus_1", "brand": "visa", "last4": "4242",
        "exp_month": 2, "exp_year": 2032}, staff=staff, staff_consent=True)
    t = reload(first)
    assert (t.token, t.customer_reference, t.brand, t.last4, t.exp_month, t.exp_year,
            t.is_default, t.created_by_contact_id, t.created_by_staff_id, t.gateway_id) == (
        "demo_ok_a", "", "mastercard-debit-world-elite-car", "4444", 1, 2031, True,
        contact.id, None, demo.id)
    t = reload(second)
    assert (t.customer_reference, t.is_default, t.created_by_contact_id,
            t.created_by_staff_id) == ("cus_1", False, None, staff.id)
    assert activities("payment_method.added") == [
        (first.id, client.id, contact.id, None, "mastercard-debit-world-elite-car 4444"),
        (second.id, client.id, None, staff.id, "visa 4242")]


def test_a_card_kept_twice_is_kept_once(wallet):
    client, demo, cards = wallet
    before = snapshot()
    again = payment_methods.store(client.id, demo.id, payment_methods.as_saved(cards[0]))
    assert (again.id, snapshot()) == (cards[0].id, before)
    # Another client's card with the same token is theirs: this one gets its own row.
    other = factories.client()
    theirs = payment_methods.store(other.id, demo.id, payment_methods.as_saved(cards[0]))
    assert (theirs.id != cards[0].id, theirs.is_default) == (True, True)


def test_staff_keep_a_card_only_with_the_clients_consent(db):
    client, demo, staff = factories.client(), make_gateway("demo"), factories.staff()
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        payment_methods.store(client.id, demo.id, SavedMethod(token="demo_ok_c"), staff=staff)
    assert (refused.value.field, refused.value.message) == (
        "consent", "Confirm that the client has given their consent before you add a card "
        "for them.")
    assert snapshot() == before
    payment_methods.check_staff_consent(None, False)  # a contact keeps their own card


def test_removing_the_default_makes_the_newest_left_the_default(wallet):
    client, demo, cards = wallet
    contact = factories.contact(client)
    assert payment_methods.forget(cards[0], contact=contact) is True
    assert tokens(client) == [("0001", False, True), ("0002", False, False),
                              ("0003", True, False)]
    assert activities("payment_method.removed") == [
        (cards[0].id, client.id, contact.id, None, "visa 0001")]
    before = snapshot()
    assert payment_methods.forget(cards[0]) is False  # removed already: nothing more
    assert snapshot() == before


def test_removing_another_card_keeps_the_default(wallet):
    client, demo, cards = wallet
    staff = factories.staff()
    payment_methods.remove(reload(cards[1]), staff=staff)
    assert tokens(client) == [("0001", True, False), ("0002", False, True),
                              ("0003", False, False)]
    assert activities("payment_method.removed") == [
        (cards[1].id, client.id, None, staff.id, "visa 0002")]


def test_removing_the_last_card_leaves_no_default(wallet):
    client, demo, cards = wallet
    for card in cards:
        payment_methods.forget(reload(card))
    assert tokens(client) == [("0001", False, True), ("0002", False, True),
                              ("0003", False, True)]


def test_choosing_the_default(wallet):
    client, demo, cards = wallet
    other = demo_card(factories.client(), demo)
    contact, staff = factories.contact(client), factories.staff()
    payment_methods.make_default(reload(cards[0]), staff=staff)
    payment_methods.make_default(reload(cards[2]), contact=contact)
    assert tokens(client) == [("0001", False, False), ("0002", False, False),
                              ("0003", True, False)]
    assert reload(other).is_default is True  # another client's default is theirs
    assert activities("payment_method.default") == [
        (cards[0].id, client.id, None, staff.id, ""),
        (cards[2].id, client.id, contact.id, None, "")]
    payment_methods.forget(reload(cards[1]))
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        payment_methods.make_default(reload(cards[1]))
    assert (refused.value.message, snapshot()) == ("That payment method was removed.", before)


def test_usable_and_chargeable_are_the_clients_live_cards_its_gateways_can_charge(wallet):
    client, demo, cards = wallet
    manual = make_gateway("manual")
    gateway = gateway_settings.get(demo.id)
    # The default (the first kept) first, then the newest.
    assert [t.id for t in payment_methods.chargeable(client.id, [gateway])] == [
        cards[0].id, cards[2].id, cards[1].id]
    payment_methods.make_default(reload(cards[1]))
    payment_methods.forget(reload(cards[2]))
    token, found = payment_methods.usable(client.id, cards[0].public_id)
    assert (token.id, found.config.id) == (cards[0].id, demo.id)
    for public_id in (cards[2].public_id, "nope", "x" * 5000,
                      demo_card(factories.client(), demo).public_id):
        assert payment_methods.usable(client.id, public_id) == (None, None)
    assert [t.id for t in payment_methods.chargeable(client.id, [gateway])] == [
        cards[1].id, cards[0].id]  # the default first, then the newest
    assert payment_methods.chargeable(client.id, [gateway_settings.get(manual.id)]) == []
    models.GatewayConfig.update(is_enabled=False).where(
        models.GatewayConfig.id == demo.id).execute()
    assert payment_methods.usable(client.id, cards[0].public_id) == (None, None)


def test_a_saved_card_of_a_gateway_that_cannot_keep_cards_is_not_usable(db):
    client, manual = factories.client(), make_gateway("manual")
    card = payment_methods.store(client.id, manual.id, SavedMethod(token="manual_1"))
    assert payment_methods.usable(client.id, card.public_id) == (None, None)


@pytest.mark.parametrize("kind, mode, choice, kept, kept_ticked", [
    ("demo", "always", "always", True, True),
    ("demo", "optin", "optin", False, True),
    ("demo", "optout", "optout", False, True),
    ("demo", "off", "off", False, False),
    ("demo", "unknown", "optin", False, True),  # a mode we do not know asks
    ("manual", "always", "off", False, False),  # it cannot keep a card at all
])
def test_the_business_token_mode_decides_whether_a_card_is_kept(db, kind, mode, choice, kept,
                                                                  kept_ticked):
    gateway = gateway_settings.get(make_gateway(kind, token_mode=mode).id)
    assert payment_methods.save_choice(gateway) == choice
    assert (payment_methods.wants_save(gateway, False),
            payment_methods.wants_save(gateway, True)) == (kept, kept_ticked)


def test_a_typed_card_is_read_within_its_fields_lengths(db):
    gateway = gateway_settings.get(make_gateway("demo").id)
    assert payment_methods.start_capture(factories.client(), gateway) == {}
    method = payment_methods.captured(None, gateway, payment_methods.CardEntry(
        number="4242 4242 4242 4242", exp_month="12x", exp_year="20991",
        cvc="1234567"))
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == (
        "visa", "4242", 12, 2099)
    card = demo_card(factories.client(), gateway.config)
    assert payment_methods.as_saved(card) == SavedMethod(
        token=card.token, customer_reference="demo", method_type="card", brand="visa",
        last4="4242", exp_month=12, exp_year=2035)


def test_the_gateways_customer_is_made_once_per_client(stripe_gateway, localstripe):
    gateway = gateway_settings.get(stripe_gateway.id)
    client = factories.client(name="Acme Ltd", email="")
    factories.contact(client, email="second@acme.example", is_primary=False)
    factories.contact(client, email="primary@acme.example", is_primary=True)
    reference = payment_methods.customer_for(client, gateway)
    assert payment_methods.customer_for(client, gateway) == reference
    assert models.GatewayCustomer.select().where(
        models.GatewayCustomer.client == client.id).count() == 1
    found = stripe.StripeClient("sk_test_portal", base_addresses={"api": localstripe}) \
        .v1.customers.retrieve(reference)
    assert (found.name, found.email, found.metadata["client"]) == (
        "Acme Ltd", "primary@acme.example", client.public_id)
    # The client's own address comes first; another client gets its own customer.
    other = factories.client(name="Other", email="books@other.example")
    theirs = payment_methods.customer_for(other, gateway)
    assert theirs != reference
    assert stripe.StripeClient("sk_test_portal", base_addresses={"api": localstripe}) \
        .v1.customers.retrieve(theirs).email == "books@other.example"
    setup = payment_methods.start_capture(client, gateway)
    assert setup["setup_id"].startswith("seti_") and setup["client_secret"]


def test_a_gateway_without_customers_uses_its_kind(db):
    client, gateway = factories.client(), gateway_settings.get(make_gateway("demo").id)
    before = snapshot()
    assert (payment_methods.customer_for(client, gateway), snapshot()) == ("demo", before)


def test_a_typed_card_number_is_read_up_to_25_characters(db):
    gateway = gateway_settings.get(make_gateway("demo").id)

    def typed(number):
        return payment_methods.captured(None, gateway, payment_methods.CardEntry(
            number=number, exp_month="12", exp_year="2099", cvc="123"))
    assert typed(" " * 9 + "4242424242424242").last4 == "4242"
    with pytest.raises(PaymentDeclined):
        typed(" " * 10 + "4242424242424242")  # its last digit is past the 25th character


def test_a_bank_account_stays_a_bank_account(db):
    account = payment_methods.store(factories.client().id, make_gateway("demo").id, SavedMethod(
        token="demo_ok_bank", method_type="us_bank_account", last4="6789"))
    assert payment_methods.as_saved(account).method_type == "us_bank_account"


def test_each_client_has_its_own_customer_at_each_gateway(stripe_gateway, localstripe):
    api = stripe_api(localstripe).v1
    first = gateway_settings.get(stripe_gateway.id)
    second = gateway_settings.get(make_gateway(
        "stripe", publishable_key="pk_test_portal", secret_key="sk_test_portal",
        api_base=localstripe).id)
    earlier = factories.client(name="Earlier")
    theirs = payment_methods.customer_for(earlier, first)
    client = factories.client(name="No Address", email="")  # and no primary contact
    ours = payment_methods.customer_for(client, first)
    elsewhere = payment_methods.customer_for(client, second)
    assert len({theirs, ours, elsewhere}) == 3
    assert (payment_methods.customer_for(client, first),
            payment_methods.customer_for(client, second)) == (ours, elsewhere)
    found = api.customers.retrieve(ours)
    assert (found.name, found.email) == ("No Address", None)
    made = [c.id for c in api.customers.list(params={"limit": 100}).auto_paging_iter()
            if c.to_dict().get("metadata", {}).get("client") == client.public_id]
    assert sorted(made) == sorted([ours, elsewhere])  # asked again, made no other


def test_a_card_captured_in_the_browser_belongs_to_the_clients_customer(stripe_gateway,
                                                                         localstripe):
    api = stripe_api(localstripe).v1
    gateway = gateway_settings.get(stripe_gateway.id)
    client = factories.client()
    setup = payment_methods.start_capture(client, gateway)
    customer = payment_methods.customer_for(client, gateway)
    assert api.setup_intents.retrieve(setup["setup_id"]).customer == customer
    seti, _ = confirm_in_browser(localstripe, setup["client_secret"])
    method = payment_methods.captured(client, gateway,
                                      payment_methods.CardEntry(setup_intent=seti))
    assert (method.token.startswith("pm_"), method.customer_reference, method.last4) == (
        True, customer, "4242")
    # Someone buying a plan has no client yet: the customer made for them owns the card.
    buyer = api.customers.create(params={"name": "Buyer"}).id
    setup_id, secret = gateway.start_setup(buyer)
    confirm_in_browser(localstripe, secret, "5555555555554444")
    bought = payment_methods.captured(None, gateway, payment_methods.CardEntry(
        setup_intent=setup_id), customer=lambda: buyer)
    assert (bought.customer_reference, bought.last4) == (buyer, "4444")


def test_removing_a_card_detaches_it_at_the_gateway_first(stripe_gateway, localstripe):
    api, card = stripe_card(localstripe)
    client = factories.client()
    contact = factories.contact(client)
    token = payment_methods.store(client.id, stripe_gateway.id, card)
    payment_methods.remove(token, contact=contact)
    assert api.payment_methods.retrieve(card.token).customer is None
    assert activities("payment_method.removed") == [
        (token.id, client.id, contact.id, None, "visa 4242")]
