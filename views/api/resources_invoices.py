"""/api/v1/invoices and /api/v1/recurring_invoices."""
import models
from billing import invoices, recurring
from billing.schedule import FREQUENCIES
from views.api import ApiError, resource
from views.api.base import Resource, bulk, client_by_id
from views.api.fields import amount, date, iso, lines, lines_out, money_out, text


def document_fields(data, currency):
    fields = {}
    for key in ("notes", "terms", "footer"):
        if key in data:
            fields[key] = text(data, key, limit=5000)
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
    fields = {"client_id": ("string", "Client id"), "line_items": ("array", "Lines"),
              "date": ("string", "YYYY-MM-DD"), "due_date": ("string", "YYYY-MM-DD"),
              "discount": ("string", "Decimal amount"), "partial": ("string", "Deposit due"),
              "partial_due_date": ("string", "YYYY-MM-DD"), "po_number": ("string", ""),
              "notes": ("string", ""), "terms": ("string", ""), "footer": ("string", ""),
              "status": ("string", "draft (default) or sent")}
    required = ("client_id", "line_items")
    bulk_actions = {"email": bulk(invoices.email_invoice, with_config=True),
                    "mark_sent": bulk(invoices.mark_sent), "mark_paid": bulk(invoices.mark_paid),
                    "archive": _archive}
    accepts_uploads = True

    def query(self, args):
        Inv = models.Invoice
        query = Inv.select(Inv, models.Client).join(models.Client).where(
            Inv.archived_at.is_null())
        if args.get("client_id"):
            query = query.where(models.Client.public_id == args["client_id"][:24])
        if args.get("status") in Inv.STATUSES:
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
        status = data.get("status", "draft")
        if status not in ("draft", "sent"):
            raise ApiError("status must be draft or sent.", 422, "status")
        fields = document_fields(data, client.currency)
        return invoices.create_invoice(client, lines(data, client.currency), status=status,
                                       **fields)

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
    fields = {"client_id": ("string", "Client id"), "line_items": ("array", "Lines"),
              "frequency": ("string", ", ".join(FREQUENCIES)),
              "start_date": ("string", "YYYY-MM-DD"),
              "remaining_cycles": ("integer", "-1: until stopped"),
              "due_days": ("integer", "Days from issue to due"),
              "status": ("string", "active, paused or draft")}
    required = ("client_id", "line_items", "start_date")

    def query(self, args):
        R = models.RecurringInvoice
        return R.select(R, models.Client).join(models.Client).order_by(R.id.desc())

    def serialize(self, r):
        cur = r.currency
        return {"id": r.public_id, "client_id": r.client.public_id, "number": r.number,
                "status": r.status, "frequency": r.frequency, "start_date": iso(r.start_date),
                "next_send_date": iso(r.next_send_date), "remaining_cycles": r.remaining_cycles,
                "due_days": r.due_days, "currency": cur, **totals_out(r),
                "notes": r.notes, "terms": r.terms, "line_items": lines_out(r, cur)}

    def create(self, data, staff):
        client = client_by_id(data)
        start = date(data, "start_date")
        if start is None:
            raise ApiError("start_date is required.", 422, "start_date")
        status = data.get("status", "active")
        if status not in ("active", "paused", "draft"):
            raise ApiError("status must be active, paused or draft.", 422, "status")
        cycles, due_days = data.get("remaining_cycles", -1), data.get("due_days", 30)
        if not isinstance(cycles, int) or cycles < -1 or cycles == 0:
            raise ApiError("remaining_cycles must be -1 or a positive whole number.", 422,
                           "remaining_cycles")
        if not isinstance(due_days, int) or not 0 <= due_days <= 365:
            raise ApiError("due_days must be a whole number from 0 to 365.", 422, "due_days")
        return recurring.create_recurring(
            client, lines(data, client.currency), frequency=text(data, "frequency", "monthly"),
            start_date=start, remaining_cycles=cycles, due_days=due_days,
            discount=amount(data, "discount", client.currency),
            notes=text(data, "notes", limit=5000), terms=text(data, "terms", limit=5000),
            status=status)

    def update(self, record, data, staff):
        status = data.get("status")
        if status not in ("active", "paused"):
            raise ApiError("Only status (active or paused) can be changed.", 422, "status")
        return recurring.set_status(record, status, staff=staff)

    def archive(self, record, staff):
        return recurring.set_status(record, "completed", staff=staff)
