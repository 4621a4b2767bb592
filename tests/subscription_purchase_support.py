"""Helpers for the plan purchase page's tests (tests/test_subscription_purchase.py, _once.py
and _unpaid.py): a plan to buy, the page's forms as a browser posts them, and counts of
what a purchase makes; and for the service's own tests (_rules.py, _made.py) the `shop`
fixture (registered for every test module through conftest's pytest_plugins) and calls of
billing.subscription_purchase.buy as the page makes them."""
import datetime as dt
import re

import pytest
from flask import current_app

import gateways
import models
from billing import subscription_purchase as purchase
from billing import subscriptions
from tests import factories
from tests.conftest import CSRF_RE
from tests.core_support import opened, snapshot
from tests.factories import PLAN_FORM as GOOD

NEW_EMAIL = "gil@gamma.example"
NEW = {"client_name": "Gamma LLC", "first_name": "Gil", "last_name": "Gamma",
       "email": NEW_EMAIL, "password": "gamma-password", "confirm": "gamma-password",
       "quantity": "2"}
CARD = {"card_number": "4242424242424242", "exp_month": "12", "exp_year": "2035",
        "cvc": "123"}
MADE = ("Client", "Contact", "Subscription", "Invoice", "Payment", "GatewayToken",
        "DemoCharge", "GatewayCustomer")


def make_plan(app, **changes):
    with opened(app):
        plan = subscriptions.create_plan({**GOOD, "trial_days": "0", "setup_fee": "10.00",
                                          **changes}, "en_US")
        return plan.public_id


def url(public_id):
    return f"/client/subscriptions/{public_id}/purchase"


def html(response):
    return response.get_data(as_text=True)


TOKEN_RE = re.compile(r'"X-CSRFToken": "([^"]+)"')


def review(client, public_id, **changes):
    token = TOKEN_RE.search(html(client.get(url(public_id)))).group(1)
    data = {"csrf_token": token, "step": "review", **NEW, **changes}
    return client.post(url(public_id), data={k: v for k, v in data.items() if v is not None})


def submit(client, public_id, page, step="capture", **fields):
    """The next step's form, as the page just shown posts it."""
    token = CSRF_RE.search(html(page)).group(1)
    return client.post(url(public_id), data={"csrf_token": token, "step": step, **fields})


def buy_new(client, public_id, card=None, **changes):
    page = review(client, public_id, **changes)
    assert page.status_code == 200, html(page)
    return page, submit(client, public_id, page, **(CARD if card is None else card))


def state(app):
    with opened(app):
        return snapshot()


def counts(app):
    with opened(app):
        return {name: getattr(models, name).select().count() for name in MADE}


def the_new_contact():
    return models.Contact.get(models.Contact.email == NEW_EMAIL)


def logged_in_as(client):
    with client.session_transaction() as session:
        return session.get("_user_id", "").partition(":")[0]


# ------------------------------------------------------------------ the service, called directly
# (tests/test_subscription_purchase_rules.py and _made.py)

TODAY = dt.date(2026, 11, 16)
DETAILS = {"client_name": "Gamma LLC", "first_name": "Gil", "last_name": "Gamma",
           "phone": "+1 555 0100", "address": "1 Main St", "vat_number": "US123",
           "email": "gil@gamma.example"}


@pytest.fixture
def shop(db, demo_gateway):
    """Two clients, the demo gateway and a $29.00 monthly plan with a $10.00 set-up fee."""
    people = factories.two_clients()
    gateway = gateways.for_config(models.GatewayConfig.get_by_id(demo_gateway.id))
    plan = factories.plan("Pro", 2900, setup_fee=1000)
    return {**people, "plan": plan, "gateway": gateway}


def card(shop, number="4242424242424242"):
    return shop["gateway"].tokenize(number, "12", "2035", "123")


def bought(shop, key, **kw):
    kw.setdefault("config", dict(current_app.config))
    return purchase.buy(shop["plan"], kw.pop("quantity", 1), models.Company.current(),
                        key=f"{key}-" + "k" * 24, today=TODAY, **kw)


def bought_new(shop, key, details=None, **kw):
    return bought(shop, key, details={**DETAILS, **(details or {})}, password_hash="x",
               gateway=shop["gateway"], new_method=card(shop), **kw)


def saved_card(shop, contact="a1"):
    from billing import payment_methods
    return payment_methods.store(shop[contact].client_id, shop["gateway"].config.id,
                                 card(shop), contact=shop[contact])
