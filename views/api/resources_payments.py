"""/api/v1/payments: every payment of every client; staff record offline ones here."""
import models
import money
from billing import payments
from views.api import ApiError, resource
from views.api.base import Resource, client_by_id
from views.api.fields import date, iso, money_out, text


@resource
class PaymentResource(Resource):
    name = "payments"
    model = models.Payment
    fields = {"client_id": ("string", "Client id"),
              "amount": ("string", "Decimal amount in the client's currency"),
              "method": ("string", ", ".join(payments.MANUAL_METHODS)),
              "invoice_ids": ("array", "Invoices to pay, in order; the rest becomes credit"),
              "reference": ("string", "Bank or cheque reference"),
              "date": ("string", "YYYY-MM-DD"),
              "idempotency_key": ("string", "Sending the same key again records nothing new")}
    required = ("client_id", "amount", "method")

    def query(self, args):
        P = models.Payment
        query = P.select(P, models.Client).join(models.Client)
        if args.get("client_id"):
            query = query.where(models.Client.public_id == args["client_id"][:24])
        if args.get("status") in P.STATUSES:
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
                "refunded": money_out(p.refunded, cur), "method": p.method,
                "method_label": p.method_label, "reference": p.reference,
                "invoices": [{"invoice_id": a.invoice.public_id,
                              "amount": money_out(a.amount, cur)} for a in allocations],
                "created_at": iso(p.created_at)}

    def create(self, data, staff):
        client = client_by_id(data)
        ids = data.get("invoice_ids", [])
        if not isinstance(ids, list) or len(ids) > 100:
            raise ApiError("invoice_ids must be a list of at most 100 invoice ids.", 422,
                           "invoice_ids")
        Inv = models.Invoice
        found = {i.public_id: i.id for i in Inv.select(Inv.id, Inv.public_id).where(
            (Inv.public_id.in_([str(i)[:24] for i in ids] or [""])) & (Inv.client == client))}
        missing = [i for i in ids if str(i)[:24] not in found]
        if missing:
            raise ApiError("Every invoice must be one of this client's.", 422, "invoice_ids")
        key = text(data, "idempotency_key", limit=80) or None
        amount = data.get("amount")
        if not isinstance(amount, str):
            raise ApiError("amount must be a decimal string such as \"125.00\".", 422, "amount")
        return payments.record_manual(
            staff, client, amount, [found[str(i)[:24]] for i in ids],
            method=text(data, "method", limit=32), locale=money.PLAIN,
            reference=text(data, "reference", limit=100),
            date=date(data, "date"), idempotency_key=key)

    def archive(self, record, staff):
        raise ApiError("Payments are records of money: refund them instead of deleting.", 405)
