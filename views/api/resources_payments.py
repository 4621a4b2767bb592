"""/api/v1/payments: every payment of every client; staff record offline ones here.

Payments are records of money: they cannot be changed or deleted through the API (refund
them instead), so those operations do not exist and answer 405.
"""
import models
import money
from billing import DomainError, FieldErrors, applying, payments
from views.api import ApiError, resource
from views.api.base import Resource, client_by_id
from views.api.fields import date, iso, money_out, text
from views.api.resources_invoices import CLIENT_ID
from views.api.schemas import (
    BULK_IDS,
    CLIENT_FILTER,
    DATE,
    DATE_OUT,
    DATETIME_OUT,
    ID,
    MONEY,
    MONEY_OUT,
    body,
    enum,
    line,
    record,
    status_filter,
    string_out,
)


@resource
class PaymentResource(Resource):
    name = "payments"
    model = models.Payment
    deletable = False
    create_schema = body({
        "client_id": CLIENT_ID,
        "amount": {**MONEY, "description": "The amount received, a decimal string such as "
                                           "\"125.00\" in the client's currency."},
        "method": enum(payments.MANUAL_METHODS, "How the money arrived: "
                       + ", ".join(payments.MANUAL_METHODS) + "."),
        "invoice_ids": {"type": "array", "maxItems": 100, "items": ID,
                        "description": "Up to 100 of the client's invoices to pay, in order; "
                                       "the rest becomes credit."},
        "reference": line(100, "Bank or cheque reference."),
        "date": {**DATE, "description": "Date received, YYYY-MM-DD (default today)."},
        "idempotency_key": line(80, "Sending the same key again records nothing new.",
                                min_length=1),
        "email_receipt": {"type": "boolean", "description": "E-mail the client's contacts a "
                          "receipt with its PDF (when the business sends receipts)."},
    }, required=("client_id", "amount", "method"))
    record_schema = record({
        "id": {"type": "string"}, "client_id": {"type": "string"}, "number": {"type": "string"},
        "status": {"type": "string"}, "date": DATE_OUT, "currency": {"type": "string"},
        "amount": MONEY_OUT, "applied": MONEY_OUT, "refunded": MONEY_OUT,
        "unapplied": {**MONEY_OUT, "description": "Received and matched to no invoice yet."},
        "method": {"type": "string"}, "method_label": string_out(nullable_=True),
        "reference": string_out(nullable_=True),
        "invoices": {"type": "array", "items": record({"invoice_id": {"type": "string"},
                                                        "amount": MONEY_OUT})},
        "created_at": DATETIME_OUT})
    filters = (CLIENT_FILTER, status_filter(models.Payment.STATUSES))

    def _apply(self, payment, data, staff):
        if len(data["ids"]) != 1:
            raise ApiError("Apply one payment at a time: give exactly one id.", 422, "ids")
        rows = data["invoices"]
        keys = [row["invoice_id"] for row in rows]
        try:
            applying.apply_payment(payment, [(row["invoice_id"], row["amount"]) for row in rows],
                                   staff=staff, locale=money.PLAIN)
        except DomainError as exc:
            errors = exc.errors if isinstance(exc, FieldErrors) else {exc.field: exc.message}
            raise ApiError(exc.message, 422, errors={
                _row_field(keys, field): [message] for field, message in errors.items()}
            ) from None
        return payment

    bulk_actions = {"apply": _apply}

    def __init__(self):
        super().__init__()
        self.bulk_schema = body({
            "action": {"type": "string", "enum": ["apply"],
                       "description": "apply: apply the payment's unapplied money to invoices."},
            "ids": {**BULK_IDS, "description": "The one payment to apply."},
            "invoices": {
                "type": "array", "minItems": 1, "maxItems": applying.MAX_APPLICATIONS,
                "description": "The client's open invoices and how much of the payment each "
                               "takes; together no more than the payment's unapplied amount.",
                "items": {"type": "object", "additionalProperties": False,
                          "required": ["invoice_id", "amount"],
                          "properties": {"invoice_id": ID, "amount": {
                              **MONEY, "description": "The amount to apply, a decimal string "
                                                      "such as \"12.50\"; at most the "
                                                      "invoice's balance."}}}},
        }, required=("action", "ids", "invoices"))

    def query(self, args):
        P = models.Payment
        query = P.select(P, models.Client).join(models.Client)
        if args.get("client_id"):
            query = query.where(models.Client.public_id == args["client_id"])
        if args.get("status"):
            query = query.where(P.status == args["status"])
        return query.order_by(P.date.desc(), P.id.desc())

    def serialize(self, p):
        cur = p.currency
        allocations = (models.PaymentAllocation.select(models.PaymentAllocation, models.Invoice)
                       .join(models.Invoice).where(models.PaymentAllocation.payment == p)
                       .order_by(models.PaymentAllocation.id))
        return {"id": p.public_id, "client_id": p.client.public_id, "number": p.number,
                "status": p.status, "date": iso(p.date), "currency": cur,
                "amount": money_out(p.amount, cur), "applied": money_out(p.applied, cur),
                "refunded": money_out(p.refunded, cur),
                "unapplied": money_out(p.unapplied, cur), "method": p.method,
                "method_label": p.method_label, "reference": p.reference,
                "invoices": [{"invoice_id": a.invoice.public_id,
                              "amount": money_out(a.amount, cur)} for a in allocations],
                "created_at": iso(p.created_at)}

    def create(self, data, staff):
        client = client_by_id(data)
        ids = data.get("invoice_ids", [])
        Inv = models.Invoice
        found = {i.public_id: i.id for i in Inv.select(Inv.id, Inv.public_id).where(
            (Inv.public_id.in_(ids or [""])) & (Inv.client == client))}
        if any(i not in found for i in ids):
            raise ApiError("Every invoice must be one of this client's.", 422, "invoice_ids")
        return payments.record_manual(
            staff, client, data["amount"], [found[i] for i in ids], method=data["method"],
            locale=money.PLAIN, reference=text(data, "reference", limit=100),
            date=date(data, "date"), idempotency_key=data.get("idempotency_key") or None,
            email_receipt=data.get("email_receipt") is True)


def _row_field(keys, field):
    """amount_<invoice id> (the service's name for a row) -> invoices[i].amount."""
    if field == "payment":
        return "ids"
    for index, key in enumerate(keys):
        if field == applying.field_for(key):
            return f"invoices[{index}].amount"
    return field
