"""What each portal list's row holds (billing.listing): exactly the columns its tab shows,
each as its record has it. tests/test_listing.py pins which rows and in which order."""
import datetime as dt

import pytest

import models
from billing import listing
from tests import factories
from tests.listing_support import TODAY, invoice, quote


@pytest.fixture
def client(db):
    return factories.client(name="Gamma Co")


def holds_its_records_columns(row, model, columns):
    """A row has exactly the columns its list selects, each as its record has it."""
    record = model.get_by_id(row.id)
    assert set(vars(row)) == columns
    assert vars(row) == {column: getattr(record, column) for column in columns}


def test_a_schedules_row_holds_what_the_tab_shows_and_ties_go_newest_first(client):
    def schedule(number):
        return models.RecurringInvoice.create(
            client=client, number=number, status="active", frequency="quarterly",
            start_date=TODAY, total=12345, currency="EUR", remaining_cycles=4,
            next_send_date=TODAY + dt.timedelta(days=3))
    older, newer = schedule("R-1"), schedule("R-2")
    rows = listing.recurring(client.id).fetch(0, 25)[0]
    assert [row.id for row in rows] == [newer.id, older.id]
    holds_its_records_columns(rows[0], models.RecurringInvoice, {
        "id", "public_id", "number", "frequency", "start_date", "next_send_date",
        "remaining_cycles", "total", "currency", "status"})


def test_a_credits_row_holds_what_the_tab_shows(client):
    models.Credit.create(client=client, number="CR-1", status="partial", total=500,
                         balance=200, currency="EUR", date=TODAY, reason="Returned goods")
    [row] = listing.credits(client.id, "all").fetch(0, 25)[0]
    holds_its_records_columns(row, models.Credit, {
        "id", "public_id", "number", "date", "reason", "total", "balance", "currency",
        "status"})


def test_a_documents_row_holds_what_the_tab_shows(client):
    inv = invoice(client, "INV-7")
    models.Document.create(client=client, filename="terms.pdf", storage_name="s1", size=2048,
                           is_public=True, invoice=inv)
    [row] = listing.documents(client.id).fetch(0, 25)[0]
    assert set(vars(row)) == {"id", "public_id", "filename", "size", "created_at", "invoice_id",
                              "quote_id", "invoice_number", "quote_number"}
    record = models.Document.get_by_id(row.id)
    assert (row.public_id, row.filename, row.size, row.created_at, row.invoice_id,
            row.quote_id, row.invoice_number, row.quote_number) == (
        record.public_id, "terms.pdf", 2048, record.created_at, inv.id, None, "INV-7", None)


def test_a_saved_methods_row_holds_what_the_tab_shows(client):
    gateway = models.GatewayConfig.create(kind="demo", label="Demo")
    staff = factories.staff()
    models.GatewayToken.create(client=client, gateway=gateway, token="tok", brand="mastercard",
                               method_type="card", last4="5454", exp_month=7, exp_year=2031,
                               is_default=True, created_by_staff=staff)
    [row] = listing.payment_methods(client.id).all()
    assert vars(row) == {
        "id": row.id, "public_id": models.GatewayToken.get_by_id(row.id).public_id,
        "brand": "mastercard", "method_type": "card", "last4": "5454", "exp_month": 7,
        "exp_year": 2031, "is_default": True, "created_by_staff_id": staff.id}
    assert listing.payment_methods(client.id).count() == 1


def test_a_subscriptions_row_holds_what_the_tab_shows_with_its_plan(client):
    plan = factories.plan("Pro", 2900, currency="EUR", frequency="yearly")
    models.Subscription.create(
        client=client, plan=plan, status="active", quantity=3, unit_price=2500,
        started_at=models.utcnow(), current_period_end=TODAY + dt.timedelta(days=30),
        next_billing_date=TODAY + dt.timedelta(days=30), trial_ends_on=TODAY,
        cancel_at_period_end=True, ends_on=TODAY + dt.timedelta(days=30))
    [row] = listing.subscriptions(client.id).fetch(0, 25)[0]
    record = models.Subscription.get_by_id(row.id)
    assert vars(row) == {
        "id": record.id, "public_id": record.public_id, "status": "active", "quantity": 3,
        "unit_price": 2500, "trial_ends_on": TODAY,
        "current_period_end": TODAY + dt.timedelta(days=30),
        "next_billing_date": TODAY + dt.timedelta(days=30), "cancel_at_period_end": True,
        "ends_on": TODAY + dt.timedelta(days=30), "plan_name": "Pro", "plan_currency": "EUR",
        "plan_frequency": "yearly", "plan_price": 2900}
    assert (row.plan.name, row.plan.currency, row.plan.frequency, row.plan.price) == (
        "Pro", "EUR", "yearly", 2900)


def test_a_payments_row_holds_what_the_tab_shows_and_reads_its_method(client):
    models.Payment.create(client=client, number="P-9", status="partially_refunded",
                          amount=5000, applied=3000, refunded=1000, currency="EUR",
                          method="bank_transfer", method_label="SEPA", reference="Ref 7",
                          gateway_reference="ch_9", date=TODAY, is_prepayment=True)
    [row] = listing.payments(client.id).fetch(0, 25)[0]
    holds_its_records_columns(row, models.Payment, {
        "id", "public_id", "number", "date", "amount", "applied", "refunded", "currency",
        "method", "method_label", "reference", "gateway_reference", "status",
        "is_prepayment"})
    record = models.Payment.get_by_id(row.id)
    assert (row.method_name, row.unapplied, row.has_unapplied) == (
        record.method_name, record.unapplied, record.has_unapplied)


def test_a_quotes_row_holds_what_the_tab_shows(client):
    made = quote(client, "Q-9", valid_until=TODAY + dt.timedelta(days=5))
    models.Quote.update(total=4200, currency="EUR").where(models.Quote.id == made.id).execute()
    [row] = listing.quotes(client.id, "sent", TODAY).fetch(0, 25)[0]
    holds_its_records_columns(row, models.Quote, {
        "id", "public_id", "number", "date", "valid_until", "total", "currency", "status"})
    assert row.display_status(TODAY) == models.Quote.get_by_id(row.id).display_status(TODAY)
