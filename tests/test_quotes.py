"""Quote services: conversion, numbering, refusals, concurrency, staff notices."""
import threading

import pytest

import models
from billing import DomainError
from billing import quotes as quote_service
from tests import factories
from tests.core_support import opened
from tests.quotes_support import png_data_url, quote

CONFIG = {"BASE_URL": "http://portal.test", "SMTP_URL": ""}


def invoice_count():
    return models.Invoice.select().count()


def test_approve_converts_lines_taxes_discount_and_numbering(db, tmp_path):
    client = factories.client()
    contact = factories.contact(client)
    factories.invoice(client)  # INV-00001 exists; the quote's invoice must be the next one
    q = quote(client, discount=5000, notes="Phase one only.", terms="50% up front.",
              footer="Thanks")
    balance_before = models.Client.get_by_id(client.id).balance

    invoice = quote_service.approve(contact, q, "203.0.113.9", config=dict(
        CONFIG, OUTBOX_PATH=str(tmp_path / "out")))

    q = models.Quote.get_by_id(q.id)
    assert invoice.number == "INV-00002"
    assert (invoice.subtotal, invoice.discount, invoice.tax_total, invoice.total) == (
        q.subtotal, q.discount, q.tax_total, q.total)
    # 2*500.00 + 3*19.99*0.9 (=53.97) + 120.00, less 50.00, VAT on the taxed share only.
    assert q.subtotal == 100000 + 5397 + 12000
    assert invoice.total == q.subtotal - 5000 + q.tax_total
    assert invoice.balance == invoice.total and invoice.status == "sent" and invoice.sent_at
    lines = invoice.ordered_lines()
    assert [(line.product, line.amount, line.tax_amount, line.tax_rate) for line in lines] == [
        (line.product, line.amount, line.tax_amount, line.tax_rate)
        for line in q.ordered_lines()]
    assert (invoice.notes, invoice.terms, invoice.footer) == (
        "Phase one only.", "50% up front.", "Thanks")
    assert q.status == "converted" and q.invoice_id == invoice.id
    assert q.approved_by_id == contact.id and q.approved_ip == "203.0.113.9" and q.approved_at
    assert models.Client.get_by_id(client.id).balance == balance_before + invoice.total
    assert models.Invoice.for_client(client).where(models.Invoice.id == invoice.id).exists()


@pytest.mark.parametrize("status, message", [
    ("draft", "has not been sent"), ("expired", "expired"), ("declined", "declined"),
    ("converted", "already approved")])
def test_refused_states_change_nothing(db, status, message):
    client = factories.client()
    contact = factories.contact(client)
    q = quote(client, status)
    before = invoice_count()
    with pytest.raises(DomainError, match=message):
        quote_service.approve(contact, q, "198.51.100.1")
    after = models.Quote.get_by_id(q.id)
    assert after.status == q.status and after.approved_ip == q.approved_ip
    assert invoice_count() == before


def test_other_clients_quote_is_refused(db):
    mine, theirs = factories.client(), factories.client()
    contact = factories.contact(mine)
    q = quote(theirs)
    with pytest.raises(DomainError, match="not found"):
        quote_service.approve(contact, q)
    with pytest.raises(DomainError, match="not found"):
        quote_service.decline(contact, q, "no")
    assert models.Quote.get_by_id(q.id).status == "sent" and invoice_count() == 0


def test_required_terms_and_signature(db):
    factories.company(quote_requires_terms=True, quote_requires_signature=True)
    client = factories.client()
    contact = factories.contact(client)
    q = quote(client)
    with pytest.raises(DomainError, match="accept the terms"):
        quote_service.approve(contact, q, signature=png_data_url())
    with pytest.raises(DomainError, match="sign"):
        quote_service.approve(contact, q, accepted_terms=True)
    with pytest.raises(DomainError, match="could not be read"):
        quote_service.approve(contact, q, accepted_terms=True,
                              signature="data:image/png;base64,bm90IGEgcG5n")
    with pytest.raises(DomainError, match="could not be read"):
        quote_service.approve(contact, q, accepted_terms=True,
                              signature="javascript:alert(1)")
    assert models.Quote.get_by_id(q.id).status == "sent" and invoice_count() == 0

    signature = png_data_url()
    invoice = quote_service.approve(contact, q, "192.0.2.7", signature, accepted_terms=True)
    q = models.Quote.get_by_id(q.id)
    assert q.signature == signature and q.invoice_id == invoice.id
    assert quote_service.terms_accepted(q)


def test_staff_approval_skips_contact_requirements(db):
    factories.company(quote_requires_signature=True)
    client = factories.client()
    q = quote(client)
    staff = factories.staff()
    invoice = quote_service.approve(None, q, staff=staff)
    assert models.Quote.get_by_id(q.id).invoice_id == invoice.id


