"""Writing and revising a quote (billing.quotes.create_quote, update_quote), rule by rule:
its defaults, the dates and lines it needs word for word, repricing, and the log."""
import datetime as dt

import pytest

import models
from billing import quotes as quote_service
from tests import factories
from tests.core_support import activities, refusal, refused

DAY = dt.date(2026, 6, 1)
LINES = [{"product": "Design", "quantity": 2, "unit_cost": 50000, "tax_rate": "10"}]


@pytest.fixture
def client(db):
    factories.company(quote_terms="Payable within 30 days.")
    return factories.client(name="Gamma Co", currency="GBP")


def test_a_new_quote_is_a_draft_with_the_businesss_terms_and_the_clients_currency(client):
    staff = factories.staff()
    q = quote_service.create_quote(client, LINES, date=DAY, staff=staff)
    kept = models.Quote.get_by_id(q.id)
    assert (kept.status, kept.date, kept.valid_until, kept.discount, kept.notes, kept.terms,
            kept.footer, kept.currency, kept.total) == (
        "draft", DAY, None, 0, "", "Payable within 30 days.", "", "GBP", 110000)
    assert activities("quote.created") == [(q.id, client.id, None, staff.id, "")]


def test_a_quotes_own_terms_and_words_win(client):
    q = quote_service.create_quote(client, LINES, date=DAY, valid_until=DAY, discount=500,
                                   notes="N", terms="Our terms", footer="F", currency="EUR",
                                   status="sent")
    kept = models.Quote.get_by_id(q.id)
    assert (kept.status, kept.valid_until, kept.discount, kept.notes, kept.terms, kept.footer,
            kept.currency, kept.total) == (
        "sent", DAY, 500, "N", "Our terms", "F", "EUR", 109450)


def test_a_new_quote_needs_lines_and_a_validity_from_its_date(client):
    assert refused(quote_service.create_quote, client, LINES, date=DAY,
                   valid_until=DAY - dt.timedelta(days=1)) == (
        "“Valid until” cannot be before the quote date.", "valid_until")
    assert refused(quote_service.create_quote, client, [], date=DAY) == (
        "A quote needs at least one line.", "lines")
    assert models.Quote.select().count() == 0


def test_a_revision_keeps_the_lines_and_reprices_a_new_discount(client):
    staff = factories.staff()
    q = quote_service.create_quote(client, LINES, date=DAY, valid_until=DAY)
    revised = quote_service.update_quote(q, {"discount": 10000, "notes": "New", "owner": "x"},
                                         staff=staff)
    kept = models.Quote.get_by_id(q.id)
    assert (kept.discount, kept.notes, kept.subtotal, kept.tax_total, kept.total) == (
        10000, "New", 100000, 9000, 99000)
    assert revised.total == 99000
    assert [line.tax_amount for line in kept.ordered_lines()] == [9000]
    assert activities("quote.updated") == [(q.id, client.id, None, staff.id, "")]


def test_a_revision_may_drop_the_validity_or_end_it_on_the_quotes_date(client):
    q = quote_service.create_quote(client, LINES, date=DAY, valid_until=DAY + dt.timedelta(9))
    quote_service.update_quote(q, {"valid_until": None})
    assert models.Quote.get_by_id(q.id).valid_until is None
    quote_service.update_quote(models.Quote.get_by_id(q.id), {"valid_until": DAY})
    assert models.Quote.get_by_id(q.id).valid_until == DAY


def test_a_revision_needs_lines_and_a_validity_from_its_date(client):
    q = quote_service.create_quote(client, LINES, date=DAY)
    error = refusal(lambda: quote_service.update_quote(q, {"valid_until": DAY - dt.timedelta(1)}))
    assert (error.message, error.field) == ("“Valid until” cannot be before the quote date.",
                                            "valid_until")
    error = refusal(lambda: quote_service.update_quote(q, {}, lines=[]))
    assert (error.message, error.field) == ("A quote needs at least one line.", "lines")


@pytest.mark.parametrize("status", ["approved", "converted", "expired"])
def test_a_quote_no_longer_on_offer_cannot_be_revised(client, status):
    q = quote_service.create_quote(client, LINES, date=DAY)
    models.Quote.update(status=status).where(models.Quote.id == q.id).execute()
    error = refusal(lambda: quote_service.update_quote(q, {"notes": "Late change"}))
    assert (error.message, error.field) == (
        f"Quote {q.number} is {status}: it can no longer be changed.", None)
