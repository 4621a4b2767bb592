"""Stripe's webhooks against a real localstripe server on loopback: signatures and their age,
what each event does to which record (billing.reconcile.stripe_event), amounts that do not
match, refunds and detached cards. Cards, charges and refunds made from the portal are
tests/test_payments_stripe.py."""
import json
import time

import pytest

import gateways
import models
from tests.core_support import snapshot
from tests.payments_support import (
    add_card,
    event,
    pay,
    reload,
    signed,
    stripe_api,
)


def post_event(client, body, signature=None):
    return client.post("/webhooks/stripe", data=body, headers={
        "Stripe-Signature": signature or signed(body), "Content-Type": "application/json"})


def test_webhook_with_a_bad_signature_is_refused_and_changes_nothing(client, world, conn,
                                                                     stripe_gateway):
    payment = models.Payment.create(client=world["a"], status="pending", currency="USD",
                                    date=models.utcnow().date(), amount=10000,
                                    gateway=stripe_gateway, gateway_reference="pi_bad",
                                    plan=json.dumps({"lines": [[world["invoices"]["sent"].id,
                                                                10000]], "credit": 0}))
    body = event("payment_intent.succeeded", {"id": "pi_bad", "amount": 10000,
                                              "currency": "usd", "metadata": {}})
    assert post_event(client, body, signed(body, "whsec_wrong")).status_code == 400
    assert post_event(client, body, "garbage").status_code == 400
    assert post_event(client, body + " ", signed(body)).status_code == 400  # tampered
    assert reload(payment).status == "pending"
    assert reload(world["invoices"]["sent"]).balance == 10000
    assert post_event(client, body).status_code == 200  # the genuine one applies
    assert reload(payment).status == "completed"
    assert reload(world["invoices"]["sent"]).balance == 0


def pending_stripe_payment(world, gateway, reference):
    invoice = world["invoices"]["sent"]
    return models.Payment.create(client=world["a"], status="pending", currency="USD",
                                 date=models.utcnow().date(), amount=10000, gateway=gateway,
                                 gateway_reference=reference,
                                 plan=json.dumps({"lines": [[invoice.id, 10000]], "credit": 0}))


@pytest.mark.parametrize("amount,currency", [(9999, "usd"), (10001, "usd"), (10000, "eur"),
                                             (None, "usd"), (10000, None)])
def test_succeeded_webhook_for_another_amount_or_currency_applies_nothing(
        client, world, conn, stripe_gateway, amount, currency):
    payment = pending_stripe_payment(world, stripe_gateway, "pi_odd")
    obj = {"id": "pi_odd", "metadata": {}}
    obj.update({k: v for k, v in (("amount", amount), ("currency", currency)) if v})
    before = snapshot()
    response = post_event(client, event("payment_intent.succeeded", obj))
    assert (response.status_code, response.get_json()["result"]) == (200, "amount mismatch")
    assert snapshot() == before
    assert reload(payment).status == "pending"
    assert reload(world["invoices"]["sent"]).balance == 10000


@pytest.mark.parametrize("age", [301, 3600, 10 * 365 * 86400])
def test_a_validly_signed_webhook_older_than_five_minutes_is_refused(client, world, conn,
                                                                      stripe_gateway, age):
    """A captured event replayed later must not apply, however good its signature."""
    payment = pending_stripe_payment(world, stripe_gateway, "pi_old")
    body = event("payment_intent.succeeded", {"id": "pi_old", "amount": 10000,
                                              "currency": "usd", "metadata": {}})
    stale = signed(body, timestamp=int(time.time()) - age)
    assert post_event(client, body, stale).status_code == 400
    assert reload(payment).status == "pending"
    assert reload(world["invoices"]["sent"]).balance == 10000
    fresh = signed(body, timestamp=int(time.time()) - 60)  # a minute late is delivery, fine
    assert post_event(client, body, fresh).status_code == 200
    assert reload(payment).status == "completed"


def test_failed_intent_webhook_marks_a_pending_payment_failed(client, world, conn,
                                                              stripe_gateway):
    payment = models.Payment.create(client=world["a"], status="pending", currency="USD",
                                    date=models.utcnow().date(), amount=10000,
                                    gateway=stripe_gateway, gateway_reference="pi_f",
                                    plan='{"lines": [], "credit": 0}')
    body = event("payment_intent.payment_failed", {
        "id": "pi_f", "last_payment_error": {"message": "Insufficient funds."}})
    assert post_event(client, body).status_code == 200
    assert (reload(payment).status, reload(payment).failure_message) == (
        "failed", "Insufficient funds.")