def test_staff_notified_of_approval_and_decline(db, tmp_path):
    config = dict(CONFIG, OUTBOX_PATH=str(tmp_path / "outbox"))
    client = factories.client(name="Gamma Co")
    contact = factories.contact(client, first_name="Dana", last_name="Buyer")
    q1, q2 = quote(client), quote(client)
    invoice = quote_service.approve(contact, q1, "192.0.2.1", config=config)
    quote_service.decline(contact, q2, "  Budget cut  ", "192.0.2.1", config=config)

    E = models.EmailMessage
    approved = E.get(E.subject == f"Quote {q1.number} approved by Gamma Co")
    declined = E.get(E.subject == f"Quote {q2.number} declined by Gamma Co")
    assert approved.to == declined.to == "billing@test.example"
    assert invoice.number in approved.body_text and "Dana Buyer" in approved.body_text
    assert "Budget cut" in declined.body_text
    assert approved.status == declined.status == "sent"  # delivered to the outbox after commit
    assert len(list((tmp_path / "outbox").iterdir())) == 2
    assert models.Quote.get_by_id(q2.id).declined_reason == "Budget cut"


def test_decline_then_resend_then_approve(db):
    client = factories.client()
    contact = factories.contact(client)
    q = quote(client)
    quote_service.decline(contact, q, "")
    with pytest.raises(DomainError, match="declined"):
        quote_service.approve(contact, q)
    with pytest.raises(DomainError, match="already declined"):
        quote_service.decline(contact, q, "again")
    quote_service.mark_sent(q)  # staff re-send it
    assert models.Quote.get_by_id(q.id).status == "sent"
    quote_service.approve(contact, q)
    with pytest.raises(DomainError, match="already approved"):
        quote_service.mark_sent(q)


def test_bulk_approval_is_all_or_nothing(db):
    client = factories.client()
    contact = factories.contact(client)
    good, expired = quote(client), quote(client, "expired")
    with pytest.raises(DomainError, match="expired"):
        quote_service.approve_many(contact, [good, expired])
    assert models.Quote.get_by_id(good.id).status == "sent" and invoice_count() == 0
    other = quote(client)
    invoices, _ = quote_service.approve_many(contact, [good, other])
    assert len(invoices) == 2 and invoice_count() == 2
    assert {models.Quote.get_by_id(q.id).invoice_id for q in (good, other)} == {
        i.id for i in invoices}


def test_staff_convert_and_email(db, tmp_path):
    client = factories.client()
    factories.contact(client, email="one@c.example")
    factories.contact(client, email="two@c.example")
    q = quote(client, "draft")
    with pytest.raises(DomainError, match="send it first"):
        quote_service.convert(q)
    messages = quote_service.email_quote(q, dict(CONFIG, OUTBOX_PATH=str(tmp_path / "o")))
    assert sorted(m.to for m in messages) == ["one@c.example", "two@c.example"]
    assert "/client/quote/" in messages[0].body_text
    assert models.Invitation.select().where(models.Invitation.quote == q).count() == 2
    invoice = quote_service.convert(models.Quote.get_by_id(q.id))
    assert models.Quote.get_by_id(q.id).status == "converted"
    with pytest.raises(DomainError, match="already converted"):
        quote_service.convert(q)
    assert invoice.total == q.total and invoice_count() == 1


def test_concurrent_approvals_make_exactly_one_invoice(app):
    """Eight requests from two contacts approve the same quote at once: one invoice."""
    with opened(app):
        client = factories.client()
        contacts = [factories.contact(client), factories.contact(client)]
        q = quote(client)
    threads, barrier = 8, threading.Barrier(8)
    results, errors = [], []

    def approve(n):
        with app.test_request_context():
            models.db.connect(reuse_if_open=True)
            try:
                barrier.wait()
                results.append(quote_service.approve(contacts[n % 2], q, f"10.0.0.{n}").id)
            except DomainError as exc:
                errors.append(exc.message)
            finally:
                models.db.close()

    workers = [threading.Thread(target=approve, args=(n,), daemon=True) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert not w.is_alive(), "an approval never finished"
    with opened(app):
        assert len(results) == 1, (results, errors)
        assert len(errors) == threads - 1 and all("already approved" in e for e in errors)
        assert models.Invoice.select().count() == 1
        assert models.Quote.get_by_id(q.id).invoice_id == results[0]
        seq = models.Sequence.get(models.Sequence.name == "invoice")
        assert seq.next_value == 2  # one number used, none burnt by the losers
        assert models.Client.get_by_id(client.id).balance == q.total


def test_finished_quote_is_refused_for_its_state_before_requirements(db):
    factories.company(quote_requires_signature=True, quote_requires_terms=True)
    client = factories.client()
    contact = factories.contact(client)
    with pytest.raises(DomainError, match="expired"):
        quote_service.approve(contact, quote(client, "expired"))
    with pytest.raises(DomainError, match="already approved"):
        quote_service.approve(contact, quote(client, "converted"))


def test_viewing_marks_the_quote_viewed_once(db):
    client = factories.client()
    contact = factories.contact(client)
    q = quote(client)
    quote_service.mark_viewed(q, contact)
    first = models.Quote.get_by_id(q.id).viewed_at
    quote_service.mark_viewed(models.Quote.get_by_id(q.id), contact)
    assert first is not None and models.Quote.get_by_id(q.id).viewed_at == first
