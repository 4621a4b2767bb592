"""/api/v1/quotes and /api/v1/credits."""
import models
from billing import credits, quotes
from views.api import resource
from views.api.base import Resource, bulk, client_by_id
from views.api.fields import amount, date, iso, lines, lines_out, money_out, text
from views.api.resources_invoices import CLIENT_ID, DOCUMENT_OUT, NOTES, totals_out
from views.api.schemas import (
    CLIENT_FILTER,
    DATE,
    DATE_OUT,
    DATETIME_OUT,
    MONEY,
    MONEY_OUT,
    body,
    enum,
    line_items,
    nullable,
    record,
    status_filter,
    string_out,
)
from views.current import service_config

QUOTE_STATUSES = ("draft", "sent", "approved", "converted", "declined", "expired")


def _approve(res, quote, data, staff):
    # Staff approve on the client's behalf: no contact, so no portal signature rules.
    quotes.approve(None, quote, config=service_config(), staff=staff)
    return quote


@resource
class QuoteResource(Resource):
    name = "quotes"
    model = models.Quote
    create_schema = body({
        "client_id": CLIENT_ID, "line_items": line_items(),
        "date": {**DATE, "description": "Quote date, YYYY-MM-DD (default today)."},
        "valid_until": nullable({**DATE, "description": "Last day to approve, or null."}),
        "discount": {**MONEY, "description": "Amount off the subtotal, a decimal string."},
        **NOTES, "status": enum(("draft", "sent"), "draft (default) or sent."),
    }, required=("client_id", "line_items"))
    record_schema = record({
        **DOCUMENT_OUT, "status": enum(QUOTE_STATUSES), "date": DATE_OUT,
        "valid_until": DATE_OUT, "notes": string_out(), "terms": string_out(),
        "footer": string_out(), "invoice_id": string_out(nullable_=True),
        "approved_at": DATETIME_OUT, "declined_reason": string_out(nullable_=True),
        "archived_at": DATETIME_OUT})
    filters = (CLIENT_FILTER, status_filter(models.Quote.STATUSES))
    bulk_actions = {"email": bulk(quotes.email_quote, with_config=True),
                    "mark_sent": bulk(quotes.mark_sent), "approve": _approve,
                    "convert": bulk(quotes.convert)}
    accepts_uploads = True

    def query(self, args):
        Q = models.Quote
        query = Q.select(Q, models.Client).join(models.Client).where(Q.archived_at.is_null())
        if args.get("client_id"):
            query = query.where(models.Client.public_id == args["client_id"])
        if args.get("status"):
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
        return quotes.create_quote(
            client, lines(data, client.currency), date=date(data, "date"),
            valid_until=date(data, "valid_until"),
            discount=amount(data, "discount", client.currency),
            notes=text(data, "notes", limit=5000), terms=text(data, "terms", limit=5000),
            footer=text(data, "footer", limit=5000), status=data.get("status", "draft"),
            staff=staff)

    def document_link(self, record):
        return {"quote": record}


@resource
class CreditResource(Resource):
    name = "credits"
    model = models.Credit
    create_schema = body({
        "client_id": CLIENT_ID, "line_items": line_items(),
        "date": {**DATE, "description": "Credit date, YYYY-MM-DD (default today)."},
        "reason": enum(credits.REASONS, "Why: " + ", ".join(credits.REASONS) + "."),
        "discount": {**MONEY, "description": "Amount off the subtotal, a decimal string."},
        "notes": NOTES["notes"],
        "status": enum(("sent", "draft"), "sent (issued, the default) or draft."),
    }, required=("client_id", "line_items"))
    record_schema = record({
        **DOCUMENT_OUT, "reason": {"type": "string"}, "date": DATE_OUT, "balance": MONEY_OUT,
        "notes": string_out(), "archived_at": DATETIME_OUT})
    filters = (CLIENT_FILTER,)

    def query(self, args):
        C = models.Credit
        query = C.select(C, models.Client).join(models.Client).where(C.archived_at.is_null())
        if args.get("client_id"):
            query = query.where(models.Client.public_id == args["client_id"])
        return query.order_by(C.date.desc(), C.id.desc())

    def serialize(self, c):
        return {"id": c.public_id, "client_id": c.client.public_id, "number": c.number,
                "status": c.status, "reason": c.reason, "date": iso(c.date),
                "currency": c.currency, **totals_out(c),
                "balance": money_out(c.balance, c.currency), "notes": c.notes,
                "archived_at": iso(c.archived_at), "line_items": lines_out(c, c.currency)}

    def create(self, data, staff):
        client = client_by_id(data)
        return credits.create_credit(
            client, lines(data, client.currency), date=date(data, "date"),
            reason=data.get("reason", "adjustment"),
            discount=amount(data, "discount", client.currency),
            notes=text(data, "notes", limit=5000), status=data.get("status", "sent"),
            staff=staff)
