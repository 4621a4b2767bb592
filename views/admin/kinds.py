"""What differs between the four documents the staff editor writes: their header fields,
the service that creates or changes each, when it may still be edited, its PDF, its actions.

Every function here only turns parsed form values into a billing service call.
"""
from dataclasses import dataclass, field

import models
import money
from billing import credits, invoices, quotes, recurring
from billing.schedule import FREQUENCIES
from views.admin import editor_form as parse
from views.current import service_config


@dataclass
class Kind:
    key: str  # URL segment and API resource name
    noun: str  # "invoice"
    title: str  # "Invoice"
    model: type
    line_field: str
    list_endpoint: str
    header_template: str
    pdf_template: str
    header: object  # (form, currency, locale) -> fields for the services
    create: object  # (client, lines, fields, form, staff) -> record
    update: object  # (record, fields, lines, staff) -> record
    editable: object  # record -> bool (only to show or hide the edit link)
    values: object  # (record, locale) -> header values as the form shows them
    actions: dict = field(default_factory=dict)  # name -> button label
    confirm: dict = field(default_factory=dict)  # name -> question, for destructive actions
    then: object = None  # name -> run(record, staff): "mark sent" / "e-mail" right on create
    action_endpoint: str = ""
    id_arg: str = "record_id"

    def action_url(self, record, action):
        from flask import url_for
        return url_for(self.action_endpoint, action=action, **{self.id_arg: record.id})


def _common(form, currency, locale, dated=True):
    fields = {"discount": parse.amount(form, "discount", "Discount", currency, locale),
              "notes": parse.text(form, "notes"), "terms": parse.text(form, "terms")}
    if dated:
        fields["date"] = parse.date(form, "date", "date") or models.utcnow().date()
    return fields


def _common_values(record, locale, dated=True):
    values = {"client": str(record.client_id),
              "discount": money.input_string(record.discount, record.currency, locale)
              if record.discount else "",
              "notes": record.notes, "terms": record.terms}
    if dated:
        values["date"] = record.date.isoformat()
    return values


def _iso(value):
    return value.isoformat() if value else ""


# Invoices ---------------------------------------------------------------------------------

def invoice_header(form, currency, locale):
    return {**_common(form, currency, locale),
            "due_date": parse.date(form, "due_date", "due date"),
            "po_number": parse.text(form, "po_number", 64),
            "partial": parse.amount(form, "partial", "Deposit", currency, locale),
            "partial_due_date": parse.date(form, "partial_due_date", "deposit's due date")}


def invoice_values(inv, locale):
    return {**_common_values(inv, locale), "due_date": _iso(inv.due_date),
            "po_number": inv.po_number, "partial_due_date": _iso(inv.partial_due_date),
            "partial": money.input_string(inv.partial, inv.currency, locale)
            if inv.partial else ""}


def create_invoice(client, lines, fields, form, staff):
    invoice = invoices.create_invoice(client, lines, **fields)
    models.Activity.log("invoice.created", invoice, client=client.id, staff=staff)
    return invoice


# Quotes -----------------------------------------------------------------------------------

def quote_header(form, currency, locale):
    return {**_common(form, currency, locale),
            "valid_until": parse.date(form, "valid_until", "valid until date")}


def quote_values(quote, locale):
    return {**_common_values(quote, locale), "valid_until": _iso(quote.valid_until)}


# Credits ----------------------------------------------------------------------------------

def credit_header(form, currency, locale):
    return {**_common(form, currency, locale), "reason": form.get("reason", "adjustment")}


def credit_values(credit, locale):
    return {**_common_values(credit, locale), "reason": credit.reason}


def create_credit(client, lines, fields, form, staff):
    return credits.create_credit(client, lines, **fields, staff=staff,
                                 status="draft" if form.get("draft") == "1" else "sent")


# Recurring invoices -----------------------------------------------------------------------

def recurring_header(form, currency, locale):
    return {**_common(form, currency, locale, dated=False),
            "frequency": form.get("frequency", "monthly"),
            "start_date": parse.date(form, "start_date", "start date", required=True),
            "remaining_cycles": parse.whole(form, "remaining_cycles", "Remaining cycles", -1),
            "due_days": parse.whole(form, "due_days", "Days until due", 30),
            # The old checkbox (auto_bill=1) still means "always" to a form that sends it.
            "auto_bill_mode": form.get("auto_bill_mode")
            or ("always" if form.get("auto_bill") == "1" else "off")}


def recurring_values(rec, locale):
    return {**_common_values(rec, locale, dated=False), "frequency": rec.frequency,
            "start_date": _iso(rec.start_date), "remaining_cycles": str(rec.remaining_cycles),
            "due_days": str(rec.due_days), "auto_bill_mode": rec.auto_bill_mode}


def create_recurring(client, lines, fields, form, staff):
    status = form.get("status", "active")
    record = recurring.create_recurring(client, lines, **fields, status=status)
    models.Activity.log("recurring.created", record, client=client.id, staff=staff)
    return record


def _then_invoice(name):
    return {"mark_sent": lambda r, s: invoices.mark_sent(r, staff=s),
            "email": lambda r, s: invoices.email_invoice(r, service_config(), staff=s)}[name]


