"""A crash between the charge and the bookkeeping, settled by `portal run-due` (issue 9, §3).

The crash is a BaseException raised inside the gateway call, the way kill -9 stops a
process: after the gateway took the money (or before it was asked) and before any of our
bookkeeping ran. Nothing catches it, so the attempt is left exactly as a killed process
leaves it: pending, with no gateway reference. run-due then asks the gateway, by the
attempt's idempotency key or metadata, how it ended. run-due over time (grace periods,
withdrawals, gateways that do not answer) is tests/test_payments_settle.py.
"""
import threading

import pytest
import requests

import models
from billing import DomainError, checkout, reconcile
from gateways.demo import DemoGateway
from gateways.stripe_gateway import StripeGateway
from tests import factories
from tests.conftest import Auth
from tests.payments_support import (
    make_gateway,
    minutes_pass,
    reload,
    review,
    run_due,
    started_3ds,
    stripe_card,
)
from tests.reconcile_support import (
    DEMO_CARD,
    crash,
    demo_charges,
    dies_after_charge,
    dies_before_charge,
    intents_for,
    setup_client,
)


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
    api, client, contact, invoice, outcome = started_3ds(conn, localstripe, stripe_gateway,
                                                         "stripe-3ds-" + "i" * 24)
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


def test_stripe_3ds_failed_at_the_bank_says_stripes_reason(app, conn, localstripe,
                                                            stripe_gateway):
    """The customer fails 3-D Secure and comes back: the page says why, in Stripe's words
    (its last_payment_error), not only that the card was declined."""
    api, client, contact, invoice, outcome = started_3ds(conn, localstripe, stripe_gateway,
                                                         "stripe-3ds-failed-" + "m" * 24)
    payment = reload(outcome.payment)
    response = requests.post(
        f"{localstripe}/v1/payment_intents/{payment.gateway_reference}/_authenticate",
        json={"key": "pk_test_portal", "client_secret": outcome.client_secret,
              "success": False}, timeout=10)
    assert response.status_code == 200, response.text
    with pytest.raises(checkout.PaymentFailed) as refused:
        checkout.complete_action(contact, payment.public_id)
    assert refused.value.message == "The provided PaymentMethod has failed authentication."
    assert reload(payment).status == "failed" and reload(invoice).balance == 10000

def test_stripe_3ds_abandoned_for_an_hour_is_cancelled_and_frees_the_invoice(
        app, conn, localstripe, stripe_gateway):
    api, client, contact, invoice, outcome = started_3ds(conn, localstripe, stripe_gateway,
                                                         "stripe-3ds-gone-" + "j" * 24)
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
