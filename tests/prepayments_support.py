"""Helpers and a fixture for the pre-payment tests (tests/test_prepayments.py,
_recurring.py and _stripe.py); registered for every test module through conftest's
pytest_plugins. `enabled` switches pre-payments on with a $10.00 minimum; `submit` and
`pay_new_card` fill the Pre-Payment tab as a person does; `due` is one run-due tick of the
pre-payment job."""
import pytest

import models
from billing import prepayments
from tests import factories
from tests.conftest import CSRF_RE
from tests.payments_support import KEY_RE

CARD = {"card_number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2035",
        "cvc": "123"}
TAB = "/client/pre_payment"


@pytest.fixture
def enabled(app, conn):
    return factories.company(prepayments_enabled=True, minimum_prepayment=1000)


def form_page(client):
    html = client.get(TAB).get_data(as_text=True)
    return CSRF_RE.search(html).group(1), KEY_RE.search(html).group(1)


def submit(client, method, **fields):
    token, key = form_page(client)
    data = {"csrf_token": token, "key": key, "step": "pay", "method": method, **fields}
    return client.post(TAB, data=data)


def pay_new_card(client, gateway, card=CARD, **fields):
    """Fill the tab, then the demo gateway's card form, as a person does."""
    capture = submit(client, f"new:{gateway.id}", **fields)
    assert capture.status_code == 200, capture.get_data(as_text=True)
    html = capture.get_data(as_text=True)
    data = {"csrf_token": CSRF_RE.search(html).group(1), "key": KEY_RE.search(html).group(1),
            "step": "capture", "method": f"new:{gateway.id}", "gateway": gateway.id,
            **fields, **card}
    return client.post(TAB, data=data)


def due(app, today=None):
    """One run-due tick of the pre-payment job (its e-mails need the app)."""
    with app.app_context():
        return prepayments.charge_due(today)


def prepayments_of(client_record):
    P = models.Payment
    return list(P.select().where((P.client == client_record.id) & P.is_prepayment)
                .order_by(P.id))

