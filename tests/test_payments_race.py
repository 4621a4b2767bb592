"""Racing payments on one invoice never take more than its balance (issue 9, §2).

Each racer is a separate form (its own idempotency key), as two contacts or two tabs are:
the idempotency key cannot help here, only the reservation the claim makes can. Real
threads, a real database (SQLite, or PostgreSQL under PORTAL_TEST_DATABASE_URL) and the demo
gateway, slowed down the way a network slows a real one so the racers overlap.
"""
import re
import time

import pytest

import gateways
import models
from billing import DomainError, checkout
from gateways.demo import DemoGateway
from tests import factories
from tests.conftest import CSRF_RE, Auth
from tests.core_support import opened, race
from tests.payments_support import KEY_RE, make_gateway, reload, review

RACERS = 30
REFUSAL = re.compile(r"being processed|already paid|balance of")


class SlowDemoGateway(DemoGateway):
    """The demo gateway with a payment service's latency: the window a race needs."""

    def charge(self, *args, **kwargs):
        time.sleep(0.05)
        return super().charge(*args, **kwargs)


@pytest.fixture
def slow_demo(monkeypatch):
    monkeypatch.setitem(gateways.REGISTRY, "demo", SlowDemoGateway)


def world(app, **company):
    with opened(app):
        factories.company(**company)
        client = factories.client()
        contact = factories.contact(client)
        invoice = factories.invoice(client)  # 100.00, sent
        config = make_gateway("demo")
        token = models.GatewayToken.create(client=client, gateway=config, token="demo_ok_race",
                                           brand="visa", last4="4242")
    return client, contact, invoice, token


def service_race(app, contact, invoice, token, amount, count):
    def submit(i):
        return checkout.pay(models.Contact.get_by_id(contact.id),
                            [(invoice.public_id, amount)], models.Company.current(),
                            idempotency_key=f"race-{i:02d}-{'k' * 24}",
                            token=models.GatewayToken.get_by_id(token.id)).status
    return race(app, count, submit)


def charged_at_gateway(client):
    """What the demo gateway took for this client's attempts (its own books, not ours)."""
    keys = [p.idempotency_key for p in models.Payment.for_client(client.id)]
    return sum(c.amount for c in models.DemoCharge.select().where(
        models.DemoCharge.idempotency_key.in_(keys or [""])))


def tally(results):
    """How many racers completed, and the refusals the others got."""
    return (sum(r == "completed" for r in results),
            [r for r in results if isinstance(r, Exception)])


def assert_refusals(refusals, invoice):
    for exc in refusals:
        # A refusal, not a decline: nothing reached the gateway for these.
        assert type(exc) is DomainError, repr(exc)
        assert invoice.number in exc.message and REFUSAL.search(exc.message), exc.message


def assert_books(app, client, invoice, taken):
    with opened(app):
        P = models.Payment
        completed = P.for_client(client.id).where(P.status == "completed")
        assert sum(p.amount for p in completed) == taken
        assert charged_at_gateway(client) == taken
        assert not P.for_client(client.id).where(P.status == "pending").exists()
        assert reload(invoice).balance == 10000 - taken
        assert reload(client).paid_to_date == taken
        # Over-payment is off: no surplus may turn into credit.
        assert not models.Credit.select().where(models.Credit.client == client.id).exists()


def test_thirty_racing_full_payments_charge_the_balance_once(app, slow_demo):
    client, contact, invoice, token = world(app)
    results = service_race(app, contact, invoice, token, None, RACERS)
    done, refused = tally(results)
    assert (done, len(refused)) == (1, RACERS - 1), results
    assert_refusals(refused, invoice)
    assert_books(app, client, invoice, 10000)


def test_ten_racing_partial_payments_take_at_most_the_balance(app, slow_demo):
    client, contact, invoice, token = world(app, allow_partial_payments=True)
    results = service_race(app, contact, invoice, token, "30.00", 10)
    done, refused = tally(results)
    assert (done, len(refused)) == (3, 7), results
    assert_refusals(refused, invoice)
    assert_books(app, client, invoice, 9000)


def test_with_over_payment_allowed_only_the_first_surplus_becomes_credit(app, slow_demo):
    client, contact, invoice, token = world(app, allow_over_payment=True)
    results = service_race(app, contact, invoice, token, "150.00", 10)
    done, refused = tally(results)
    assert (done, len(refused)) == (1, 9), results
    assert_refusals(refused, invoice)
    with opened(app):
        assert charged_at_gateway(client) == 15000
        assert reload(invoice).balance == 0
        # The one over-payment the person asked for, kept as credit; no other surplus.
        credits = models.Credit.select().where(models.Credit.client == client.id)
        assert [c.balance for c in credits] == [5000]


def test_thirty_racing_forms_through_the_portal(app, slow_demo):
    client, contact, invoice, token = world(app)
    forms = []
    for _ in range(RACERS):  # thirty tabs, each with its own form and key
        browser = app.test_client()
        Auth(browser).login(contact.email)
        html = review(browser, [invoice]).get_data(as_text=True)
        forms.append((browser, {"csrf_token": CSRF_RE.search(html).group(1), "step": "pay",
                                "key": KEY_RE.search(html).group(1),
                                "invoices": invoice.public_id,
                                "method": f"token:{token.public_id}"}))
    assert len({data["key"] for _, data in forms}) == RACERS

    def submit(i):
        browser, data = forms[i]
        response = browser.post("/client/invoices/payment", data=data)
        return response.status_code, response.get_data(as_text=True)

    results = race(app, RACERS, submit)
    assert not [r for r in results if isinstance(r, Exception)], results
    codes = sorted(code for code, _ in results)
    assert codes == [303] + [422] * (RACERS - 1), codes
    for code, html in results:
        if code == 422:
            assert REFUSAL.search(html), html
    assert_books(app, client, invoice, 10000)
