"""Helpers for the auto-bill tests (tests/test_autobill.py and tests/test_autobill_choice.py):
a customer with two contacts, a recurring template in a given auto-bill mode, and one
run-due's recurring and auto-bill jobs at a chosen moment."""
import datetime as dt

from flask import current_app

import models
from billing import autobill, recurring
from tests import factories
from tests.payments_support import reload

LINES = [{"product": "Retainer", "quantity": 1, "unit_cost": 50000, "tax_rate": "10"}]
DAY = dt.date(2026, 11, 2)
NOON = dt.datetime(2026, 11, 2, 12, 0)


def customer(**kw):
    client = factories.client(name="Acme Buyer")
    factories.contact(client, email="ops@acme.example")
    primary = factories.contact(client, email="ap@acme.example", is_primary=True)
    return client, primary


def template(client, mode="always", choice="", **kw):
    r = recurring.create_recurring(client, LINES, frequency="monthly", start_date=DAY,
                                   auto_bill_mode=mode, **kw)
    if choice:
        models.RecurringInvoice.update(auto_bill_choice=choice).where(
            models.RecurringInvoice.id == r.id).execute()
    return reload(r)


def tick(now=NOON):
    """One run-due's recurring and auto-bill jobs, at a chosen moment."""
    config = current_app.config
    made = recurring.generate_due(config, today=now.date())
    return made, autobill.charge_due(config, now=now)

