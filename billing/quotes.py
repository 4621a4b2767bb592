"""The quote lifecycle: create, e-mail, mark sent, approve (which converts), convert, decline.

Portal, staff back office and the JSON API all call these functions. Approval claims the
quote with a conditional UPDATE on its status, so however many requests or contacts approve
at once, exactly one of them converts it into exactly one invoice.
"""
import base64
import binascii

import mail
import models
from billing import (
    DomainError,
    documents,
    numbering,
    quote_mail,
    transaction,
    unless_busy,
    validation,
)
from billing import invoices as invoice_service
from i18n import gettext as _

# Decoded PNG bytes: a drawn signature is well under this, and its base64 stays under
# the 200 kB form limit (MAX_FORM_MEMORY_SIZE).
MAX_SIGNATURE_BYTES = 100_000
MAX_REASON = 1000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"


def create_quote(client, lines, *, date=None, valid_until=None, discount=0, notes="", terms="",
                 footer="", currency=None, status="draft", staff=None):
    date = date or models.utcnow().date()
    if valid_until is not None and valid_until < date:
        raise DomainError("“Valid until” cannot be before the quote date.", "valid_until")
    if not lines:
        raise DomainError("A quote needs at least one line.", "lines")
    with transaction():
        quote = models.Quote(
            client=client, number=numbering.next_number("quote"), date=date,
            valid_until=valid_until, currency=currency or client.currency, discount=discount,
            notes=notes, terms=terms or _company().quote_terms, footer=footer, status="draft")
        quote.save()
        documents.set_lines(quote, lines, "quote")
        quote.save()
        models.Activity.log("quote.created", quote, client=client.id, staff=staff)
        if status == "sent":
            _mark_sent(quote)
    return quote


def _company():
    return models.Company.current() or models.Company(name="Client Portal")


def _mark_sent(quote):
    """Leave draft, or re-offer a declined quote (staff re-sending it)."""
    if quote.status not in ("draft", "declined"):
        return False
    quote.status, quote.sent_at, quote.declined_reason = "sent", models.utcnow(), ""
    quote.save()
    return True


def _refuse_finished(quote, verb):
    if quote.status in ("approved", "converted"):
        raise DomainError(f"Quote {quote.number} was already approved; it cannot be {verb}.")


def mark_sent(quote, staff=None):
    with transaction():
        quote = invoice_service._locked(quote)
        _refuse_finished(quote, "sent again")
        if _mark_sent(quote):
            models.Activity.log("quote.marked_sent", quote, client=quote.client_id, staff=staff)
    return quote


def email_quote(quote, config, staff=None):
    """E-mail every active contact a personal link and mark the quote sent; returns the mail."""
    with transaction():
        quote = invoice_service._locked(quote)
        _refuse_finished(quote, "e-mailed")
        contacts = [c for c in quote.client.contacts if c.is_active and c.email]
        if not contacts:
            raise DomainError("This client has no contact with an e-mail address.")
        _mark_sent(quote)
        messages = [quote_mail.quote_email(quote, contact, config) for contact in contacts]
        models.Activity.log("quote.emailed", quote, client=quote.client_id, staff=staff,
                            detail=", ".join(c.email for c in contacts))
    mail.send_now(messages, config)
    return messages


def check_approvable(quote, today=None):
    """Raise the reason a quote cannot be approved now, or return None."""
    today = today or models.utcnow().date()
    if quote.status in ("approved", "converted"):
        raise DomainError(_("Quote %(number)s was already approved.", number=quote.number))
    if quote.status == "declined":
        raise DomainError(_("Quote %(number)s was declined; ask us to send it again.",
                            number=quote.number))
    if quote.status == "draft":
        raise DomainError(_("Quote %(number)s has not been sent yet.", number=quote.number))
    if quote.status == "expired" or quote.is_expired(today):
        raise DomainError(_("Quote %(number)s expired on %(date)s; ask us for a new one.",
                            number=quote.number, date=quote.valid_until.isoformat()))
    if quote.status != "sent":
        raise DomainError(_("Quote %(number)s cannot be approved.", number=quote.number))


