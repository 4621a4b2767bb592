"""Finding a charge made for an attempt whose answer we never heard (a crash between Stripe's
charge and our bookkeeping), against a localstripe of this module's own: its store holds
only what these tests made, so each intent's place in Stripe's list is known.

localstripe lists the oldest first (Stripe, the newest first); the rules under test do not
depend on which: look through at most FIND_PAGES pages, follow the list page by page, and
say "cannot tell" rather than "never charged" when the list goes on past them."""
import pytest
import stripe as stripe_package

import models
from gateways import stripe_gateway
from gateways.base import GatewayError, PaymentDeclined
from gateways.stripe_gateway import StripeGateway, deciding
from tests.core_support import opened
from tests.payments_support import make_gateway, serve_localstripe, stripe_card


@pytest.fixture(scope="module")
def own_localstripe(tmp_path_factory):
    yield from serve_localstripe(tmp_path_factory)


@pytest.fixture
def stripe(app, own_localstripe):
    with opened(app):
        config = make_gateway("stripe", publishable_key="pk_test_portal",
                              secret_key="sk_test_portal", api_base=own_localstripe)
    return StripeGateway(models.GatewayConfig.get_by_id(config.id))


def intents_in_store(base):
    api, count, params = stripe_card(base)[0].payment_intents, 0, {"limit": 100}
    while True:
        page = api.list(params=params)
        count += len(page.data)
        if not page.has_more:
            return count
        params["starting_after"] = page.data[-1].id


def charged(gateway, base, payment, number="4242424242424242", amount=1000):
    """One PaymentIntent for `payment`, as checkout makes it; its ChargeResult or None when
    the card was declined (the intent is still in the store)."""
    _, card = stripe_card(base, number)
    try:
        return gateway.charge(card, amount, "USD", idempotency_key=f"key-{payment}-{number}",
                              metadata={"payment": payment})
    except PaymentDeclined:
        return None


def looking(monkeypatch, pages, page_size=1):
    monkeypatch.setattr(stripe_gateway, "FIND_PAGES", pages)
    monkeypatch.setattr(stripe_gateway, "FIND_PAGE_SIZE", page_size)


def test_a_charge_on_the_last_page_looked_at_is_found(stripe, own_localstripe, monkeypatch):
    charged(stripe, own_localstripe, "pay-other")
    made = charged(stripe, own_localstripe, "pay-last-page", amount=4321)
    position = intents_in_store(own_localstripe)  # ours is the newest: last in this list
    looking(monkeypatch, pages=position)
    found = stripe.find_charge("key-x", {"payment": "pay-last-page"})
    assert (found.reference, found.status, found.amount, found.currency) == (
        made.reference, "succeeded", 4321, "USD")


def test_a_charge_past_the_pages_looked_at_is_not_read_as_never_made(stripe, own_localstripe,
                                                                     monkeypatch):
    charged(stripe, own_localstripe, "pay-too-far")
    looking(monkeypatch, pages=intents_in_store(own_localstripe) - 1)
    with pytest.raises(GatewayError):
        stripe.find_charge("key-x", {"payment": "pay-too-far"})


def test_a_charge_found_on_an_early_page_ends_the_search(stripe, own_localstripe,
                                                         monkeypatch):
    """Found among the pages looked at, though the list goes on: the charge, not "cannot
    tell"."""
    made = charged(stripe, own_localstripe, "pay-early")
    charged(stripe, own_localstripe, "pay-after-it")
    charged(stripe, own_localstripe, "pay-after-that")
    # The pages looked at end one after ours: what a later page holds adds to what was found.
    looking(monkeypatch, pages=intents_in_store(own_localstripe) - 1)
    assert stripe.find_charge("key-x", {"payment": "pay-early"}).reference == made.reference


def test_no_charge_in_a_list_read_to_its_end_was_never_made(stripe, own_localstripe,
                                                            monkeypatch):
    charged(stripe, own_localstripe, "pay-someone-else")
    pages = intents_in_store(own_localstripe)
    looking(monkeypatch, pages=pages)  # exactly enough to reach the end
    assert stripe.find_charge("key-x", {"payment": "pay-never-charged"}) is None
    looking(monkeypatch, pages=pages + 5)  # more than enough
    assert stripe.find_charge("key-x", {"payment": "pay-never-charged"}) is None
    looking(monkeypatch, pages=1, page_size=100)  # one page holds them all
    assert stripe.find_charge("key-x", {"payment": "pay-never-charged"}) is None


def test_of_several_charges_for_one_payment_the_one_that_took_money_decides(
        stripe, own_localstripe, monkeypatch):
    waiting = charged(stripe, own_localstripe, "pay-twice", "4000002500003155")  # 3-D Secure
    assert waiting.status == "requires_action"
    took = charged(stripe, own_localstripe, "pay-twice", amount=2500)
    looking(monkeypatch, pages=100, page_size=2)
    found = stripe.find_charge("key-x", {"payment": "pay-twice"})
    assert (found.reference, found.status, found.amount) == (took.reference, "succeeded",
                                                             2500)


def test_a_charge_still_waiting_for_the_customer_is_found_as_waiting(stripe, own_localstripe,
                                                                     monkeypatch):
    waiting = charged(stripe, own_localstripe, "pay-waiting", "4000002500003155")
    looking(monkeypatch, pages=100, page_size=3)
    found = stripe.find_charge("key-x", {"payment": "pay-waiting"})
    assert (found.reference, found.status) == (waiting.reference, "requires_action")
    assert found.client_secret.startswith(waiting.reference + "_secret_")


def test_a_declined_charge_is_found_as_declined_not_as_never_made(stripe, own_localstripe,
                                                                  monkeypatch):
    assert charged(stripe, own_localstripe, "pay-declined", "4000000000000341") is None
    looking(monkeypatch, pages=100, page_size=3)
    with pytest.raises(PaymentDeclined):
        stripe.find_charge("key-x", {"payment": "pay-declined"})


def test_a_lookup_stripe_refuses_says_cannot_tell(stripe, own_localstripe, monkeypatch):
    looking(monkeypatch, pages=3, page_size=0)  # a page size Stripe refuses (400)
    with pytest.raises(GatewayError) as caught:
        stripe.find_charge("key-x", {"payment": "pay-anything"})
    assert not isinstance(caught.value, PaymentDeclined)


def intent(status, n):
    return stripe_package.PaymentIntent.construct_from(
        {"id": f"pi_{n}", "object": "payment_intent", "status": status}, "sk_test_x")


@pytest.mark.parametrize("statuses, chosen", [
    (["requires_action", "processing", "succeeded"], 2),
    (["succeeded", "processing"], 0),
    (["processing", "succeeded"], 1),
    (["requires_action", "processing"], 1),
    (["canceled", "requires_payment_method", "processing"], 2),
    (["requires_action", "canceled"], 0),  # neither took money: the first, as listed
    (["canceled", "requires_action"], 0),
])
def test_of_several_intents_the_one_that_took_money_then_one_under_way_decides(statuses,
                                                                               chosen):
    """localstripe never leaves an intent processing, so this rule is stated on Stripe's own
    objects (as the stripe package builds them from an answer)."""
    intents = [intent(status, n) for n, status in enumerate(statuses)]
    assert deciding(intents) is intents[chosen]
