"""The invoice lifecycle: create, e-mail, mark sent, mark paid, viewed.

Staff back office, CLI, API and portal all go through these functions.
"""
import datetime as dt

import mail
import models
from billing import DomainError, documents, notifications, numbering, transaction, unless_busy


def create_invoice(client, lines, *, date=None, due_date=None, discount=0, partial=0,
                   partial_due_date=None, notes="", terms="", footer="", po_number="",
                   recurring=None, currency=None, status="draft"):
    date = date or models.utcnow().date()
    check_dates(date, due_date, partial_due_date)
    with transaction():
        invoice = models.Invoice(
            client=client, number=numbering.next_number("invoice"), date=date,
            due_date=due_date, currency=currency or client.currency, discount=discount,
            partial=partial, partial_due_date=partial_due_date, notes=notes,
            terms=terms or _company_terms(), footer=footer, po_number=po_number,
            recurring=recurring, status="draft")
        invoice.save()
        documents.set_lines(invoice, lines, "invoice")
        if partial < 0 or partial > invoice.total:
            raise DomainError("The deposit must be between zero and the invoice total.",
                              "partial")
        invoice.balance = invoice.total
        invoice.save()
        if status == "sent":
            _mark_sent(invoice)
        return invoice


def _company_terms():
    company = models.Company.current()
    return company.invoice_terms if company else ""


def check_dates(date, due_date, partial_due_date=None):
    """An invoice cannot fall due before it is issued."""
    if due_date is not None and date is not None and due_date < date:
        raise DomainError("The due date cannot be before the invoice date.", "due_date")
    if partial_due_date is not None and date is not None and partial_due_date < date:
        raise DomainError("The deposit's due date cannot be before the invoice date.",
                          "partial_due_date")


def _mark_sent(invoice, auto_apply=True):
    """Leave draft: the client owes the balance from now on (less any unapplied payments
    the company has them take automatically)."""
    if invoice.status != "draft":
        return False
    _check_sendable(invoice)
    invoice.status = "sent"
    invoice.sent_at = models.utcnow()
    invoice.save()
    models.Client.update(balance=models.Client.balance + invoice.balance,
                         listed_invoices=models.Client.listed_invoices + 1).where(
        models.Client.id == invoice.client_id).execute()
    if auto_apply:
        from billing import applying
        applying.auto_apply(invoice)
    return True


def _check_sendable(invoice):
    if invoice.total <= 0:
        # Nothing to pay: a sent 0.00 invoice would only confuse the client (and the lists).
        raise DomainError(f"Invoice {invoice.number} has a total of zero: add a priced line "
                          "before sending it.", "lines")


def mark_sent(invoice, staff=None):
    """Flip a draft to sent without e-mailing; the portal now shows it as unpaid."""
    with transaction():
        invoice = _locked(invoice)
        if invoice.status in ("cancelled", "void"):
            raise DomainError(f"A {invoice.status} invoice cannot be sent.")
        changed = _mark_sent(invoice)
        if changed:
            models.Activity.log("invoice.marked_sent", invoice, client=invoice.client_id,
                                staff=staff)
    return invoice


def email_invoice(invoice, config, staff=None):
    """E-mail every contact of the client a personal link, and mark the invoice sent.

    Returns the queued messages; they are delivered after the transaction commits.
    """
    with transaction():
        invoice = _locked(invoice)
        if invoice.status in ("cancelled", "void"):
            raise DomainError(f"A {invoice.status} invoice cannot be e-mailed.")
        contacts = [c for c in invoice.client.contacts if c.is_active and c.email]
        if not contacts:
            raise DomainError("This client has no contact with an e-mail address.")
        _check_sendable(invoice)
        _mark_sent(invoice)
        messages = [notifications.invoice_email(invoice, contact, config)
                    for contact in contacts]
        models.Activity.log("invoice.emailed", invoice, client=invoice.client_id, staff=staff,
                            detail=", ".join(c.email for c in contacts))
    mail.send_now(messages, config)
    return messages


