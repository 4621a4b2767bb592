"""Helpers for the subscription renewal tests (tests/test_renewals.py, _failed.py and
_once.py): a plan, a customer and their subscription as the purchase page leaves it, and
one run-due's renewal and auto-bill jobs on a given day."""
import datetime as dt

from flask import current_app

import models
from billing import autobill, invoices, renewals, subscription_invoices, subscriptions
from tests import factories
from tests.factories import PLAN_FORM as GOOD
from tests.payments_support import reload

START = dt.date(2026, 11, 2)  # subscribed; the first period runs to Dec 2
RENEWAL = dt.date(2026, 12, 2)


def at_noon(day, days_later=0):
    return dt.datetime.combine(day, dt.time(12)) + dt.timedelta(days=days_later)


def make_plan(**fields):
    return subscriptions.create_plan({**GOOD, "trial_days": "0", "setup_fee": "10.00",
                                      **fields}, "en_US")


def customer(currency="USD", email="ap@acme.example"):
    client = factories.client(name="Acme Buyer", currency=currency)
    primary = factories.contact(client, email=email, is_primary=True)
    return client, primary


def subscribed(client, plan=None, start=START, first_invoice=True, **kw):
    """A subscription whose purchase billed its first period (as the purchase page does)."""
    subscription = subscriptions.subscribe(client, plan or make_plan(), start=start, **kw)
    if first_invoice and not subscription.trial_ends_on:
        first = subscription_invoices.issue_period_invoice(
            subscription, subscription.current_period_start, subscription.current_period_end,
            setup_fee=True)
        invoices.mark_paid(first)
    return reload(subscription)


def tick(day, days_later=0, config=None):
    """The renewal and auto-bill jobs of one run-due, on `day` (+ days_later) at noon."""
    config = current_app.config if config is None else config
    now = at_noon(day, days_later)
    return renewals.renew_due(config, today=now.date()), autobill.charge_due(config, now=now)


def renewal_invoices(subscription):
    Inv = models.Invoice
    return list(Inv.select().where((Inv.subscription == subscription.id)
                                   & (Inv.date > subscription.started_at)).order_by(Inv.id))


def periods(invoice):
    return [li.description for li in invoice.ordered_lines()]


def activity(action):
    return [a.detail for a in models.Activity.select().where(models.Activity.action == action)]
