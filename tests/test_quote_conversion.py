"""A quote becoming an invoice (billing.quotes), field by field: what the approval records,
what the invoice copies, who each log line names, and staff converting without approval."""
import datetime as dt

import pytest

import models
from billing import quotes as quote_service
from tests import factories
from tests.core_support import activities, interleaved, refusal
from tests.quotes_support import png_data_url, quote

TODAY = models.utcnow().date()


@pytest.fixture
def buyer(db):
    factories.company()
    client = factories.client(name="Gamma Co", currency="USD")
    return factories.contact(client, first_name="Dana")


def detailed_quote(client):
    return quote(client, lines=[{"product": "Design", "description": "Two concepts",
                                 "quantity": "1.5", "unit_cost": 40000,
                                 "discount_percent": "10", "tax_name": "VAT", "tax_rate": "20"}],
                 discount=1000, notes="Our notes", terms="Net 30", footer="Thanks",
                 currency="EUR")


def test_an_approved_quote_becomes_a_sent_invoice_that_copies_it(buyer):
    q = detailed_quote(buyer.client)
    invoice = quote_service.approve(buyer, q)
    assert (invoice.status, invoice.date, invoice.due_date, invoice.currency,
            invoice.discount, invoice.notes, invoice.terms, invoice.footer,
            invoice.po_number) == (
        "sent", TODAY, TODAY + dt.timedelta(days=30), "EUR", 1000, "Our notes", "Net 30",
        "Thanks", "")
    assert [(line.product, line.description, line.quantity, line.unit_cost,
             line.discount_percent, line.tax_name, line.tax_rate)
            for line in invoice.ordered_lines()] == [
        ("Design", "Two concepts", 1.5, 40000, 10, "VAT", 20)]
    assert invoice.total == q.total
    kept = models.Quote.get_by_id(q.id)
    assert (kept.status, kept.invoice_id, kept.approved_by_id, kept.approved_ip,
            kept.signature) == ("converted", invoice.id, buyer.id, "", "")
    assert kept.approved_at is not None
    assert not quote_service.terms_accepted(kept)


def test_the_approval_records_the_address_signature_terms_and_who(buyer):
    signature = png_data_url()
    q = quote(buyer.client)
    invoice = quote_service.approve(buyer, q, "203.0.113.5" + "9" * 40, signature,
                                    accepted_terms=True, po_number="PO-7")
    kept = models.Quote.get_by_id(q.id)
    assert (kept.approved_ip, kept.signature) == (("203.0.113.5" + "9" * 40)[:45], signature)
    assert invoice.po_number == "PO-7"
    assert activities("quote.approved") == [(q.id, buyer.client_id, buyer.id, None,
                                             "terms accepted")]
    logged = models.Activity.get(models.Activity.action == "quote.approved")
    assert logged.ip == ("203.0.113.5" + "9" * 40)[:45]
    assert activities("quote.converted") == [(q.id, buyer.client_id, buyer.id, None,
                                              invoice.number)]


def test_staff_approving_as_the_contact_are_named_beside_them(buyer):
    staff = factories.staff()
    q = quote(buyer.client)
    invoice = quote_service.approve(buyer, q, staff=staff)
    assert activities("quote.approved") == [(q.id, buyer.client_id, buyer.id, staff.id, "")]
    assert activities("quote.converted") == [(q.id, buyer.client_id, buyer.id, staff.id,
                                              invoice.number)]
    assert models.Activity.get(models.Activity.action == "quote.approved").ip == ""


def test_staff_approving_for_the_client_keep_its_signature_and_po_number(buyer):
    staff = factories.staff()
    signature = png_data_url()
    q = quote(buyer.client)
    invoices, _ = quote_service.approve_many(None, [q], signature=signature, po_number="PO-9",
                                             staff=staff)
    assert models.Quote.get_by_id(q.id).signature == signature
    assert invoices[0].po_number == "PO-9"
    assert activities("quote.approved") == [(q.id, buyer.client_id, None, staff.id, "")]


def test_an_approval_without_an_address_or_purchase_order_records_none(buyer):
    q = quote(buyer.client)
    invoices, _ = quote_service.approve_many(None, [q])
    assert (models.Quote.get_by_id(q.id).approved_ip, invoices[0].po_number) == ("", "")
    assert models.Activity.get(models.Activity.action == "quote.approved").ip == ""


def test_approving_nothing_is_refused_word_for_word(buyer):
    assert refusal(lambda: quote_service.approve_many(buyer, [])).message == (
        "Select at least one quote to approve.")


def test_another_clients_quote_is_not_found(buyer):
    theirs = quote(factories.client(name="Other"))
    assert refusal(lambda: quote_service.approve(buyer, theirs)).message == (
        "That quote was not found.")


def test_re_sending_a_declined_quote_clears_its_reason(buyer):
    q = quote(buyer.client, "declined")
    assert models.Quote.get_by_id(q.id).declined_reason == "Too dear"
    quote_service.mark_sent(q)
    kept = models.Quote.get_by_id(q.id)
    assert (kept.status, kept.declined_reason) == ("sent", "")


@pytest.mark.parametrize("status", ["sent", "approved", "expired"])
def test_staff_convert_a_sent_approved_or_expired_quote(buyer, status):
    staff = factories.staff()
    q = quote(buyer.client)
    models.Quote.update(status=status).where(models.Quote.id == q.id).execute()
    invoice = quote_service.convert(models.Quote.get_by_id(q.id), staff=staff)
    kept = models.Quote.get_by_id(q.id)
    assert (kept.status, kept.invoice_id, invoice.status, invoice.po_number) == (
        "converted", invoice.id, "sent", "")
    assert activities("quote.converted") == [(q.id, buyer.client_id, None, staff.id,
                                              invoice.number)]


def test_a_quote_marked_converted_is_not_converted_again_even_without_its_invoice(buyer):
    q = quote(buyer.client)
    models.Quote.update(status="converted").where(models.Quote.id == q.id).execute()
    assert refusal(lambda: quote_service.convert(models.Quote.get_by_id(q.id))).message == (
        f"Quote {q.number} was already converted.")


@pytest.mark.parametrize("action,answered,words", [
    ("approve", "approved", "Quote {} was already approved."),
    ("convert", "converted", "Quote {} was already converted."),
    ("decline", "approved", "Quote {} was already answered."),
])
def test_a_quote_answered_between_the_check_and_the_claim_is_refused_changing_nothing(
        buyer, action, answered, words):
    """Each answer checks the quote under its row lock, then claims it with a conditional
    update. The lock keeps other requests out, so the claim's own guard is the second line:
    should the row have moved anyway, the claim finds it and refuses in the check's words,
    converting nothing."""
    q = quote(buyer.client)
    answer = {"approve": lambda: quote_service.approve(buyer, q),
              "convert": lambda: quote_service.convert(q),
              "decline": lambda: quote_service.decline(buyer, q, "Too dear")}[action]
    moved = models.Quote.update(status=answered).where(models.Quote.id == q.id)
    with interleaved('UPDATE "quote"', moved.execute) as fired:
        error = refusal(answer)
    assert fired and error.message == words.format(q.number)
    assert models.Invoice.select().count() == 0
