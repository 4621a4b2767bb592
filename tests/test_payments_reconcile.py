"""A crash between the charge and the bookkeeping, settled by `portal run-due` (issue 9, §3).

The crash is a BaseException raised inside the gateway call, the way kill -9 stops a
process: after the gateway took the money (or before it was asked) and before any of our
bookkeeping ran. Nothing catches it, so the attempt is left exactly as a killed process
leaves it: pending, with no gateway reference. run-due then asks the gateway, by the
attempt's idempotency key or metadata, how it ended.
"""
import datetime as dt
import threading

import pytest
import requests
import stripe

import models
import portal
from billing import DomainError, checkout, reconcile
from gateways.base import SavedMethod
from gateways.demo import DemoGateway
from gateways.stripe_gateway import StripeGateway
from tests import factories
from tests.conftest import Auth
from tests.payments_support import make_gateway, reload, review


class Killed(BaseException):
    """The process died here. A BaseException, so no `except Exception` tidies up."""


def dies_after_charge(gateway_class):
    class DiesAfterCharge(gateway_class):
        def charge(self, *args, **kwargs):
            super().charge(*args, **kwargs)
            raise Killed()
    return DiesAfterCharge


def dies_before_charge(gateway_class):
    class DiesBeforeCharge(gateway_class):
        def charge(self, *args, **kwargs):
            raise Killed()
    return DiesBeforeCharge


def setup_client(conn):
    client = factories.client()
    contact = factories.contact(client)
    return client, contact, factories.invoice(client)  # 100.00, sent


def crash(contact, invoice, gateway, method, key):
    with pytest.raises(Killed):
        checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                     idempotency_key=key, gateway=gateway, new_method=method)
    payment = models.Payment.get(models.Payment.idempotency_key == key)
    assert (payment.status, payment.gateway_reference) == ("pending", None)
    assert reload(invoice).balance == 10000
    return payment


def minutes_pass(payment, minutes=10):
    """The grace period run-due leaves a request that may still be talking to the gateway."""
    models.Payment.update(created_at=models.utcnow() - dt.timedelta(minutes=minutes)).where(
        models.Payment.id == payment.id).execute()


def run_due(app):
    result = app.test_cli_runner().invoke(portal.cli, ["run-due"])
    assert result.exit_code == 0, result.output
    return result.output


def demo_charges(key):
    return list(models.DemoCharge.select().where(models.DemoCharge.idempotency_key == key))


DEMO_CARD = SavedMethod(token="demo_ok_crash", brand="visa", last4="4242")


def test_demo_charge_then_crash_is_completed_by_run_due(app, conn):
    client, contact, invoice = setup_client(conn)
    config = make_gateway("demo")
    key = "crash-demo-" + "a" * 24
    payment = crash(contact, invoice, dies_after_charge(DemoGateway)(config), DEMO_CARD, key)
    assert len(demo_charges(key)) == 1  # the money was taken
    # Meanwhile another form cannot charge the card again, and the payment screen says why.
    with pytest.raises(DomainError, match="being processed"):
        checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                     idempotency_key="second-form-" + "b" * 24,
                     gateway=DemoGateway(config), new_method=DEMO_CARD)
    browser = app.test_client()
    Auth(browser).login(contact.email)
    page = review(browser, [invoice]).get_data(as_text=True)
    assert "is being processed" in page and "nothing more to pay" in page
    assert f'name="invoices" value="{invoice.public_id}"' not in page  # no second charge
    # Within the grace period run-due leaves it alone: the request may still be running.
    assert "pending payments: 0 completed" in run_due(app)
    assert reload(payment).status == "pending"
    minutes_pass(payment)
    assert "pending payments: 1 completed, 0 failed" in run_due(app)
    payment, charge = reload(payment), demo_charges(key)[0]
    assert (payment.status, payment.gateway_reference) == ("completed", charge.reference)
    assert payment.number.startswith("PAY-")
    assert (reload(invoice).status, reload(invoice).balance) == ("paid", 0)
    assert reload(client).paid_to_date == 10000
    assert models.DemoCharge.select().count() == 1  # exactly one charge, ever
    assert "pending payments: 0 completed, 0 failed" in run_due(app)  # nothing left to do
    assert [a.amount for a in payment.allocations] == [10000]