def mark_paid(invoice, staff=None):
    """Record a payment for the whole balance and file the invoice as paid."""
    from billing import payments
    with transaction():
        invoice = _locked(invoice)
        if invoice.status in ("cancelled", "void"):
            raise DomainError(f"Invoice {invoice.number} is {invoice.status}: "
                              "it cannot be marked paid.")
        if invoice.status == "paid" or invoice.balance <= 0:
            raise DomainError(f"Invoice {invoice.number} is already paid.")
        # Marked paid means this payment settles it all: money waiting unapplied stays so.
        _mark_sent(invoice, auto_apply=False)
        payment = payments.record_payment(
            invoice.client, invoice.balance, invoice.currency, [(invoice, invoice.balance)],
            method="manual", method_label="Marked paid", staff=staff)
    return payment


def cancel(invoice, staff=None):
    """Withdraw an unpaid invoice: the client no longer owes its balance."""
    with transaction():
        invoice = _locked(invoice)
        if invoice.status in ("cancelled", "void", "paid"):
            raise DomainError(f"Invoice {invoice.number} is {invoice.status}: "
                              "it cannot be cancelled.")
        if invoice.status != "draft":
            models.Client.update(balance=models.Client.balance - invoice.balance).where(
                models.Client.id == invoice.client_id).execute()
        invoice.status = "cancelled"
        invoice.save()
        models.Activity.log("invoice.cancelled", invoice, client=invoice.client_id,
                            staff=staff)
    return invoice


def mark_viewed(invoice, contact):
    if invoice.viewed_at is None:
        with unless_busy():
            models.Invoice.update(viewed_at=models.utcnow()).where(
                (models.Invoice.id == invoice.id) & models.Invoice.viewed_at.is_null()
            ).execute()
            models.Activity.log("invoice.viewed", invoice, client=invoice.client_id,
                                contact=contact)


def _locked(record):
    """Re-read inside the transaction so a decision uses the committed state."""
    model = type(record)
    query = model.select().where(model.id == record.id)
    if models.on_postgres():
        query = query.for_update()
    return query.get()


def due_date_for(date, days=30):
    return date + dt.timedelta(days=days)


EDITABLE = ("date", "due_date", "discount", "partial", "partial_due_date", "notes", "terms",
            "footer", "po_number")


def update_draft(invoice, fields, lines=None, staff=None):
    """Change a draft; once sent, an invoice is a record the client relies on."""
    with transaction():
        invoice = _locked(invoice)
        if invoice.status != "draft":
            raise DomainError(f"Invoice {invoice.number} is {invoice.status}: only drafts "
                              "can be changed.")
        if invoice.allocations.exists():
            # Money was applied to what it said: changing it would rewrite a receipt.
            raise DomainError(f"Invoice {invoice.number} has payments: it can no longer be "
                              "changed.")
        for key in EDITABLE:
            if key in fields:
                setattr(invoice, key, fields[key])
        check_dates(invoice.date, invoice.due_date, invoice.partial_due_date)
        if lines is not None:
            documents.set_lines(invoice, lines, "invoice")
        else:
            documents.reprice(invoice, "invoice")
        if invoice.partial < 0 or invoice.partial > invoice.total:
            raise DomainError("The deposit must be between zero and the invoice total.",
                              "partial")
        invoice.balance = invoice.total
        invoice.save()
        models.Activity.log("invoice.updated", invoice, client=invoice.client_id, staff=staff)
    return invoice


def archive(invoice, staff=None):
    """Take an invoice off every list (portal, back office, API); the record stays."""
    with transaction():
        invoice = _locked(invoice)
        if invoice.archived_at is not None:
            return invoice
        invoice.archived_at = models.utcnow()
        invoice.save()
        if invoice.status != "draft":
            models.Client.update(listed_invoices=models.Client.listed_invoices - 1).where(
                models.Client.id == invoice.client_id).execute()
        models.Activity.log("invoice.archived", invoice, client=invoice.client_id, staff=staff)
    return invoice
