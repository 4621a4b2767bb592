"""Due work of every kind for a run-due tick (tests/test_run_due_tick.py, test_scheduler.py)."""
import datetime as dt

import models
from billing import payment_methods, recurring, reminders
from gateways.base import SavedMethod
from tests import factories

LINES = [{"product": "Retainer", "quantity": 1, "unit_cost": 10000}]


def seed(gateway):
    """Due work of every kind, all of it behind schedule (a catch-up after downtime)."""
    today = models.utcnow().date()  # the test company's time zone is UTC
    models.Company.update(email="billing@test.example").execute()
    client = factories.client(name="Busy Co")
    factories.contact(client, email="ap@busy.example", is_primary=True)
    card = payment_methods.store(client.id, gateway.id, SavedMethod(
        token=f"demo_ok_{next(factories._seq)}", customer_reference="demo", brand="visa",
        last4="4242", exp_month=12, exp_year=2035))
    recurring.create_recurring(client, LINES, frequency="daily",
                               start_date=today - dt.timedelta(days=2), auto_bill_mode="always")
    models.PrepaymentSchedule.create(
        client=client, contact=client.contacts[0], payment_method=card, amount=2500,
        currency="USD", frequency="daily", start_date=today - dt.timedelta(days=3),
        next_date=today - dt.timedelta(days=1))
    reminders.save(models.Company.current(), rule_inputs=[("1", True), ("", False),
                                                          ("", False)],
                   fee_kind="fixed", fee_value="5.00")
    overdue = factories.invoice(client, status="sent", date=today - dt.timedelta(days=30),
                                due_date=today - dt.timedelta(days=3))
    return client, overdue
