"""The invoice for one subscription period: the plan times the quantity, the set-up fee on
the first one only, issued (owed) and listed under the subscription."""
import datetime as dt

import models
from billing import subscription_invoices, subscriptions
from tests import factories
from tests.core_support import activities, opened
from tests.factories import PLAN_FORM as GOOD

START, END = dt.date(2026, 3, 1), dt.date(2026, 4, 1)


def make_subscription(app, **plan):
    with opened(app):
        people = factories.two_clients()
        made = subscriptions.create_plan({**GOOD, "trial_days": "0", "setup_fee": "25.00",
                                          **plan}, "en_US")
        return subscriptions.subscribe(people["a"], made, quantity=3, start=START)


def test_the_first_period_bills_quantity_times_price_plus_the_set_up_fee(app):
    subscription = make_subscription(app, price="10.00")
    with opened(app):
        invoice = subscription_invoices.issue_period_invoice(subscription, START, END,
                                                             setup_fee=True)
        invoice = models.Invoice.get_by_id(invoice.id)
        lines = [(li.product, li.description, li.quantity, li.unit_cost, li.amount)
                 for li in invoice.ordered_lines()]
        assert lines == [("Set-up fee", GOOD["name"], 1, 2500, 2500),
                         (GOOD["name"], "2026-03-01 to 2026-04-01", 3, 1000, 3000)]
        assert (invoice.status, invoice.total, invoice.balance) == ("sent", 5500, 5500)
        assert (invoice.date, invoice.due_date) == (START, START)
        assert invoice.subscription_id == subscription.id
        assert models.Client.get_by_id(subscription.client_id).balance == 5500


def test_later_periods_carry_no_set_up_fee_and_keep_the_subscriptions_own_price(app):
    subscription = make_subscription(app, price="10.00")
    with opened(app):
        models.Subscription.update(unit_price=800).where(
            models.Subscription.id == subscription.id).execute()
        subscription = models.Subscription.get_by_id(subscription.id)
        invoice = subscription_invoices.issue_period_invoice(subscription, END,
                                                             dt.date(2026, 5, 1))
        invoice = models.Invoice.get_by_id(invoice.id)
        assert [(li.product, li.amount) for li in invoice.ordered_lines()] == [
            (GOOD["name"], 2400)]
        assert list(subscriptions.invoices_of(subscription, subscription.client)) == [invoice]


def test_a_periods_lines_carry_the_set_up_fee_only_when_asked(app):
    subscription = make_subscription(app, price="10.00")
    with opened(app):
        assert [line["product"] for line in subscription_invoices.period_lines(
            subscription, START, END)] == [GOOD["name"]]


def test_the_lines_are_in_the_clients_language_else_the_companys(app):
    subscription = make_subscription(app, price="10.00")
    with opened(app):
        models.Company.update(locale="fr_FR").execute()
        lines = subscription_invoices.period_lines(subscription, START, END, setup_fee=True)
        assert [(line["product"], line["description"]) for line in lines] == [
            ("Frais de mise en service", GOOD["name"]),
            (GOOD["name"], "du 2026-03-01 au 2026-04-01")]
        models.Client.update(locale="de_DE").execute()
        subscription = models.Subscription.get_by_id(subscription.id)
        lines = subscription_invoices.period_lines(subscription, START, END, setup_fee=True)
        assert [(line["product"], line["description"]) for line in lines] == [
            ("Einrichtungsgebühr", GOOD["name"]), (GOOD["name"], "2026-03-01 bis 2026-04-01")]


def test_a_period_is_billed_in_the_plans_currency_and_logged_on_the_subscription(app):
    subscription = make_subscription(app, price="10.00")
    with opened(app):
        # the client's currency changed while nothing was billed yet (a trial, say)
        models.Client.update(currency="EUR").execute()
        subscription = models.Subscription.get_by_id(subscription.id)
        invoice = subscription_invoices.issue_period_invoice(subscription, START, END)
        assert models.Invoice.get_by_id(invoice.id).currency == "USD"
        assert activities("subscription.invoiced") == [
            (subscription.id, subscription.client_id, None, None, invoice.number)]
        assert models.Activity.get(models.Activity.action == "subscription.invoiced"
                                   ).subject_type == "subscription"
