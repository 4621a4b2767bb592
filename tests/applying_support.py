"""Books for applying unapplied money to invoices (billing.applying): a client's money on
account, invoices to apply it to, and one of each invoice that must be refused."""
import itertools

import models
from tests import factories

_numbers = itertools.count(1)


def unapplied_payment(client, amount=10000, currency=None, status="completed", **kw):
    """What the Pre-Payment tab leaves: money received, matched to no invoice."""
    return models.Payment.create(
        client=client, number=f"PRE-{next(_numbers)}", status=status,
        date=kw.pop("date", models.utcnow().date()), currency=currency or client.currency,
        amount=amount, method="card", method_label="Visa •••• 4242", is_prepayment=True, **kw)


def invoice_for(client, total, status="sent", **kw):
    return factories.invoice(client, status=status,
                             lines=[{"product": "Work", "quantity": 1, "unit_cost": total}], **kw)


def allocated(invoice):
    A = models.PaymentAllocation
    return sum(a.amount for a in A.select().where(A.invoice == invoice.id))


def refusal_world():
    people = factories.two_clients()
    a, b = people["a"], people["b"]
    open_ = invoice_for(a, 5000)
    return {
        "payment": unapplied_payment(a, 6000),
        "open": open_,
        "other_client": invoice_for(b, 5000),
        "cancelled": invoice_for(a, 5000, status="cancelled"),
        "void": invoice_for(a, 5000, status="void"),
        "draft": invoice_for(a, 5000, status="draft"),
        "paid": invoice_for(a, 5000, status="paid"),
        "euro": invoice_for(a, 5000, currency="EUR"),
        "a": a,
    }


REFUSALS = [  # (invoice, amount typed, message)
    ("other_client", "10.00", "could not be found"),
    ("cancelled", "10.00", "cancelled"),
    ("void", "10.00", "void"),
    ("draft", "10.00", "draft"),
    ("paid", "10.00", "already paid"),
    ("euro", "10.00", "in EUR"),
    ("open", "ten", "as a number"),
    ("open", "0", "above zero"),
    ("open", "-1", "negative"),
    ("open", "50.01", "left to pay"),
    ("open", "1.234", "decimal places"),
]
