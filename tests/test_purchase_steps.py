"""A plan's purchase steps as services (billing.purchase_steps), driven with plain values
and no request: what a purchase offers, the method chosen, and the purchase once the card
step is done. The purchase page's own flow through them is tests/test_subscription_purchase.py
(and its siblings _unpaid.py and _once.py)."""
import pytest

import models
from billing import DomainError, payment_methods, purchase_steps
from billing import subscription_purchase as purchase
from billing.checkout_steps import Choice
from tests import factories
from tests.core_support import snapshot
from tests.payments_support import demo_card, make_gateway, typed_card

GOOD = typed_card("4242 4242 4242 4242")
REFUSED_AT_CAPTURE = typed_card("4000 0000 0000 0002")


def world(**plan):
    factories.company()
    contact = factories.contact()
    gateway = make_gateway("demo")
    return contact, factories.plan("Pro", 2500, **plan), gateway


def state_for(plan, method, key="purchase-steps-key-000001", quantity=1):
    return {"plan": plan.public_id, "key": key, "quantity": quantity, "method": method}


def customer_of(contact):
    return lambda gateway: purchase_steps.payment_methods.customer_for(contact.client,
                                                                       gateway)


def advance(plan, state, choice, contact, staff=None):
    return purchase_steps.advance_purchase(plan, state, choice, models.Company.current(),
                                           contact=contact, staff=staff,
                                           customer=customer_of(contact))


def test_a_trial_offers_only_gateways_that_keep_a_card_and_a_free_plan_none(conn):
    contact, priced, demo = world()
    make_gateway("manual")  # offline: never offered online
    today = models.utcnow().date()
    saved = demo_card(contact.client, demo)
    offered = purchase_steps.offered_methods(purchase.Price(priced, 1, today),
                                             contact.client_id)
    assert ([t.id for t in offered[0]], [g.config.id for g in offered[1]]) == (
        [saved.id], [demo.id])
    assert purchase_steps.offered_methods(purchase.Price(priced, 1, today))[0] == []
    trial = factories.plan("Trial", 2500, trial_days=14)
    assert [g.config.id for g in purchase_steps.offered_methods(
        purchase.Price(trial, 1, today), contact.client_id)[1]] == [demo.id]
    free = factories.plan("Free", 0)
    assert purchase_steps.offered_methods(purchase.Price(free, 1, today),
                                          contact.client_id) == ([], [])


def test_the_only_gateway_is_chosen_and_anything_else_must_be_picked(conn):
    contact, plan, demo = world()
    price = purchase.Price(plan, 1, models.utcnow().date())
    assert purchase_steps.choose_method(price, "", contact.client_id) == f"new:{demo.id}"
    saved = demo_card(contact.client, demo)
    assert purchase_steps.choose_method(price, f"token:{saved.public_id}",
                                        contact.client_id) == f"token:{saved.public_id}"
    for unknown in ("", "token:nope", f"new:{demo.id + 99}", "offline:1"):
        with pytest.raises(DomainError) as refused:
            purchase_steps.choose_method(price, unknown, contact.client_id)
        assert (refused.value.message, refused.value.field) == (
            "Choose how you would like to pay.", "method")
    free = purchase.Price(factories.plan("Free", 0), 1, models.utcnow().date())
    models.GatewayConfig.update(is_enabled=False).execute()
    assert purchase_steps.choose_method(free, "", contact.client_id) == ""  # none needed
    assert purchase_steps.choose_method(free, f"new:{demo.id}", contact.client_id) == ""
    with pytest.raises(DomainError) as refused:
        purchase_steps.choose_method(price, "", contact.client_id)
    assert (refused.value.message, refused.value.field) == (
        "This plan cannot be bought online at the moment. Please contact us.", "method")


def test_a_contact_buys_with_a_saved_card_once(conn):
    contact, plan, demo = world()
    saved = demo_card(contact.client, demo)
    state = state_for(plan, f"token:{saved.public_id}")
    bought = advance(plan, state, Choice(), contact)
    assert (bought.step, bought.purchase.status) == ("bought", "completed")
    assert bought.purchase.subscription.status == "active"
    again = advance(plan, state, Choice(), contact)
    assert (again.step, again.purchase.status) == ("bought", "duplicate")
    assert again.purchase.subscription.id == bought.purchase.subscription.id
    assert again.purchase.new_customer is False
    assert models.Payment.select().count() == 1
    # another client's contact who got hold of the key is told the form expired
    stranger = factories.contact()
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        advance(plan, state, Choice(), stranger)
    assert (refused.value.message, refused.value.field) == (
        "This purchase form has expired. Please start again.", "key")
    assert snapshot() == before


def test_a_free_plan_is_bought_from_a_state_with_no_method(conn):
    contact, _plan, _demo = world()
    free = factories.plan("Free", 0)
    state = state_for(free, "")
    del state["method"]
    bought = advance(free, state, Choice(), contact)
    assert (bought.step, bought.purchase.status) == ("bought", "started")
    assert not models.Payment.select().exists()


def test_a_new_card_is_captured_and_kept_when_asked(conn):
    contact, plan, demo = world()
    bought = advance(plan, state_for(plan, f"new:{demo.id}"),
                     Choice(capture=True, save=True, card=GOOD), contact)
    assert bought.purchase.status == "completed"
    kept = models.GatewayToken.get(models.GatewayToken.client == contact.client)
    assert (kept.last4, kept.created_by_contact_id) == ("4242", contact.id)


