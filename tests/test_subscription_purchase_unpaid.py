"""A plan purchase refused or not yet paid: bad input and a card declined at capture change
nothing; a charge declined leaves the subscription incomplete until its first invoice is
paid (through checkout, by staff, or a 3-D Secure payment run-due finds) or it lapses after
a day.

Siblings: tests/test_subscription_purchase.py (the page and the purchases that go through)
and tests/test_subscription_purchase_once.py (exactly once, no enumeration). Shared helpers
are tests/subscription_purchase_support.py."""
import re

import pytest

import models
from billing import subscription_purchase
from tests.conftest import CSRF_RE
from tests.core_support import opened
from tests.subscription_purchase_support import (
    CARD,
    NEW,
    buy_new,
    counts,
    html,
    logged_in_as,
    make_plan,
    review,
    state,
    submit,
)

# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("changes, field, message", [
    ({"quantity": "0"}, "quantity", "The quantity must be at least 1."),
    ({"quantity": "11"}, "quantity", "The quantity can be at most 10."),
    ({"quantity": "two"}, "quantity", "The quantity must be a whole number."),
    ({"quantity": ""}, "quantity", "Enter the quantity."),
    ({"email": "not-an-address"}, "email", "valid e-mail address"),
    ({"password": "short", "confirm": "short"}, "password", "at least 8 characters"),
    ({"confirm": "gamma-password-2"}, "confirm", "not the same"),
    ({"client_name": ""}, "client_name", "Enter your company or your name."),
])
def test_bad_input_is_refused_and_changes_nothing(app, client, demo_gateway, changes, field,
                                                 message):
    public_id = make_plan(app)
    before = state(app)
    refused = review(client, public_id, **changes)
    text = html(refused)
    assert refused.status_code == 422
    assert re.search(rf'id="err-{field}">[^<]*{re.escape(message)}', text), text
    assert re.search(rf'name="{field}"[^>]*aria-invalid="true" aria-describedby="err-{field}"',
                     text)
    assert state(app) == before


def test_a_declined_card_at_capture_changes_nothing(app, client, demo_gateway):
    public_id = make_plan(app)
    before = state(app)
    page, refused = buy_new(client, public_id, card={**CARD,
                                                     "card_number": "4000000000000002"})
    assert refused.status_code == 422 and "declined" in html(refused)
    assert state(app) == before
    assert logged_in_as(client) == ""


def test_a_charge_declined_leaves_no_active_subscription_until_paid(app, client,
                                                                    demo_gateway):
    """The rule: no subscription until paid. The account is whole; the subscription waits,
    incomplete, and starts when its first invoice is paid through the normal checkout."""
    public_id = make_plan(app)
    _, done = buy_new(client, public_id, card={**CARD, "card_number": "4000000000000341"})
    assert done.status_code == 303
    with opened(app):
        subscription = models.Subscription.get()
        invoice = models.Invoice.get()
        assert subscription.status == "incomplete" and not subscription.billing_continues
        assert invoice.status == "sent" and invoice.balance == 6800
        assert [p.status for p in models.Payment.select()] == ["failed"]
        assert counts(app)["Client"] == 1
    shown = html(client.get(done.headers["Location"]))
    assert "declined" in shown and "Awaiting payment" in shown
    # Paying the open invoice the usual way (the page links to it) starts the subscription.
    link = re.search(r'href="(/client/invoices/payment\?invoices=[^"]+)"', shown).group(1)
    review_page = client.get(link.replace("&amp;", "&"))
    assert review_page.status_code == 200 and "$68.00" in html(review_page)
    from tests.payments_support import pay
    paid = pay(client, [invoice], f"new:{demo_gateway.id}")
    capture = submit_checkout_card(client, paid, invoice)
    assert capture.status_code == 303
    with opened(app):
        assert models.Subscription.get().status == "active"
        assert models.Invoice.get().status == "paid"


def test_staff_recording_the_first_invoice_paid_starts_the_subscription(app, client,
                                                                         demo_gateway):
    """Paid another way (a bank transfer staff mark paid): the subscription starts just the
    same, and run-due does not lapse it afterwards."""
    from billing import invoices, subscription_purchase
    public_id = make_plan(app)
    buy_new(client, public_id, card={**CARD, "card_number": "4000000000000341"})
    with opened(app):
        assert models.Subscription.get().status == "incomplete"
        invoices.mark_paid(models.Invoice.get())
        assert models.Subscription.get().status == "active"
        later = models.utcnow() + subscription_purchase.EXPIRE_AFTER * 2
        subscription_purchase.expire_incomplete(now=later)
        assert models.Subscription.get().status == "active"
        assert models.Invoice.get().status == "paid"


