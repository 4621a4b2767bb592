"""/api/v1/invoices and /api/v1/recurring_invoices."""
import models
from billing import invoices, recurring
from billing.schedule import FREQUENCIES
from views.api import resource
from views.api.base import Resource, bulk, client_by_id
from views.api.fields import amount, date, iso, lines, lines_out, money_out, text
from views.api.schemas import (
    CLIENT_FILTER,
    DATE,
    DATE_OUT,
    DATETIME_OUT,
    ID,
    LINE_ITEMS_OUT,
    MONEY,
    MONEY_OUT,
    TOTALS_OUT,
    body,
    enum,
    line,
    line_items,
    nullable,
    record,
    status_filter,
    string_out,
)
from views.api.schemas import text as text_schema

CLIENT_ID = {**ID, "description": "The id of an existing client."}
NOTES = {key: text_schema(5000) for key in ("notes", "terms", "footer")}
INVOICE_FIELDS = {
    "date": {**DATE, "description": "Issue date, YYYY-MM-DD (default today)."},
    "due_date": nullable({**DATE, "description": "Due date, YYYY-MM-DD, or null."}),
    "discount": {**MONEY, "description": "Amount off the subtotal, a decimal string."},
    "partial": {**MONEY, "description": "Deposit due first, a decimal string."},
    "partial_due_date": nullable({**DATE, "description": "When the deposit is due."}),
    "po_number": line(64, "The client's purchase order number."),
    **NOTES,
}
DOCUMENT_OUT = {"id": {"type": "string"}, "client_id": {"type": "string"},
                "number": {"type": "string"}, "status": {"type": "string"},
                "currency": {"type": "string"}, **TOTALS_OUT, "line_items": LINE_ITEMS_OUT}


def document_fields(data, currency):
    fields = {key: text(data, key, limit=5000) for key in ("notes", "terms", "footer")
              if key in data}
    if "po_number" in data:
        fields["po_number"] = text(data, "po_number", limit=64)
    for key in ("date", "due_date", "partial_due_date"):
        if key in data:
            fields[key] = date(data, key)
    for key in ("discount", "partial"):
        if key in data:
            fields[key] = amount(data, key, currency)
    return fields


def totals_out(record):
    cur = record.currency
    return {key: money_out(getattr(record, key), cur)
            for key in ("subtotal", "discount", "tax_total", "total")}


def _archive(res, invoice, data, staff):
    return res.archive(invoice, staff)


@resource
class InvoiceResource(Resource):
    name = "invoices"
    model = models.Invoice
    create_schema = body({
        "client_id": CLIENT_ID, "line_items": line_items(), **INVOICE_FIELDS,
        "status": enum(("draft", "sent"), "draft (default) or sent: sent is owed at once."),
    }, required=("client_id", "line_items"))
    update_schema = body({"line_items": line_items(), **INVOICE_FIELDS})
    record_schema = record({
        **DOCUMENT_OUT, "date": DATE_OUT, "due_date": DATE_OUT, "balance": MONEY_OUT,
        "partial": MONEY_OUT, "partial_due_date": DATE_OUT, "po_number": string_out(),
        "notes": string_out(), "terms": string_out(), "footer": string_out(),
        "recurring_id": string_out(nullable_=True), "sent_at": DATETIME_OUT,
        "viewed_at": DATETIME_OUT, "archived_at": DATETIME_OUT})
    filters = (CLIENT_FILTER, status_filter(models.Invoice.STATUSES))
    bulk_actions = {"email": bulk(invoices.email_invoice, with_config=True),
                    "mark_sent": bulk(invoices.mark_sent), "mark_paid": bulk(invoices.mark_paid),
                    "archive": _archive}
    accepts_uploads = True

    def query(self, args):
        Inv = models.Invoice
        query = Inv.select(Inv, models.Client).join(models.Client).where(
            Inv.archived_at.is_null())
        if args.get("client_id"):
            query = query.where(models.Client.public_id == args["client_id"])
        if args.get("status"):
            query = query.where(Inv.status == args["status"])
        return query.order_by(Inv.date.desc(), Inv.id.desc())

    def serialize(self, inv):
        cur = inv.currency
        return {"id": inv.public_id, "client_id": inv.client.public_id, "number": inv.number,
                "status": inv.status, "date": iso(inv.date), "due_date": iso(inv.due_date),
                "currency": cur, **totals_out(inv), "balance": money_out(inv.balance, cur),
                "partial": money_out(inv.partial, cur),
                "partial_due_date": iso(inv.partial_due_date), "po_number": inv.po_number,
                "notes": inv.notes, "terms": inv.terms, "footer": inv.footer,
                "recurring_id": inv.recurring.public_id if inv.recurring_id else None,
                "sent_at": iso(inv.sent_at), "viewed_at": iso(inv.viewed_at),
                "archived_at": iso(inv.archived_at), "line_items": lines_out(inv, cur)}

    def create(self, data, staff):
        client = client_by_id(data)
        fields = document_fields(data, client.currency)
        return invoices.create_invoice(client, lines(data, client.currency),
                                       status=data.get("status", "draft"), **fields)

    def update(self, record, data, staff):
        new_lines = lines(data, record.currency) if "line_items" in data else None
        return invoices.update_draft(record, document_fields(data, record.currency), new_lines,
                                     staff=staff)

    def archive(self, record, staff):
        return invoices.archive(record, staff=staff)

    def document_link(self, record):
        return {"invoice": record}


