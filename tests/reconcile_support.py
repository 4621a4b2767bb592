"""Payment attempts left as a killed process leaves them, and run-due settling them
(billing.reconcile): the crash, the demo and Stripe charges it left, and run-due's counts."""
import pytest
import requests

import models
from billing import checkout, reconcile
from gateways.base import SavedMethod
from tests import factories
from tests.payments_support import (
    reload,
    run_due,
    stripe_card,
)


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


def demo_charges(key):
    return list(models.DemoCharge.select().where(models.DemoCharge.idempotency_key == key))


DEMO_CARD = SavedMethod(token="demo_ok_crash", brand="visa", last4="4242")


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


def run_due_line(app):
    """run-due's line about pending payments."""
    [line] = [line for line in run_due(app).splitlines() if line.startswith("pending payments")]
    return line


def settled(completed=0, failed=0, waiting=0, mismatch=0):
    return (f"pending payments: {completed} completed, {failed} failed, {waiting} still "
            f"processing, {mismatch} for staff to check")


def settle_pending(app, **kwargs):
    """reconcile.settle_pending() as run-due calls it, at a chosen moment: its counts."""
    with app.app_context():
        return reconcile.settle_pending(**kwargs)


def three_d_secure(contact, invoice, gateway, key):
    """A charge left waiting for the customer's bank (3-D Secure), as the browser left it."""
    _, card = stripe_card(gateway.settings["api_base"], "4000002500003155")
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key=key, gateway=gateway, new_method=card)
    assert outcome.status == "requires_action"
    return reload(outcome.payment), outcome.client_secret


def authenticate(base, reference, client_secret, success=True):
    """What the customer does at their bank: pass (or fail) 3-D Secure."""
    response = requests.post(f"{base}/v1/payment_intents/{reference}/_authenticate",
                             json={"key": "pk_test_portal", "client_secret": client_secret,
                                   "success": success}, timeout=10)
    assert response.status_code == 200, response.text
