"""Every request our server sends Stripe, as it reaches the wire: a recording proxy stands
between the stripe package and localstripe (which ignores Idempotency-Key), so we can prove
that each POST carries a key, that money moves under keys taken from our own records, and
that a retried payment sends the very same key (and, as Stripe does, is answered once).
The proxy is tests/stripe_wire_support.py."""
import re

import pytest

import models
from tests import factories
from tests.conftest import CSRF_RE, csrf_token
from tests.core_support import login_staff
from tests.payments_support import (
    KEY_RE,
    SECRET_RE,
    confirm_in_browser,
    pay,
    reload,
    stripe_api,
)
from tests.subscription_purchase_support import html, make_plan, review, submit


@pytest.fixture
def gateway(proxied_stripe_gateway):
    return proxied_stripe_gateway


def pay_with_new_card(client, localstripe, gateway, invoice, key=None, save=True):
    """Checkout with a card typed in: the capture page, Stripe.js, then the charge."""
    capture = pay(client, [invoice], f"new:{gateway.id}", key=key)
    html = capture.get_data(as_text=True)
    assert capture.status_code == 200, html[-2000:]
    seti, confirmed = confirm_in_browser(localstripe, SECRET_RE.search(html).group(1))
    assert confirmed.status_code == 200
    data = {"csrf_token": CSRF_RE.search(html).group(1), "step": "capture",
            "key": KEY_RE.search(html).group(1), "method": f"new:{gateway.id}",
            "invoices": invoice.public_id, "gateway": gateway.id, "setup_intent": seti}
    if save:
        data["save"] = "1"
    return client.post("/client/invoices/payment", data=data)


def save_card(client, localstripe, gateway):
    page = client.get("/client/payment_methods/create")
    html = page.get_data(as_text=True)
    seti, confirmed = confirm_in_browser(localstripe, SECRET_RE.search(html).group(1))
    assert confirmed.status_code == 200
    return client.post("/client/payment_methods/create", data={
        "csrf_token": CSRF_RE.search(html).group(1), "gateway": gateway.id,
        "setup_intent": seti})


def test_every_post_carries_a_key_and_money_moves_under_our_own(
        client, auth, world, localstripe, proxy, gateway, conn):
    auth.login("a1@alpha.example")
    sent, partial = world["invoices"]["sent"], world["invoices"]["partial"]
    # A new card at checkout, kept for later.
    done = pay_with_new_card(client, localstripe, gateway, sent)
    assert done.status_code == 303, done.get_data(as_text=True)[-2000:]
    first = models.Payment.get(models.Payment.status == "completed")
    token = models.GatewayToken.get()
    # The saved card, in one tap.
    assert pay(client, [partial], f"token:{token.public_id}").status_code == 303
    second = models.Payment.get((models.Payment.status == "completed")
                                & (models.Payment.id != first.id))
    # Saving a second card from the Payment Methods tab.
    assert save_card(client, localstripe, gateway).status_code == 303
    auth.logout()
    # Staff refund part of the first payment.
    factories.staff(email="refunds@test.example")
    login_staff(client, "refunds@test.example")
    form = {"csrf_token": csrf_token(client, "/admin/payments"), "amount": "25.00",
            "expected_refunded": "0"}
    assert client.post(f"/admin/payments/{first.id}/refund", data=form).status_code == 303
    assert reload(first).refunded == 2500

    posts = proxy.posts()
    paths = {re.sub(r"/(cus|seti|pm|pi)_\w+", r"/\1_*", path) for path, _ in posts}
    assert {"/v1/customers", "/v1/setup_intents", "/v1/payment_intents",
            "/v1/refunds"} <= paths, paths
    assert all(key for _, key in posts), [path for path, key in posts if not key]
    # Money moves under keys from our records, not under keys made up per request.
    assert proxy.posts("/v1/payment_intents") == [
        ("/v1/payment_intents", first.idempotency_key),
        ("/v1/payment_intents", second.idempotency_key)]
    assert first.idempotency_key != second.idempotency_key
    # What each charge asked for: the amount in minor units, the currency as Stripe writes it,
    # confirmed now, on the customer's card, named by our payment; and the customer is
    # here (a contact paying), so not off_session.
    charges = proxy.posted_fields("/v1/payment_intents")
    payer = world["a"].public_id
    assert [(f["amount"], f["currency"], f["confirm"], f["metadata[payment]"],
             f["metadata[client]"]) for f in charges] == [
        (str(first.amount), "usd", "true", first.public_id, payer),
        (str(second.amount), "usd", "true", second.public_id, payer)]
    assert all(f["customer"].startswith("cus_") and f["payment_method"].startswith("pm_")
               and "off_session" not in f for f in charges)
    ((refund,),) = [proxy.posted_fields("/v1/refunds")]
    assert (refund["amount"], refund["payment_intent"]) == ("2500", first.gateway_reference)
    ((_, refund_key),) = proxy.posts("/v1/refunds")
    assert refund_key == f"refund-{first.public_id}-0-2500"
    # No key was used for two different requests.
    keys = [key for _, key in posts]
    assert len(keys) == len(set(keys))