def clean_signature(value):
    """A drawn signature as a PNG data: URL, or "" when none; refuses anything else."""
    value = (value or "").strip()
    if not value:
        return ""
    if not value.startswith(DATA_URL_PREFIX) or len(value) > MAX_SIGNATURE_BYTES * 4 // 3 + 64:
        raise DomainError(_("The signature could not be read; please sign again."),
                          "signature")
    try:
        raw = base64.b64decode(value[len(DATA_URL_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise DomainError(_("The signature could not be read; please sign again."),
                          "signature") from None
    if not raw.startswith(PNG_MAGIC) or len(raw) > MAX_SIGNATURE_BYTES:
        raise DomainError(_("The signature could not be read; please sign again."),
                          "signature")
    return value


def clean_po_number(value):
    return validation.single_line(value, "PO number", "po_number", 64)


def check_requirements(company, signature, accepted_terms, po_number=""):
    """What the business asks of a contact before approving; returns the cleaned signature
    and PO number."""
    signature = clean_signature(signature)
    po_number = clean_po_number(po_number)
    if company.quote_requires_terms and not accepted_terms:
        raise DomainError(_("Please accept the terms to approve."), "accepted_terms")
    if company.quote_requires_signature and not signature:
        raise DomainError(_("Please sign in the box to approve."), "signature")
    if company.quote_requires_po_number and not po_number:
        raise DomainError(_("Enter your purchase order (PO) number to approve."), "po_number")
    return signature, po_number


def approve(contact, quote, ip="", signature=None, accepted_terms=False, *, config=None,
            staff=None, po_number=""):
    """Approve one quote and turn it into a sent invoice; returns that invoice."""
    invoices, _skipped = approve_many(contact, [quote], ip, signature, accepted_terms,
                                      config=config, staff=staff, po_number=po_number)
    return invoices[0]


def approve_many(contact, quotes, ip="", signature=None, accepted_terms=False, *, config=None,
                 staff=None, po_number=""):
    """Approve several quotes together: all of them or, on any refusal, none.

    Returns (invoices, staff messages). contact is None when staff approve on the client's
    behalf (back office, API): the portal's terms and signature requirements are the
    contact's to meet, not staff's.
    """
    if not quotes:
        raise DomainError(_("Select at least one quote to approve."))
    company = _company()
    with transaction():
        # Lock and check every quote first, so a finished quote is refused for what it is,
        # before any question of terms or signature.
        locked = [_check_one(contact, quote) for quote in quotes]
        if contact is not None:
            signature, po_number = check_requirements(company, signature, accepted_terms,
                                                      po_number)
        else:
            signature, po_number = clean_signature(signature), clean_po_number(po_number)
        created = [_claim_and_convert(contact, quote, ip, signature, accepted_terms, staff,
                                      po_number) for quote in locked]
        messages = quote_mail.staff_approved_email(company, contact, created, config or {})
    if config:
        mail.send_now(messages, config)
    return created, messages


def _check_one(contact, quote):
    quote = invoice_service._locked(quote)
    if contact is not None and quote.client_id != contact.client_id:
        raise DomainError(_("That quote was not found."))
    check_approvable(quote)
    return quote


def _claim_and_convert(contact, quote, ip, signature, accepted_terms, staff, po_number):
    today, now = models.utcnow().date(), models.utcnow()
    Q = models.Quote
    # The claim: only the request that moves the row out of "sent" goes on to convert it.
    claimed = Q.update(status="approved", approved_by=contact, approved_at=now,
                       approved_ip=(ip or "")[:45], signature=signature).where(
        (Q.id == quote.id) & (Q.status == "sent")
        & (Q.valid_until.is_null() | (Q.valid_until >= today))).execute()
    if claimed != 1:
        raise DomainError(_("Quote %(number)s was already approved.", number=quote.number))
    quote = Q.get_by_id(quote.id)
    detail = "terms accepted" if accepted_terms else ""
    models.Activity.log("quote.approved", quote, client=quote.client_id, contact=contact,
                        staff=staff, ip=(ip or "")[:45], detail=detail)
    return _convert(quote, staff=staff, contact=contact, po_number=po_number)


def _convert(quote, staff=None, contact=None, po_number=""):
    """Copy an approved quote into a sent invoice; the caller holds the claim on the quote."""
    lines = [{"product": line.product, "description": line.description,
              "quantity": line.quantity, "unit_cost": line.unit_cost,
              "discount_percent": line.discount_percent, "tax_name": line.tax_name,
              "tax_rate": line.tax_rate}
             for line in quote.ordered_lines()]
    today = models.utcnow().date()
    invoice = invoice_service.create_invoice(
        quote.client, lines, date=today, due_date=invoice_service.due_date_for(today),
        discount=quote.discount, notes=quote.notes, terms=quote.terms, footer=quote.footer,
        currency=quote.currency, status="sent", po_number=po_number)
    models.Quote.update(status="converted", invoice=invoice).where(
        models.Quote.id == quote.id).execute()
    models.Activity.log("quote.converted", quote, client=quote.client_id, contact=contact,
                        staff=staff, detail=invoice.number)
    return invoice


def convert(quote, staff=None):
    """Staff turn a sent or approved quote into an invoice without a client approval."""
    with transaction():
        quote = invoice_service._locked(quote)
        if quote.status == "converted" or quote.invoice_id:
            raise DomainError(f"Quote {quote.number} was already converted.")
        if quote.status not in ("sent", "approved", "expired"):
            raise DomainError(f"A {quote.status} quote cannot be converted; send it first.")
        Q = models.Quote
        claimed = Q.update(status="approved").where(
            (Q.id == quote.id) & Q.status.in_(("sent", "approved", "expired"))
            & Q.invoice.is_null()).execute()
        if claimed != 1:
            raise DomainError(f"Quote {quote.number} was already converted.")
        return _convert(Q.get_by_id(quote.id), staff=staff)


def decline(contact, quote, reason="", ip="", *, config=None, staff=None):
    """The contact turns a quote down; staff hear about it. Returns the quote.

    `staff` is set when a staff member does it in the portal as the contact: the record then
    names them, not the contact."""
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise DomainError(_("Keep the reason under %(count)s characters.", count=MAX_REASON),
                          "reason")
    with transaction():
        quote = invoice_service._locked(quote)
        if quote.client_id != contact.client_id:
            raise DomainError(_("That quote was not found."))
        if quote.status in ("approved", "converted"):
            raise DomainError(_("Quote %(number)s was already approved.", number=quote.number))
        if quote.status == "declined":
            raise DomainError(_("Quote %(number)s was already declined.", number=quote.number))
        if quote.status != "sent":
            raise DomainError(_("Quote %(number)s cannot be declined.", number=quote.number))
        Q = models.Quote
        claimed = Q.update(status="declined", declined_reason=reason).where(
            (Q.id == quote.id) & (Q.status == "sent")).execute()
        if claimed != 1:
            raise DomainError(_("Quote %(number)s was already answered.", number=quote.number))
        quote = Q.get_by_id(quote.id)
        actor = None if staff else contact
        models.Activity.log("quote.declined", quote, client=quote.client_id, contact=actor,
                            staff=staff, ip=(ip or "")[:45], detail=reason[:200])
        messages = quote_mail.staff_declined_email(_company(), actor, quote, config or {})
    if config:
        mail.send_now(messages, config)
    return quote


def terms_accepted(quote):
    """Whether the approving contact ticked the terms (kept in the approval's activity)."""
    A = models.Activity
    return A.select().where((A.action == "quote.approved") & (A.subject_type == "quote")
                            & (A.subject_id == quote.id)
                            & (A.detail == "terms accepted")).exists()


def mark_viewed(quote, contact):
    """The first time a contact opens the quote; later views change nothing."""
    if quote.viewed_at is None:
        with unless_busy():
            models.Quote.update(viewed_at=models.utcnow()).where(
                (models.Quote.id == quote.id) & models.Quote.viewed_at.is_null()).execute()


# A quote is an offer: it can be revised until the client accepts it.
EDITABLE_STATUSES = ("draft", "sent", "declined")
EDITABLE = ("date", "valid_until", "discount", "notes", "terms", "footer")


def update_quote(quote, fields, lines=None, staff=None):
    """Revise a quote's header and lines; refused once it was approved or converted."""
    with transaction():
        quote = invoice_service._locked(quote)
        if quote.status not in EDITABLE_STATUSES:
            raise DomainError(f"Quote {quote.number} is {quote.status}: it can no longer be "
                              "changed.")
        for key in EDITABLE:
            if key in fields:
                setattr(quote, key, fields[key])
        if quote.valid_until is not None and quote.valid_until < quote.date:
            raise DomainError("“Valid until” cannot be before the quote date.", "valid_until")
        if lines is not None:
            if not lines:
                raise DomainError("A quote needs at least one line.", "lines")
            documents.set_lines(quote, lines, "quote")
        else:
            documents.reprice(quote, "quote")
        quote.save()
        models.Activity.log("quote.updated", quote, client=quote.client_id, staff=staff)
    return quote