def submit_checkout_card(client, page, invoice):
    key = re.search(r'name="key" value="([^"]+)"', html(page)).group(1)
    return client.post("/client/invoices/payment", data={
        "csrf_token": CSRF_RE.search(html(page)).group(1), "step": "capture", "key": key,
        "method": re.search(r'name="method" value="(new:\d+)"', html(page)).group(1),
        "invoices": invoice.public_id, **CARD})


# ------------------------------------------------------------------ not yet paid

def test_a_returning_contacts_declined_card_leaves_the_subscription_waiting(
        app, client, auth, world, demo_gateway):
    public_id = make_plan(app)
    auth.login("a1@alpha.example")
    page = review(client, public_id, method=f"new:{demo_gateway.id}",
                  **{k: None for k in NEW if k != "quantity"})
    done = submit(client, public_id, page, **{**CARD, "card_number": "4000000000000341"})
    assert done.status_code == 303
    with opened(app):
        subscription = models.Subscription.get()
        assert subscription.client_id == world["a"].id
        assert subscription.status == "incomplete" and subscription.payment_method_id is None
        assert models.Payment.get(models.Payment.client == world["a"].id,
                                  models.Payment.status == "failed")
    assert "Awaiting payment" in html(client.get(done.headers["Location"]))


def test_an_unpaid_purchase_lapses_after_a_day_unless_a_payment_is_in_flight(
        app, client, demo_gateway):
    import datetime as dt

    from billing import scheduler
    public_id = make_plan(app)
    _, done = buy_new(client, public_id, card={**CARD, "card_number": "4000000000000341"})
    assert done.status_code == 303
    with opened(app):
        assert subscription_purchase.expire_incomplete() == 0  # not yet a day old
        later = models.utcnow() + dt.timedelta(hours=24)
        invoice = models.Invoice.get()
        pending = models.Payment.create(
            client=invoice.client_id, status="pending", amount=invoice.balance, currency="USD",
            date=later.date(), idempotency_key="in-flight-" + "k" * 20,
            plan=f'{{"lines": [[{invoice.id}, {invoice.balance}]], "credit": 0}}')
        assert subscription_purchase.expire_incomplete(later) == 0  # its payment may land
        pending.delete_instance()
        assert subscription_purchase.expire_incomplete(later) == 1
        assert subscription_purchase.expire_incomplete(later) == 0  # once
        assert models.Subscription.get().status == "ended"
        assert models.Invoice.get().status == "cancelled"
        assert models.Client.get_by_id(invoice.client_id).balance == 0
    assert "subscription purchases: 0 left unpaid lapsed" in scheduler.run_due(app)


def test_a_3ds_purchase_starts_when_run_due_finds_the_money(app, world, conn, localstripe,
                                                            stripe_gateway):
    """No subscription until paid, whoever reports the money: here run-due's reconciliation
    of a payment the customer confirmed with their bank and never came back from."""
    import requests

    from gateways.stripe_gateway import StripeGateway
    from tests.payments_support import minutes_pass, run_due, stripe_card
    public_id = make_plan(app)
    _, card = stripe_card(localstripe, "4000002500003155")
    plan = models.Plan.get(models.Plan.public_id == public_id)
    result = subscription_purchase.buy(
        plan, 1, models.Company.current(), key="buy-3ds-" + "a" * 24, contact=world["a1"],
        gateway=StripeGateway(stripe_gateway), new_method=card, save_method=True)
    assert result.status == "requires_action"
    assert models.Subscription.get().status == "incomplete"
    payment = models.Payment.get(models.Payment.status == "pending")
    response = requests.post(
        f"{localstripe}/v1/payment_intents/{payment.gateway_reference}/_authenticate",
        json={"key": "pk_test_portal", "client_secret": result.outcome.client_secret,
              "success": True}, timeout=10)
    assert response.status_code == 200, response.text
    minutes_pass(payment)
    assert "pending payments: 1 completed" in run_due(app)
    subscription = models.Subscription.get()
    assert subscription.status == "active"
    assert subscription.payment_method_id == models.GatewayToken.get().id  # for renewals
    assert models.Invoice.get(models.Invoice.subscription == subscription.id).status == "paid"