def test_a_payment_whose_answer_was_lost_is_retried_under_the_same_key(
        client, auth, world, localstripe, proxy, gateway, conn):
    auth.login("a1@alpha.example")
    sent = world["invoices"]["sent"]
    assert save_card(client, localstripe, gateway).status_code == 303
    token = models.GatewayToken.get()
    proxy.lose_answer("/v1/payment_intents")  # charged at Stripe; we never hear of it
    lost = pay(client, [sent], f"token:{token.public_id}")
    html = lost.get_data(as_text=True)
    assert lost.status_code == 422 and "try again" in html
    key = KEY_RE.search(html).group(1)
    attempt = models.Payment.get()
    assert (attempt.status, attempt.idempotency_key) == ("failed", key)
    assert reload(sent).balance == 10000
    # The person presses Pay again on the page they were shown: the same key goes out.
    again = pay(client, [sent], f"token:{token.public_id}", key=key)
    assert again.status_code == 303, again.get_data(as_text=True)[-2000:]
    assert proxy.posts("/v1/payment_intents") == [("/v1/payment_intents", key)] * 2
    payment = reload(attempt)
    assert payment.status == "completed" and reload(sent).balance == 0
    # Stripe answered the retry with the first charge: one PaymentIntent, not two.
    intents = stripe_api(localstripe).v1.payment_intents.list(params={"limit": 100}).data
    ours = [i for i in intents if i.metadata.to_dict().get("payment") == payment.public_id]
    assert [i.id for i in ours] == [payment.gateway_reference]


def test_a_charge_the_bank_is_still_processing_holds_the_invoice_and_applies_nothing(
        client, auth, world, localstripe, proxy, gateway, conn):
    """Stripe answers "processing" for money that takes days (bank debits): the payment
    stays pending under its reference, the person is told, and nothing is applied yet."""
    auth.login("a1@alpha.example")
    sent = world["invoices"]["sent"]
    assert save_card(client, localstripe, gateway).status_code == 303
    token = models.GatewayToken.get()
    proxy.answer_as("/v1/payment_intents", status="processing")
    answer = pay(client, [sent], f"token:{token.public_id}")
    payment = models.Payment.get()
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/client/payments/{payment.public_id}")
    assert (payment.status, payment.gateway_reference[:3]) == ("pending", "pi_")
    assert (reload(sent).balance, reload(sent).status) == (10000, "sent")
    shown = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Your payment is being processed." in shown


def test_a_subscription_bought_with_the_person_there_is_charged_on_session(
        app, client, localstripe, proxy, gateway, conn):
    """Buying through a payment link, the person is at the keyboard: Stripe must not hear
    off_session (that is for run-due's scheduled charges), and the charge names the payment
    and the new client, under the purchase form's key."""
    public_id = make_plan(app)
    page = review(client, public_id)
    seti, confirmed = confirm_in_browser(localstripe, SECRET_RE.search(html(page)).group(1))
    assert confirmed.status_code == 200
    assert submit(client, public_id, page, setup_intent=seti).status_code == 303
    payment = models.Payment.get()
    assert payment.status == "completed"
    [charge] = proxy.posted_fields("/v1/payment_intents")
    assert (charge["confirm"], charge["metadata[payment]"], charge["metadata[client]"]) == (
        "true", payment.public_id, payment.client.public_id)
    assert "off_session" not in charge
    assert proxy.posts("/v1/payment_intents") == [
        ("/v1/payment_intents", payment.idempotency_key)]