@resource
class RecurringResource(Resource):
    name = "recurring_invoices"
    model = models.RecurringInvoice
    create_schema = body({
        "client_id": CLIENT_ID, "line_items": line_items(),
        "frequency": enum(FREQUENCIES, "How often: " + ", ".join(FREQUENCIES) + "."),
        "start_date": {**DATE, "description": "First issue date, YYYY-MM-DD."},
        "remaining_cycles": {
            "anyOf": [{"type": "integer", "const": -1},
                      {"type": "integer", "minimum": 1, "maximum": 1000}],
            "description": "-1 (until stopped, the default) or a whole number of invoices "
                           "from 1 to 1000."},
        "due_days": {"type": "integer", "minimum": 0, "maximum": 365,
                     "description": "Days from issue to due, a whole number from 0 to 365."},
        "discount": {**MONEY, "description": "Amount off each invoice, a decimal string."},
        "notes": NOTES["notes"], "terms": NOTES["terms"],
        "auto_bill": {"type": "boolean",
                      "description": "Charge the client's saved payment method on each invoice "
                                     "(true: auto_bill_mode always)."},
        "auto_bill_mode": enum(("off", "always", "optin", "optout"),
                               "off, always, optin (the client turns it on) or optout (the "
                               "client may turn it off); overrides auto_bill."),
        "status": enum(("active", "paused", "draft"), "active (default), paused or draft."),
    }, required=("client_id", "line_items", "start_date"))
    update_schema = body({"status": enum(("active", "paused"), "active or paused.")},
                         required=("status",))
    record_schema = record({
        **DOCUMENT_OUT, "frequency": {"type": "string"}, "start_date": DATE_OUT,
        "next_send_date": DATE_OUT, "remaining_cycles": {"type": "integer"},
        "due_days": {"type": "integer"}, "auto_bill": {"type": "boolean"},
        "auto_bill_mode": {"type": "string"}, "auto_bill_choice": {"type": "string"},
        "notes": string_out(), "terms": string_out()})

    def query(self, args):
        R = models.RecurringInvoice
        return R.select(R, models.Client).join(models.Client).order_by(R.id.desc())

    def serialize(self, r):
        cur = r.currency
        return {"id": r.public_id, "client_id": r.client.public_id, "number": r.number,
                "status": r.status, "frequency": r.frequency, "start_date": iso(r.start_date),
                "next_send_date": iso(r.next_send_date), "remaining_cycles": r.remaining_cycles,
                "due_days": r.due_days, "auto_bill": r.auto_bill,
                "auto_bill_mode": r.auto_bill_mode, "auto_bill_choice": r.auto_bill_choice,
                "currency": cur,
                **totals_out(r),
                "notes": r.notes, "terms": r.terms, "line_items": lines_out(r, cur)}

    def create(self, data, staff):
        client = client_by_id(data)
        return recurring.create_recurring(
            client, lines(data, client.currency), frequency=data.get("frequency", "monthly"),
            start_date=date(data, "start_date"),
            remaining_cycles=int(data.get("remaining_cycles", -1)),
            due_days=int(data.get("due_days", 30)),
            discount=amount(data, "discount", client.currency),
            notes=text(data, "notes", limit=5000), terms=text(data, "terms", limit=5000),
            status=data.get("status", "active"), auto_bill=data.get("auto_bill", False),
            auto_bill_mode=data.get("auto_bill_mode"))

    def update(self, record, data, staff):
        return recurring.set_status(record, data["status"], staff=staff)

    def archive(self, record, staff):
        return recurring.set_status(record, "completed", staff=staff)
