"""Card-testing and link-guessing protection: the pay, add-card and e-mailed-link endpoints
are rate limited per client IP; request N+1 in the minute is refused, and refused alike
whatever it carries."""
import limits.storage.memory
import pytest

import extensions
import models
from tests import factories
from tests.conftest import Auth, csrf_token, make_app
from tests.core_support import opened
from tests.payments_support import make_gateway


class FrozenClock:
    """The in-memory limiter storage's clock, held still: a slow machine cannot let the
    minute pass (and the budget refill) halfway through a test."""

    def __init__(self, now):
        self.now = now

    def time(self):
        return self.now


@pytest.fixture
def limited(tmp_path, monkeypatch):
    """An app like every other test's (make_app: its own database, SQLite or PostgreSQL, and
    folders under tmp_path) with the rate limits on, and a contact logged in."""
    import time
    monkeypatch.setattr(limits.storage.memory, "time", FrozenClock(time.time()))
    app = make_app(tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    with opened(app):
        extensions.limiter.reset()
        factories.contact(factories.client(), email="limit@test.example")
        make_gateway("demo")
    yield app
    with app.app_context():
        extensions.limiter.reset()


def logged_in(app):
    client = app.test_client()
    assert Auth(client).login("limit@test.example").status_code == 302
    return client


def test_pay_endpoint_is_rate_limited(limited):
    client = logged_in(limited)
    token = csrf_token(client, "/client/invoices")
    codes = [client.post("/client/invoices/payment", data={"csrf_token": token}).status_code
             for _ in range(31)]
    assert codes[:30] == [422] * 30 and codes[30] == 429


def test_add_card_is_rate_limited(limited):
    client = logged_in(limited)
    with opened(limited):
        gateway = models.GatewayConfig.get(models.GatewayConfig.kind == "demo")
    token = csrf_token(client, "/client/payment_methods/create")
    form = {"csrf_token": token, "gateway": gateway.id, "card_number": "1234567812345678",
            "exp_month": "12", "exp_year": "2035", "cvc": "123"}
    codes = [client.post("/client/payment_methods/create", data=form).status_code
             for _ in range(21)]
    assert codes[:20] == [422] * 20 and codes[20] == 429
    good = {**form, "card_number": "4242424242424242"}  # even a good card, once refused
    assert client.post("/client/payment_methods/create", data=good).status_code == 429
    with opened(limited):
        assert not models.GatewayToken.select().exists()
    assert client.get("/client/payment_methods/create").status_code == 200  # GET is free


@pytest.mark.parametrize("kind", ["invoice", "quote", "credit"])
def test_guessing_e_mailed_links_is_rate_limited(limited, kind):
    client = limited.test_client()
    codes = [client.get(f"/client/{kind}/guess-{n:040d}").status_code for n in range(21)]
    assert codes[:20] == [404] * 20 and codes[20] == 429
    with opened(limited):
        contact = models.Contact.get(models.Contact.email == "limit@test.example")
        invoice = factories.invoice(contact.client)
        key = models.Invitation.issue(contact, 30, invoice=invoice)
    assert client.get(f"/client/invoice/{key}").status_code == (
        429 if kind == "invoice" else 302)  # a real link from that IP waits its minute too