def _then_quote(name):
    return {"mark_sent": lambda r, s: quotes.mark_sent(r, staff=s),
            "email": lambda r, s: quotes.email_quote(r, service_config(), staff=s)}[name]


# The credit and recurring buttons; invoice and quote buttons post to the actions the lists
# already had (views/admin/__init__.py, views/admin/quotes.py).
CREDIT_ACTIONS = {"mark_sent": (lambda r, s: credits.mark_sent(r, staff=s), "Credit {} issued.")}
RECURRING_ACTIONS = {
    "start": (lambda r, s: recurring.set_status(r, "active", staff=s), "{} started."),
    "pause": (lambda r, s: recurring.set_status(r, "paused", staff=s), "{} paused."),
    "resume": (lambda r, s: recurring.set_status(r, "active", staff=s), "{} resumed."),
    "stop": (lambda r, s: recurring.set_status(r, "completed", staff=s), "{} stopped."),
}

KINDS = {kind.key: kind for kind in (
    Kind("invoices", "invoice", "Invoice", models.Invoice, "invoice", "admin.invoices",
         "admin/_header_invoice.html", "pdf/invoice.html", invoice_header, create_invoice,
         lambda r, f, lines, staff: invoices.update_draft(r, f, lines, staff=staff),
         lambda r: r.status == "draft", invoice_values,
         actions={"email": "E-mail to the client", "mark_sent": "Mark sent",
                  "mark_paid": "Mark paid", "cancel": "Cancel invoice", "archive": "Archive"},
         confirm={"cancel": "Cancel invoice {}? The client will no longer owe it.",
                  "archive": "Archive invoice {}? It leaves every list."},
         then=_then_invoice, action_endpoint="admin.invoice_action", id_arg="invoice_id"),
    Kind("quotes", "quote", "Quote", models.Quote, "quote", "admin_quotes.quotes",
         "admin/_header_quote.html", "pdf/quote.html", quote_header,
         lambda client, lines, f, form, staff: quotes.create_quote(client, lines, **f,
                                                                   staff=staff),
         lambda r, f, lines, staff: quotes.update_quote(r, f, lines, staff=staff),
         lambda r: r.status in quotes.EDITABLE_STATUSES, quote_values,
         actions={"email": "E-mail to the client", "mark_sent": "Mark sent",
                  "approve": "Approve", "convert": "Convert to invoice"},
         confirm={"approve": "Approve quote {} for the client? It becomes an invoice.",
                  "convert": "Convert quote {} to an invoice?"},
         then=_then_quote, action_endpoint="admin_quotes.quote_action", id_arg="quote_id"),
    Kind("credits", "credit", "Credit", models.Credit, "credit", "admin_quotes.credits",
         "admin/_header_credit.html", "pdf/credit.html", credit_header, create_credit,
         lambda r, f, lines, staff: credits.update_credit(r, f, lines, staff=staff),
         lambda r: r.status == "draft", credit_values,
         actions={"mark_sent": "Issue (show to the client)"},
         action_endpoint="admin_editor.credit_action"),
    Kind("recurring_invoices", "recurring invoice", "Recurring invoice", models.RecurringInvoice,
         "recurring", "admin_editor.recurring_list", "admin/_header_recurring.html",
         "pdf/recurring.html", recurring_header, create_recurring,
         lambda r, f, lines, staff: recurring.update_recurring(r, f, lines, staff=staff),
         lambda r: r.status != "completed", recurring_values,
         actions={"start": "Start", "pause": "Pause", "resume": "Resume",
                  "stop": "Stop for good"},
         confirm={"stop": "Stop {} for good? No more invoices will be issued."},
         action_endpoint="admin_editor.recurring_action"),
)}

FREQUENCY_CHOICES = list(FREQUENCIES.items())
REASONS = {"refund": "Refund", "adjustment": "Goodwill adjustment",
           "overpayment": "Over-payment"}


def available_actions(kind, record, today=None):
    """Which of a kind's actions make sense for this record now (the services still decide)."""
    status = record.status
    if kind.key == "invoices":
        if status in ("cancelled", "void"):
            return ["archive"] if record.archived_at is None else []
        names = ["email"]
        if status == "draft":
            names.append("mark_sent")
        if record.balance > 0 and status != "paid":
            names.append("mark_paid")
        if status not in ("paid",):
            names.append("cancel")
        if record.archived_at is None:
            names.append("archive")
        return names
    if kind.key == "quotes":
        shown = record.display_status(today)
        names = []
        if status in ("draft", "sent", "declined", "expired"):
            names.append("email")
        if status in ("draft", "declined"):
            names.append("mark_sent")
        if shown == "sent":
            names.append("approve")
        if status in ("sent", "approved", "expired") and not record.invoice_id:
            names.append("convert")
        return names
    if kind.key == "credits":
        return ["mark_sent"] if status == "draft" else []
    return {"draft": ["start", "stop"], "active": ["pause", "stop"],
            "paused": ["resume", "stop"]}.get(status, [])