def test_demo_crash_before_the_charge_fails_the_attempt_and_frees_the_invoice(app, conn):
    client, contact, invoice = setup_client(conn)
    config = make_gateway("demo")
    key = "crash-early-" + "c" * 24
    payment = crash(contact, invoice, dies_before_charge(DemoGateway)(config), DEMO_CARD, key)
    assert demo_charges(key) == []
    minutes_pass(payment)
    assert "pending payments: 0 completed, 1 failed" in run_due(app)
    payment = reload(payment)
    assert payment.status == "failed" and "nothing was taken" in payment.failure_message
    assert reload(invoice).balance == 10000
    # The reservation is released: the invoice can be paid again, and is charged once.
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key="pay-again-" + "d" * 24,
                           gateway=DemoGateway(config), new_method=DEMO_CARD)
    assert outcome.status == "completed"
    assert (reload(invoice).status, reload(client).paid_to_date) == ("paid", 10000)
    assert models.DemoCharge.select().count() == 1


def test_two_run_due_at_once_complete_each_crashed_payment_once(app, conn):
    client, contact, _ = setup_client(conn)
    config = make_gateway("demo")
    invoices = [factories.invoice(client) for _ in range(4)]
    payments = [crash(contact, inv, dies_after_charge(DemoGateway)(config), DEMO_CARD,
                      f"crash-many-{i}-" + "e" * 24) for i, inv in enumerate(invoices)]
    for payment in payments:
        minutes_pass(payment)
    models.db.close()
    barrier = threading.Barrier(2, timeout=30)
    errors = []

    def tick():
        with app.app_context():
            models.db.connect(reuse_if_open=True)
            try:
                barrier.wait()
                reconcile.settle_pending()
            except Exception as exc:  # noqa: BLE001  (asserted below)
                errors.append(exc)
            finally:
                models.db.close()

    threads = [threading.Thread(target=tick, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), "a run-due never finished"
    assert errors == []
    for payment, invoice in zip(payments, invoices, strict=True):
        assert reload(payment).status == "completed"
        assert [a.amount for a in reload(payment).allocations] == [10000]
        assert reload(invoice).balance == 0
    assert reload(client).paid_to_date == 40000
    assert len({reload(p).number for p in payments}) == 4
    assert not models.Credit.select().exists()


# -- Stripe, against localstripe ---------------------------------------------------------

def stripe_card(base, number="4242424242424242"):
    """A customer with a card at (local)Stripe, as a saved card would be."""
    api = stripe.StripeClient("sk_test_portal", base_addresses={"api": base}).v1
    customer = api.customers.create(params={"name": "Crash Test"})
    pm = api.payment_methods.create(params={"type": "card", "card": {
        "number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}})
    api.payment_methods.attach(pm.id, params={"customer": customer.id})
    return api, SavedMethod(token=pm.id, customer_reference=customer.id, brand="visa",
                            last4=number[-4:])


def intents_for(api, payment):
    """Every PaymentIntent localstripe holds for this payment (by our metadata)."""
    found, params = [], {"limit": 100}
    while True:
        page = api.payment_intents.list(params=params)
        found += [i for i in page.data if i.metadata.to_dict().get("payment")
                  == payment.public_id]
        if not page.has_more:
            return found
        params["starting_after"] = page.data[-1].id


def test_stripe_charge_then_crash_is_completed_by_run_due(app, conn, localstripe,
                                                          stripe_gateway):
    client, contact, invoice = setup_client(conn)
    api, card = stripe_card(localstripe)
    key = "crash-stripe-" + "f" * 24
    payment = crash(contact, invoice, dies_after_charge(StripeGateway)(stripe_gateway), card,
                    key)
    [intent] = intents_for(api, payment)
    assert (intent.status, intent.amount) == ("succeeded", 10000)
    minutes_pass(payment)
    assert "pending payments: 1 completed, 0 failed" in run_due(app)
    payment = reload(payment)
    assert (payment.status, payment.gateway_reference) == ("completed", intent.id)
    assert (reload(invoice).status, reload(client).paid_to_date) == ("paid", 10000)
    assert len(intents_for(api, payment)) == 1  # reconciling charged nothing more


def test_stripe_crash_before_the_charge_fails_the_attempt(app, conn, localstripe,
                                                          stripe_gateway):
    client, contact, invoice = setup_client(conn)
    api, card = stripe_card(localstripe)
    key = "crash-stripe-early-" + "g" * 20
    payment = crash(contact, invoice, dies_before_charge(StripeGateway)(stripe_gateway), card,
                    key)
    minutes_pass(payment)
    assert "pending payments: 0 completed, 1 failed" in run_due(app)
    assert reload(payment).status == "failed"
    assert intents_for(api, payment) == []
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key="stripe-again-" + "h" * 24,
                           gateway=StripeGateway(stripe_gateway), new_method=card)
    assert outcome.status == "completed" and reload(invoice).status == "paid"


def test_stripe_3ds_finished_but_never_reported_is_completed_by_reference(
        app, conn, localstripe, stripe_gateway):
    """The customer passed 3-D Secure, then the browser never came back and no webhook
    arrived: run-due reads the PaymentIntent by the reference we stored."""
    client, contact, invoice = setup_client(conn)
    api, card = stripe_card(localstripe, "4000002500003155")
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key="stripe-3ds-" + "i" * 24,
                           gateway=StripeGateway(stripe_gateway), new_method=card)
    assert outcome.status == "requires_action"
    payment = reload(outcome.payment)
    minutes_pass(payment)
    assert "1 still processing" in run_due(app)  # still waiting for the customer's bank
    assert reload(payment).status == "pending"
    response = requests.post(
        f"{localstripe}/v1/payment_intents/{payment.gateway_reference}/_authenticate",
        json={"key": "pk_test_portal", "client_secret": outcome.client_secret,
              "success": True}, timeout=10)
    assert response.status_code == 200, response.text
    assert "pending payments: 1 completed" in run_due(app)
    assert reload(payment).status == "completed" and reload(invoice).status == "paid"
    assert reload(client).paid_to_date == 10000


def test_stripe_3ds_abandoned_for_an_hour_is_cancelled_and_frees_the_invoice(
        app, conn, localstripe, stripe_gateway):
    client, contact, invoice = setup_client(conn)
    api, card = stripe_card(localstripe, "4000002500003155")
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key="stripe-3ds-gone-" + "j" * 24,
                           gateway=StripeGateway(stripe_gateway), new_method=card)
    assert outcome.status == "requires_action"
    payment = reload(outcome.payment)
    minutes_pass(payment, 30)
    assert "1 still processing" in run_due(app)  # the customer may still be at their bank
    minutes_pass(payment, 61)
    assert "pending payments: 0 completed, 1 failed" in run_due(app)
    assert reload(payment).status == "failed"
    assert api.payment_intents.retrieve(payment.gateway_reference).status == "canceled"
    # The cancelled intent can no longer take the money; the invoice is open to pay again.
    response = requests.post(
        f"{localstripe}/v1/payment_intents/{payment.gateway_reference}/_authenticate",
        json={"key": "pk_test_portal", "client_secret": outcome.client_secret,
              "success": True}, timeout=10)
    assert response.status_code == 400
    _, card = stripe_card(localstripe)
    again = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                         idempotency_key="stripe-3ds-again-" + "k" * 24,
                         gateway=StripeGateway(stripe_gateway), new_method=card)
    assert again.status == "completed" and reload(invoice).status == "paid"
    assert reload(client).paid_to_date == 10000
