"""Helpers for the auto-bill tests (tests/test_autobill.py and tests/test_autobill_choice.py):
a customer with two contacts, a recurring template in a given auto-bill mode, and one
run-due's recurring and auto-bill jobs at a chosen moment."""
import datetime as dt

from flask import current_app

import models
from billing import autobill, payments, recurring, transaction
from tests import factories
from tests.payments_support import demo_card, reload

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


def holding_payment(invoice, contact, gateway, key=None, message=""):
    """A pending payment holding all of `invoice`, as a charge waiting for its gateway
    leaves one; under auto-bill's key unless `key` says whose it is."""
    return models.Payment.create(
        client=invoice.client_id, contact=contact, status="pending", date=DAY,
        currency=invoice.currency, amount=invoice.balance, gateway=gateway,
        idempotency_key=key or autobill.idempotency_key(invoice, 1), failure_message=message,
        plan=f'{{"lines": [[{invoice.id}, {invoice.balance}]], "credit": 0}}')


def billed_after_an_earlier_payment(demo_gateway):
    """A customer with a saved card who paid an earlier invoice by hand, and the auto-billed
    invoice issued today: (client, primary contact, card, invoice)."""
    client, primary = customer()
    token = demo_card(client, demo_gateway)
    earlier = factories.invoice(client)
    with transaction():
        payments.record_payment(client, earlier.total, "USD", [(earlier, earlier.total)],
                                method="manual")
    template(client)
    (invoice,) = recurring.generate_due(current_app.config, today=DAY)
    return client, primary, token, invoice


def pending_charge(demo_gateway, message=""):
    """An auto-billed invoice whose charge is still processing at the gateway, after an
    earlier payment of the client's (so the pending one is not the first payment)."""
    _client, primary, _token, invoice = billed_after_an_earlier_payment(demo_gateway)
    payment = holding_payment(invoice, primary, demo_gateway, message=message)
    models.AutoBill.update(status="processing", attempts=1, claimed_at=NOON,
                           payment=payment.id).where(
        models.AutoBill.invoice == invoice.id).execute()
    return invoice, payment
