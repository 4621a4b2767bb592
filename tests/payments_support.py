"""Fixtures for payment tests: gateways (demo, manual, Stripe on localstripe) and helpers."""
import datetime as dt
import json
import os
import re
import select
import subprocess
import sys
import time
import urllib.request

import pytest
import requests
import stripe

import models
import portal
from billing import checkout, payment_methods
from gateways.base import SavedMethod
from gateways.stripe_gateway import StripeGateway
from tests import factories
from tests.conftest import CSRF_RE, csrf_token
from tests.core_support import fail_server, opened, wait_for_server

HERE = os.path.dirname(__file__)


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    """A real localstripe server on loopback, one for the whole session (registered through
    conftest's pytest_plugins); yields its base URL. Tests share its store: each finds its
    own objects by the ids and metadata it made, never by counting everything there.
    A server that does not answer within a minute fails the test with its output."""
    yield from serve_localstripe(tmp_path_factory)


def serve_localstripe(tmp_path_factory):
    """Start a localstripe of its own, yield its base URL, stop it: for a test that needs to
    know everything in the store (the shared one holds every earlier test's objects)."""
    log_path = tmp_path_factory.mktemp("localstripe") / "output.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "localstripe_server.py")],
                                stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline().strip() if ready else ""
        if not line.isdigit():
            fail_server("localstripe", proc, log_path, f"printed no port ({line!r})")
        base = f"http://127.0.0.1:{line}"
        wait_for_server("localstripe", lambda: urllib.request.urlopen(
            base + "/js.stripe.com/v3/", timeout=5).read(), proc, log_path)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def make_gateway(kind, token_mode="optin", **settings):
    return models.GatewayConfig.create(kind=kind, settings=json.dumps(settings),
                                       token_mode=token_mode, is_enabled=True)


@pytest.fixture
def demo_gateway(app):
    with opened(app):
        config = make_gateway("demo")
    return config


WEBHOOK_SECRET = "whsec_test_portal"


@pytest.fixture
def stripe_gateway(app, localstripe):
    with opened(app):
        config = make_gateway("stripe", publishable_key="pk_test_portal",
                              secret_key="sk_test_portal", webhook_secret=WEBHOOK_SECRET,
                              api_base=localstripe, js_url=localstripe + "/js.stripe.com/v3/")
    return config


def signed(payload, secret=WEBHOOK_SECRET, timestamp=None):
    """A Stripe-Signature header for payload, computed as Stripe documents it."""
    import hashlib
    import hmac
    timestamp = timestamp or int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def event(kind, obj):
    return json.dumps({"id": "evt_" + str(time.time_ns()), "object": "event", "type": kind,
                       "data": {"object": obj}, "created": int(time.time())})


KEY_RE = re.compile(r'name="key" value="([^"]+)"')


def review(client, invoices, **extra):
    """POST the invoices list's "Pay selected"; returns the checkout page response."""
    from tests.conftest import csrf_token
    token = csrf_token(client, "/client/invoices")
    data = {"csrf_token": token, "invoices": [i.public_id for i in invoices], **extra}
    return client.post("/client/invoices/payment", data=data)


def pay(client, invoices, method, key=None, amounts=None, **extra):
    """Submit the checkout form as a person would after review."""
    page = review(client, invoices)
    html = page.get_data(as_text=True)
    key = key or KEY_RE.search(html).group(1)
    data = {"csrf_token": CSRF_RE.search(html).group(1), "step": "pay", "key": key,
            "invoices": [i.public_id for i in invoices], "method": method, **extra}
    for inv, amount in (amounts or {}).items():
        data[f"amount_{inv.public_id}"] = amount
    return client.post("/client/invoices/payment", data=data)


def reload(record):
    return type(record).get_by_id(record.id)


def seed_company(**kw):
    return factories.company(**kw)


@pytest.fixture
def conn(app):
    """The database, for tests that also drive the test client.

    No app or request context is held open: the client's requests would share its `g`
    (logged-in user, CSRF token) and stop behaving like separate requests. Peewee
    reconnects on its own for queries between requests.
    """
    yield models.db
    if not models.db.is_closed():
        models.db.close()


def save_card(client, gateway, number="4242424242424242", **extra):
    """Add a card on the Payment Methods tab, as a contact does (extra: more form fields,
    such as staff_consent when staff act as the contact)."""
    token = csrf_token(client, "/client/payment_methods/create")
    return client.post("/client/payment_methods/create", data={
        "csrf_token": token, "gateway": gateway.id, "card_number": number, "exp_month": "12",
        "exp_year": "2035", "cvc": "123", **extra})


