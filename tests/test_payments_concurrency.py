"""Simultaneous submissions and duplicated webhooks, on real threads and a real database."""
import json
import time

import models
from billing import allocation, checkout
from gateways.demo import DemoGateway
from tests import factories
from tests.core_support import opened, race
from tests.payments_support import event, make_gateway, signed


def run_together(app, count, work):
    """race(), where every thread must succeed: its results."""
    results = race(app, count, work)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    return results


def setup(app):
    with opened(app):
        client = factories.client()
        contact = factories.contact(client)
        invoice = factories.invoice(client)
        gateway = make_gateway("demo")
        token = models.GatewayToken.create(client=client, gateway=gateway, token="demo_ok_1",
                                           brand="visa", last4="4242")
    return client, contact, invoice, token


def test_same_key_submitted_twice_at_once_charges_and_records_once(app, monkeypatch):
    client, contact, invoice, token = setup(app)
    charges = []
    real_charge = DemoGateway.charge

    def slow_charge(self, *args, **kwargs):
        charges.append(1)
        time.sleep(0.3)  # hold the window open: the second request arrives mid-charge
        return real_charge(self, *args, **kwargs)

    monkeypatch.setattr(DemoGateway, "charge", slow_charge)
    key = "same-key-" + "x" * 20

    def submit(_):
        company = models.Company.current()
        fresh = models.GatewayToken.get_by_id(token.id)
        return checkout.pay(contact, [(invoice.public_id, None)], company,
                            idempotency_key=key, token=fresh).status

    statuses = run_together(app, 2, submit)
    assert sorted(statuses) == ["completed", "duplicate"]
    assert len(charges) == 1
    assert models.Payment.select().where(models.Payment.client == client.id).count() == 1
    assert models.Invoice.get_by_id(invoice.id).balance == 0
    assert models.Client.get_by_id(client.id).paid_to_date == 10000


def test_webhook_twice_and_browser_return_apply_the_payment_once(app, stripe_gateway):
    client, contact, invoice, _ = setup(app)
    with opened(app):
        plan = allocation.plan(client.id, [(invoice.public_id, None)], models.Company.current())
        payment = models.Payment.create(
            client=client, contact=contact, status="pending", date=models.utcnow().date(),
            currency="USD", amount=plan.charge, plan=plan.to_json(), gateway=stripe_gateway,
            gateway_reference="pi_race", idempotency_key="race-key-" + "y" * 20)
    body = event("payment_intent.succeeded", {"id": "pi_race", "object": "payment_intent",
                                              "amount": 10000, "currency": "usd",
                                              "metadata": {"payment": payment.public_id}})

    def work(i):
        if i == 0:  # the browser's return
            return checkout.finalize(payment.id).status
        response = app.test_client().post("/webhooks/stripe", data=body,
                                          headers={"Stripe-Signature": signed(body),
                                                   "Content-Type": "application/json"})
        return json.loads(response.data)["result"]

    results = run_together(app, 3, work)
    assert results[0] == "completed" and results[1:] == ["completed", "completed"]
    allocations = models.PaymentAllocation.select().where(
        models.PaymentAllocation.payment == payment.id)
    assert [a.amount for a in allocations] == [10000]
    assert models.Invoice.get_by_id(invoice.id).balance == 0
    assert models.Client.get_by_id(client.id).paid_to_date == 10000
    assert not models.Credit.select().where(models.Credit.client == client.id).exists()
