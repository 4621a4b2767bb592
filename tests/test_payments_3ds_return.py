"""Coming back from 3-D Secure (checkout.complete_action, the payment screen's return): the
charge is read from Stripe (localstripe) and applied once, whatever the order of returns."""
import json

import pytest
import requests

import models
from billing import DomainError, checkout
from tests import factories
from tests.core_support import snapshot
from tests.payments_support import reload, started_3ds


def authenticate(localstripe, outcome, success=True):
    reference = reload(outcome.payment).gateway_reference
    response = requests.post(
        f"{localstripe}/v1/payment_intents/{reference}/_authenticate",
        json={"key": "pk_test_portal", "client_secret": outcome.client_secret,
              "success": success}, timeout=10)
    assert response.status_code == 200, response.text


def refused_with(contact, public_id):
    with pytest.raises(DomainError) as refused:
        checkout.complete_action(contact, public_id)
    return str(refused.value)


def test_the_return_after_3ds_applies_the_payment_and_a_second_return_changes_nothing(
        app, conn, localstripe, stripe_gateway):
    _api, client, contact, invoice, started = started_3ds(conn, localstripe, stripe_gateway,
                                                          "return-3ds-" + "a" * 24)
    authenticate(localstripe, started)
    outcome = checkout.complete_action(contact, started.payment.public_id)
    assert (outcome.status, outcome.payment.id) == ("completed", started.payment.id)
    assert (outcome.payment.status, reload(invoice).status) == ("completed", "paid")
    assert reload(client).paid_to_date == 10000
    before = snapshot()
    again = checkout.complete_action(contact, started.payment.public_id)  # back button
    assert (again.status, again.payment.id) == ("duplicate", started.payment.id)
    assert snapshot() == before


def test_a_return_before_the_bank_answered_is_processing_and_applies_nothing(
        app, conn, localstripe, stripe_gateway):
    _api, client, contact, invoice, started = started_3ds(conn, localstripe, stripe_gateway,
                                                          "return-3ds-" + "b" * 24)
    before = snapshot()
    outcome = checkout.complete_action(contact, started.payment.public_id)
    assert (outcome.status, outcome.payment.id) == ("processing", started.payment.id)
    assert snapshot() == before
    assert (reload(started.payment).status, reload(invoice).balance) == ("pending", 10000)


def test_another_clients_or_an_unknown_payment_is_not_found(app, conn, localstripe,
                                                            stripe_gateway):
    _api, _client, contact, _invoice, started = started_3ds(
        conn, localstripe, stripe_gateway, "return-3ds-" + "c" * 24)
    stranger = factories.contact(factories.client())
    not_found = "That payment could not be found."
    assert refused_with(stranger, started.payment.public_id) == not_found
    assert refused_with(contact, "no-such-payment") == not_found
    offline = models.Payment.create(client=contact.client, number="PAY-OFF-1", status="pending",
                                    date=models.utcnow().date(), currency="USD", amount=100,
                                    method="bank_transfer")  # nothing at a gateway to ask
    assert refused_with(contact, offline.public_id) == not_found


def test_a_gateway_switched_off_meanwhile_leaves_the_payment_waiting(app, conn, localstripe,
                                                                     stripe_gateway):
    _api, _client, contact, invoice, started = started_3ds(conn, localstripe, stripe_gateway,
                                                           "return-3ds-" + "d" * 24)
    authenticate(localstripe, started)
    models.GatewayConfig.update(is_enabled=False).where(
        models.GatewayConfig.id == stripe_gateway.id).execute()
    before = snapshot()
    assert refused_with(contact, started.payment.public_id) == (
        "That payment method is no longer available.")
    assert snapshot() == before  # run-due or the webhook settles it later


def test_stripe_out_of_reach_is_a_retryable_failure_that_keeps_the_payment(
        app, conn, localstripe, stripe_gateway):
    _api, _client, contact, invoice, started = started_3ds(conn, localstripe, stripe_gateway,
                                                           "return-3ds-" + "e" * 24)
    settings = json.loads(stripe_gateway.settings)
    models.GatewayConfig.update(settings=json.dumps({**settings, "api_base": "http://127.0.0.1:9"})
                                ).where(models.GatewayConfig.id == stripe_gateway.id).execute()
    before = snapshot()
    with pytest.raises(checkout.PaymentFailed) as failed:
        checkout.complete_action(contact, started.payment.public_id)
    assert failed.value.retryable is True
    assert snapshot() == before
    assert (reload(started.payment).status, reload(invoice).balance) == ("pending", 10000)