@pytest.mark.parametrize("choice, field, trial_days", [
    (Choice(card=GOOD), "method", 0),  # the confirmation posted without the card step
    # Staff without consent: refused before the card reaches the gateway (which would
    # refuse this one and show the capture again); a trial keeps the card unasked.
    (Choice(capture=True, save=True, card=REFUSED_AT_CAPTURE), "consent", 0),
    (Choice(capture=True, card=REFUSED_AT_CAPTURE), "consent", 14),
])
def test_a_card_step_that_cannot_go_on_is_refused_and_changes_nothing(conn, choice, field,
                                                                      trial_days):
    contact, plan, demo = world(trial_days=trial_days)
    staff = factories.staff() if field == "consent" else None
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        advance(plan, state_for(plan, f"new:{demo.id}"), choice, contact, staff=staff)
    assert refused.value.field == field
    if field == "method":
        assert refused.value.message == "Enter the card details."
    assert snapshot() == before


def test_staff_with_the_clients_consent_keep_the_card_they_enter_for_them(conn):
    contact, plan, demo = world()
    staff = factories.staff()
    bought = advance(plan, state_for(plan, f"new:{demo.id}"),
                     Choice(capture=True, save=True, card=GOOD, staff_consent=True), contact,
                     staff=staff)
    assert bought.purchase.status == "completed"
    kept = models.GatewayToken.get(models.GatewayToken.client == contact.client)
    assert (kept.created_by_staff_id, kept.created_by_contact_id) == (staff.id, None)


def test_a_card_the_gateway_refuses_shows_the_capture_again(conn):
    contact, plan, demo = world()
    before = snapshot()
    following = advance(plan, state_for(plan, f"new:{demo.id}"),
                        Choice(capture=True, card=REFUSED_AT_CAPTURE), contact)
    assert (following.step, following.gateway.config.id) == ("capture", demo.id)
    assert "declined" in following.error.message
    assert snapshot() == before


@pytest.mark.parametrize("spoil", ["plan", "key", "logged_out"])
def test_a_state_from_another_form_or_session_has_expired(conn, spoil):
    contact, plan, demo = world()
    saved = demo_card(contact.client, demo)
    state = state_for(plan, f"token:{saved.public_id}")
    if spoil == "plan":
        state["plan"] = factories.plan("Other", 100).public_id
    elif spoil == "key":
        state["key"] = ""
    else:  # made for a new customer: the buyer logged in since
        state["details"] = {"email": "new@test.example"}
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        advance(plan, state, Choice(), contact)
    assert (refused.value.field, refused.value.message) == ("key", purchase.EXPIRED)
    assert snapshot() == before


def test_a_method_gone_between_the_steps_is_refused_at_its_field(conn):
    contact, _plan, demo = world()
    saved = demo_card(contact.client, demo)
    assert purchase_steps.chosen_method(f"token:{saved.public_id}", contact.client_id)[0] \
        .id == saved.id
    assert purchase_steps.chosen_method(f"new:{demo.id}")[1].config.id == demo.id
    assert purchase_steps.chosen_method("") == (None, None)
    payment_methods.forget(saved)
    offline = make_gateway("manual")
    for gone in (f"token:{saved.public_id}", f"new:{demo.id + 99}", f"new:{offline.id}"):
        with pytest.raises(DomainError) as refused:
            purchase_steps.chosen_method(gone, contact.client_id)
        assert (refused.value.message, refused.value.field) == (
            "That payment method is no longer available.", "method")


def test_a_new_customers_account_takes_the_id_and_password_the_steps_chose(db):
    _, plan, demo = world()
    details = {"client_name": "Gamma LLC", "first_name": "Gil", "last_name": "Gamma",
               "phone": "", "address": "", "vat_number": "", "email": "gil@gamma.example"}
    state = {**state_for(plan, f"new:{demo.id}"), "details": details,
             "hash": "pbkdf2:sha256:chosen", "client": "cl_chosen_000001"}
    bought = purchase_steps.advance_purchase(
        plan, state, Choice(capture=True, card=GOOD), models.Company.current(),
        customer=lambda gateway: "")
    assert (bought.purchase.status, bought.purchase.new_customer) == ("completed", True)
    contact = models.Contact.get(models.Contact.email == "gil@gamma.example")
    assert (contact.client.public_id, contact.password_hash) == (
        "cl_chosen_000001", "pbkdf2:sha256:chosen")
    assert not models.GatewayCustomer.select().exists()  # the demo gateway made none


def test_a_new_customer_paying_with_stripe_keeps_the_customer_the_card_was_captured_for(
        db, localstripe, stripe_gateway):
    """The page makes the gateway's customer before the client exists (the customer
    callable); the purchase records it as the new client's."""
    from gateways.stripe_gateway import StripeGateway
    from tests.payments_support import confirm_in_browser
    factories.company()
    plan = factories.plan("Pro", 2500)
    gateway = StripeGateway(stripe_gateway)
    reference = gateway.create_customer("Gil Gamma", "gil@gamma.example", "cl_chosen_000002")
    _, secret = gateway.start_setup(reference)
    seti, confirmed = confirm_in_browser(localstripe, secret)
    assert confirmed.status_code == 200
    asked_for = []

    def customer(for_gateway):
        asked_for.append(for_gateway.config.id)
        return reference
    details = {"client_name": "", "first_name": "Gil", "last_name": "Gamma", "phone": "",
               "address": "", "vat_number": "", "email": "gil@gamma.example"}
    state = {**state_for(plan, f"new:{stripe_gateway.id}"), "details": details, "hash": "h",
             "client": "cl_chosen_000002", "customer": reference}
    bought = purchase_steps.advance_purchase(
        plan, state, Choice(capture=True, card=payment_methods.CardEntry(setup_intent=seti)),
        models.Company.current(), customer=customer)
    assert bought.purchase.status == "completed"
    assert asked_for == [stripe_gateway.id]
    known = models.GatewayCustomer.get()
    assert (known.client.public_id, known.gateway_id, known.reference) == (
        "cl_chosen_000002", stripe_gateway.id, reference)