def test_refund_webhook_reopens_the_invoice_once(client, auth, world, localstripe,
                                                 stripe_gateway, conn):
    auth.login("a1@alpha.example")
    add_card(client, localstripe, stripe_gateway)
    token = models.GatewayToken.get()
    sent = world["invoices"]["sent"]
    pay(client, [sent], f"token:{token.public_id}")
    payment = models.Payment.get(models.Payment.gateway == stripe_gateway.id)
    gateway = gateways.for_config(stripe_gateway)
    gateway.refund(payment.gateway_reference, 4000)
    api = stripe_api(localstripe).v1
    intent = api.payment_intents.retrieve(payment.gateway_reference)
    charge = api.charges.retrieve(intent.latest_charge if isinstance(intent.latest_charge, str)
                                  else intent.latest_charge.id)
    body = event("charge.refunded", {"id": charge.id, "object": "charge",
                                     "payment_intent": charge.payment_intent,
                                     "amount": charge.amount,
                                     "amount_refunded": charge.amount_refunded})
    assert post_event(client, body).status_code == 200
    assert post_event(client, body).status_code == 200  # delivered twice
    payment = reload(payment)
    assert (payment.status, payment.refunded) == ("partially_refunded", 4000)
    assert (reload(sent).balance, reload(sent).status) == (4000, "partial")
    assert reload(world["a"]).paid_to_date == 6000
    html = client.get("/client/payments").get_data(as_text=True)
    assert "Partially refunded" in html


def test_detached_webhook_forgets_the_card(client, auth, world, localstripe, stripe_gateway,
                                           conn):
    auth.login("a1@alpha.example")
    add_card(client, localstripe, stripe_gateway)
    token = models.GatewayToken.get()
    body = event("payment_method.detached", {"id": token.token, "object": "payment_method"})
    assert post_event(client, body).status_code == 200
    assert reload(token).deleted_at is not None
    client.get("/client/payment_methods")  # the flash from adding it
    assert "4242" not in client.get("/client/payment_methods").get_data(as_text=True)


# -- What each webhook does to which record (billing.reconcile.stripe_event) --------------

def webhook(client, kind, obj):
    """Post one signed event; the word the endpoint answers with."""
    response = post_event(client, event(kind, obj))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["result"]


def succeeded(reference, payment=None, amount=10000):
    return {"id": reference, "object": "payment_intent", "amount": amount, "currency": "usd",
            "metadata": {"payment": payment.public_id} if payment else {}}


def test_webhooks_for_nothing_of_ours_change_nothing(client, world, conn, stripe_gateway):
    payment = pending_stripe_payment(world, stripe_gateway, "pi_ours")
    before = snapshot()
    assert webhook(client, "payment_intent.succeeded", succeeded("pi_theirs")) == \
        "unknown payment"
    assert webhook(client, "payment_intent.payment_failed", {"id": "pi_theirs"}) == \
        "unknown payment"
    assert webhook(client, "charge.refunded", {"id": "ch_theirs", "payment_intent": "pi_theirs",
                                               "amount_refunded": 10000}) == "unknown payment"
    # An event we do not act on, whatever object it carries.
    assert webhook(client, "customer.updated", {"id": "pi_ours", "object": "customer"}) == \
        "ignored"
    assert webhook(client, "payment_method.attached", {"id": "pi_ours"}) == "ignored"
    assert snapshot() == before
    assert reload(payment).status == "pending"


def test_failed_webhook_without_a_reason_says_the_payment_failed(client, world, conn,
                                                                 stripe_gateway):
    payment = pending_stripe_payment(world, stripe_gateway, "pi_quiet")
    assert webhook(client, "payment_intent.payment_failed", {"id": "pi_quiet"}) == "failed"
    assert (reload(payment).status, reload(payment).failure_message) == (
        "failed", "The payment failed.")
    assert reload(world["invoices"]["sent"]).balance == 10000


@pytest.mark.parametrize("stored", [None, ""])
def test_succeeded_webhook_finds_an_attempt_by_its_metadata_when_no_reference_was_kept(
        client, world, conn, stripe_gateway, stored):
    """The process died before storing the intent's id: the event's metadata names the
    attempt, which is completed and keeps the id from now on."""
    payment = pending_stripe_payment(world, stripe_gateway, stored)
    assert webhook(client, "payment_intent.succeeded", succeeded("pi_found", payment)) == \
        "completed"
    payment = reload(payment)
    assert (payment.status, payment.gateway_reference) == ("completed", "pi_found")
    assert (reload(world["invoices"]["sent"]).balance, reload(world["a"]).paid_to_date) == (
        0, 10000)