# -- helpers of the reconcile, pre-payment and subscription tests --------------------------

def minutes_pass(payment, minutes=10):
    """The grace period run-due leaves a request that may still be talking to the gateway."""
    models.Payment.update(created_at=models.utcnow() - dt.timedelta(minutes=minutes)).where(
        models.Payment.id == payment.id).execute()


def run_due(app):
    result = app.test_cli_runner().invoke(portal.cli, ["run-due"])
    assert result.exit_code == 0, result.output
    return result.output


def stripe_card(base, number="4242424242424242"):
    """A customer with a card at (local)Stripe, as a saved card would be."""
    api = stripe.StripeClient("sk_test_portal", base_addresses={"api": base}).v1
    customer = api.customers.create(params={"name": "Crash Test"})
    pm = api.payment_methods.create(params={"type": "card", "card": {
        "number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}})
    api.payment_methods.attach(pm.id, params={"customer": customer.id})
    return api, SavedMethod(token=pm.id, customer_reference=customer.id, brand="visa",
                            last4=number[-4:])


def started_3ds(conn, localstripe, stripe_gateway, key):
    """A client paying an invoice with a card whose bank asks for 3-D Secure: the attempt is
    left waiting for the customer (requires_action)."""
    client = factories.client()
    contact = factories.contact(client)
    invoice = factories.invoice(client)  # 100.00, sent
    api, card = stripe_card(localstripe, "4000002500003155")
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key=key, gateway=StripeGateway(stripe_gateway),
                           new_method=card)
    assert outcome.status == "requires_action"
    return api, client, contact, invoice, outcome


# -- Stripe's card capture as the browser does it, and saved demo cards ----------------------

SECRET_RE = re.compile(r'data-client-secret="([^"]+)"')


def confirm_in_browser(base, client_secret, number="4242424242424242"):
    """What Stripe.js does with the card: straight to Stripe (here localstripe), not to us."""
    seti = client_secret.split("_secret_")[0]
    response = requests.post(f"{base}/v1/setup_intents/{seti}/confirm", json={
        "key": "pk_test_portal", "use_stripe_sdk": True, "client_secret": client_secret,
        "payment_method_data": {"type": "card", "card": {
            "number": number, "exp_month": "12", "exp_year": "2031", "cvc": "123"}}},
        timeout=10)
    return seti, response


def add_card(client, base, gateway, number="4242424242424242"):
    page = client.get("/client/payment_methods/create")
    html = page.get_data(as_text=True)
    seti, confirmed = confirm_in_browser(base, SECRET_RE.search(html).group(1), number)
    return page, confirmed, client.post("/client/payment_methods/create", data={
        "csrf_token": CSRF_RE.search(html).group(1), "gateway": gateway.id,
        "setup_intent": seti})


def stripe_api(base):
    return stripe.StripeClient("sk_test_portal", base_addresses={"api": base})


def demo_card(client, gateway, outcome="ok", last4="4242"):
    """A saved demo card: "ok" charges, "chargedeclined" is declined at every charge."""
    return payment_methods.store(client.id, gateway.id, SavedMethod(
        token=f"demo_{outcome}_{next(factories._seq)}", customer_reference="demo",
        brand="visa", last4=last4, exp_month=12, exp_year=2035))


def typed_card(number):
    """A card as typed on the demo gateway's capture page (demo.TEST_CARDS decides its fate)."""
    return payment_methods.CardEntry(number=number, exp_month="12", exp_year="2099", cvc="123")


def failed_attempt():
    """A card payment of a 100.00 invoice the gateway declined: a failed row, no money."""
    factories.company()
    contact = factories.contact()
    client, invoice = contact.client, factories.invoice(contact.client)
    gateway = checkout.gateway_settings.get(make_gateway("demo").id)
    # Saved by the demo gateway, then declined at every charge.
    card = payment_methods.captured(client, gateway, typed_card("4000 0000 0000 0341"))
    with pytest.raises(checkout.PaymentFailed):
        checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                     idempotency_key="late-success-key-000000001", gateway=gateway,
                     new_method=card)
    payment = models.Payment.get(models.Payment.client == client)
    assert (payment.status, reload(invoice).balance) == ("failed", 10000)
    return client, invoice, payment
