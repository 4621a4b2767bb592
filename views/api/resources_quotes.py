"""/api/v1/quotes and /api/v1/credits."""
import models
from billing import credits, quotes
from views import service_config
from views.api import ApiError, resource
from views.api.base import Resource, bulk, client_by_id
from views.api.fields import amount, date, iso, lines, lines_out, money_out, text
from views.api.resources_invoices import document_fields, totals_out


def _approve(res, quote, data, staff):
    # Staff approve on the client's behalf: no contact, so no portal signature rules.
    quotes.approve(None, quote, config=service_config(), staff=staff)
    return quote


@resource
class QuoteResource(Resource):
    name = "quotes"
    model = models.Quote
    fields = {"client_id": ("string", "Client id"), "line_items": ("array", "Lines"),
              "date": ("string", "YYYY-MM-DD"), "valid_until": ("string", "YYYY-MM-DD"),
              "discount": ("string", "Decimal amount"), "notes": ("string", ""),
              "terms": ("string", ""), "footer": ("string", ""),
              "status": ("string", "draft (default) or sent")}
    required = ("client_id", "line_items")
    bulk_actions = {"email": bulk(quotes.email_quote, with_config=True),
                    "mark_sent": bulk(quotes.mark_sent), "approve": _approve,
                    "convert": bulk(quotes.convert)}
    accepts_uploads = True

    def query(self, args):
        Q = models.Quote
        query = Q.select(Q, models.Client).join(models.Client).where(Q.archived_at.is_null())
        if args.get("client_id"):
            query = query.where(models.Client.public_id == args["client_id"][:24])
        if args.get("status") in Q.STATUSES:
            query = query.where(Q.status == args["status"])
        return query.order_by(Q.date.desc(), Q.id.desc())

    def serialize(self, q):
        return {"id": q.public_id, "client_id": q.client.public_id, "number": q.number,
                "status": q.display_status(), "date": iso(q.date),
                "valid_until": iso(q.valid_until), "currency": q.currency, **totals_out(q),
                "notes": q.notes, "terms": q.terms, "footer": q.footer,
                "invoice_id": q.invoice.public_id if q.invoice_id else None,
                "approved_at": iso(q.approved_at), "declined_reason": q.declined_reason,
                "archived_at": iso(q.archived_at), "line_items": lines_out(q, q.currency)}

    def create(self, data, staff):
        client = client_by_id(data)
        status = data.get("status", "draft")
        if status not in ("draft", "sent"):
            raise ApiError("status must be draft or sent.", 422, "status")
        return quotes.create_quote(
            client, lines(data, client.currency), date=date(data, "date"),
            valid_until=date(data, "valid_until"),
            discount=amount(data, "discount", client.currency),
            notes=text(data, "notes", limit=5000), terms=text(data, "terms", limit=5000),
            footer=text(data, "footer", limit=5000), status=status, staff=staff)

    def document_link(self, record):
        return {"quote": record}


@resource
class CreditResource(Resource):
    name = "credits"
    model = models.Credit
    fields = {"client_id": ("string", "Client id"), "line_items": ("array", "Lines"),
              "date": ("string", "YYYY-MM-DD"),
              "reason": ("string", ", ".join(credits.REASONS)),
              "notes": ("string", ""), "status": ("string", "sent (default) or draft")}
    required = ("client_id", "line_items")

    def query(self, args):
        C = models.Credit
        query = C.select(C, models.Client).join(models.Client).where(C.archived_at.is_null())
        if args.get("client_id"):
            query = query.where(models.Client.public_id == args["client_id"][:24])
        return query.order_by(C.date.desc(), C.id.desc())

    def serialize(self, c):
        return {"id": c.public_id, "client_id": c.client.public_id, "number": c.number,
                "status": c.status, "reason": c.reason, "date": iso(c.date),
                "currency": c.currency, **totals_out(c),
                "balance": money_out(c.balance, c.currency), "notes": c.notes,
                "archived_at": iso(c.archived_at), "line_items": lines_out(c, c.currency)}

    def create(self, data, staff):
        client = client_by_id(data)
        fields = document_fields(data, client.currency)
        return credits.create_credit(
            client, lines(data, client.currency), date=fields.get("date"),
            reason=text(data, "reason", "adjustment", limit=32),
            discount=fields.get("discount", 0), notes=fields.get("notes", ""),
            status=text(data, "status", "sent", limit=8), staff=staff)