def test_succeeded_webhook_completes_the_attempt_it_names_and_no_other(client, world, conn,
                                                                       stripe_gateway):
    first = pending_stripe_payment(world, stripe_gateway, None)
    second = pending_stripe_payment(world, stripe_gateway, None)
    assert webhook(client, "payment_intent.succeeded", succeeded("pi_second", second)) == \
        "completed"
    assert (reload(second).status, reload(second).gateway_reference) == ("completed",
                                                                         "pi_second")
    assert (reload(first).status, reload(first).gateway_reference) == ("pending", None)


def test_succeeded_webhook_goes_by_the_reference_we_kept(client, world, conn, stripe_gateway):
    """The intent's id decides; metadata only helps when we never stored one."""
    first = pending_stripe_payment(world, stripe_gateway, "pi_first")
    second = pending_stripe_payment(world, stripe_gateway, "pi_second")
    obj = succeeded("pi_second")
    obj["metadata"] = {"payment": "not-one-of-ours"}
    assert webhook(client, "payment_intent.succeeded", obj) == "completed"
    assert (reload(second).status, reload(first).status) == ("completed", "pending")


def test_succeeded_webhook_naming_an_attempt_charged_elsewhere_applies_nothing(
        client, world, conn, stripe_gateway):
    payment = pending_stripe_payment(world, stripe_gateway, "pi_real")
    before = snapshot()
    assert webhook(client, "payment_intent.succeeded", succeeded("pi_other", payment)) == \
        "unknown payment"
    assert snapshot() == before


def test_refund_webhook_without_an_amount_refunds_nothing(client, world, conn,
                                                          stripe_gateway):
    payment = pending_stripe_payment(world, stripe_gateway, "pi_kept")
    assert webhook(client, "payment_intent.succeeded", succeeded("pi_kept")) == "completed"
    before = snapshot()
    for obj in ({"id": "ch_kept", "payment_intent": "pi_kept"},
                {"id": "ch_kept", "payment_intent": "pi_kept", "amount_refunded": 0}):
        assert webhook(client, "charge.refunded", obj) == "refunded"
    assert snapshot() == before
    assert (reload(payment).status, reload(payment).refunded) == ("completed", 0)


def test_detached_webhook_forgets_only_that_card(client, world, conn, stripe_gateway):
    cards = [models.GatewayToken.create(client=world["a"], gateway=stripe_gateway,
                                        token=f"pm_card{i}", customer_reference="cus_a",
                                        brand="visa", last4=f"424{i}") for i in range(2)]
    assert webhook(client, "payment_method.detached", {"id": "pm_card1"}) == "detached"
    assert reload(cards[1]).deleted_at is not None
    assert reload(cards[0]).deleted_at is None
    assert webhook(client, "payment_method.detached", {"id": "pm_unknown"}) == "detached"
    assert reload(cards[0]).deleted_at is None


def test_a_webhook_without_its_signature_or_our_secret_is_no_event(client, world, conn,
                                                                   stripe_gateway):
    """No signature header, or no signing secret configured: refused before Stripe's check
    runs, with a 400 (not an error page), and nothing changes."""
    payment = pending_stripe_payment(world, stripe_gateway, "pi_unsigned")
    body = event("payment_intent.succeeded", {"id": "pi_unsigned", "amount": 10000,
                                              "currency": "usd", "metadata": {}})
    response = client.post("/webhooks/stripe", data=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    gateway = gateways.for_config(stripe_gateway)
    assert gateway.verify_event(body, "") is None
    assert gateway.verify_event(body, None) is None
    assert gateway.verify_event(body, signed(body)) is not None
    unsigned = json.loads(stripe_gateway.settings)
    del unsigned["webhook_secret"]
    models.GatewayConfig.update(settings=json.dumps(unsigned)).where(
        models.GatewayConfig.id == stripe_gateway.id).execute()
    assert post_event(client, body).status_code == 400
    without_secret = gateways.for_config(models.GatewayConfig.get_by_id(stripe_gateway.id))
    assert without_secret.verify_event(body, signed(body)) is None
    assert reload(payment).status == "pending"
