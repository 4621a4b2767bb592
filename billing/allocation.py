"""Deciding how a payment splits over invoices, credit and over-payment.

plan() is the one validator for "pay these invoices these amounts": the portal form, the
staff back office and the API all call it, and it refuses bad input with a DomainError
before anything is written. apply_plan() writes a plan inside the caller's transaction,
re-reading balances so that money already taken is never lost: what no longer fits an
invoice becomes an over-payment credit.
"""
import dataclasses
import json

from peewee import PostgresqlDatabase

import models
import money
from billing import DomainError, numbering
from billing.payments import apply_to_invoice
from i18n import gettext as _

MAX_INVOICES = 100
# What a form's choice (not a typed amount) asks to pay.
DUE, FULL = "due", "full"


@dataclasses.dataclass
class Line:
    invoice: models.Invoice
    amount: int      # what the payer sends towards this invoice (may exceed the balance)
    applied: int     # the part that settles the invoice
    excess: int      # the part that becomes credit


@dataclasses.dataclass
class Plan:
    client_id: int
    currency: str
    lines: list
    credit: int      # available credit spent first
    total: int       # sum of the line amounts

    @property
    def charge(self):
        """What the gateway must take: everything the credit does not cover."""
        return self.total - self.credit

    @property
    def excess(self):
        return sum(line.excess for line in self.lines)

    def to_json(self):
        return json.dumps({"lines": [[ln.invoice.id, ln.amount] for ln in self.lines],
                           "credit": self.credit})


def fmt(minor, currency):
    return money.format_money(minor, currency)


def available_credit(client_id, currency):
    C = models.Credit
    return (C.for_client(client_id)
            .where((C.currency == currency) & (C.balance > 0) & C.status.in_(("sent", "partial")))
            .order_by(C.date, C.id))


def plan(client_id, items, company, *, use_credit=False, locale=None):
    """Validate [(invoice public id, amount text or choice)] for one client.

    An amount is text typed in `locale` (the payer's; the company's when not given), or a
    choice the form offered: None or DUE ("what is due now": the deposit when one is set,
    else the balance), FULL (the whole balance). A blank typed amount is refused, never
    read as the balance.
    """
    locale = locale or money.locale_for(None, company)
    items = list(items)
    if not items:
        raise DomainError(_("Select at least one invoice to pay."), "invoices")
    if len(items) > MAX_INVOICES:
        raise DomainError(_("Pay at most %(max)s invoices at once.", max=MAX_INVOICES),
                          "invoices")
    ids = [str(pid)[:24] for pid, _amount in items]
    if len(set(ids)) != len(ids):
        raise DomainError(_("An invoice was selected twice."), "invoices")
    found = {inv.public_id: inv for inv in models.Invoice.for_client(client_id)
             .where(models.Invoice.public_id.in_(ids))}
    lines = []
    currency = None
    for (_picked, text), key in zip(items, ids, strict=True):
        invoice = found.get(key)
        if invoice is None:
            # Drafts and other clients' invoices are "not found", never "forbidden".
            raise DomainError(_("One of the selected invoices could not be found."), "invoices")
        if not invoice.is_payable:
            message = (_("Invoice %(number)s is already paid.", number=invoice.number)
                       if invoice.status == "paid" else
                       _("Invoice %(number)s is not open for payment.", number=invoice.number))
            raise DomainError(message, f"amount_{key}")
        if currency and invoice.currency != currency:
            raise DomainError(_("Invoices in different currencies must be paid separately."),
                              "invoices")
        currency = invoice.currency
        lines.append(_line(invoice, text, company, key, locale))
    total = sum(line.amount for line in lines)
    credit = 0
    if use_credit:
        available = sum(c.balance for c in available_credit(client_id, currency))
        # Credit settles invoices; it never pays an over-payment into another credit.
        credit = min(available, sum(line.applied for line in lines))
    return Plan(client_id=client_id, currency=currency, lines=lines, credit=credit,
                total=total)


def _line(invoice, text, company, key, locale):
    field = f"amount_{key}"
    due, balance, currency = invoice.amount_due_now, invoice.balance, invoice.currency
    if text is None or text == DUE:
        amount = due
    elif text == FULL:
        amount = balance
    else:
        try:
            amount = money.parse(text, currency, locale)
        except money.MoneyError as exc:
            raise DomainError(_("Invoice %(number)s: %(error)s", number=invoice.number,
                                error=exc), field) from None
    if amount <= 0:
        raise DomainError(_("Invoice %(number)s: the amount must be above zero.",
                            number=invoice.number), field)
    if amount > balance:
        if not company.allow_over_payment:
            raise DomainError(_("Invoice %(number)s has a balance of %(balance)s; you cannot "
                                "pay more than that.", number=invoice.number,
                                balance=fmt(balance, currency)), field)
        return Line(invoice, amount, balance, amount - balance)
    if amount < balance and amount != due:
        if not company.allow_partial_payments:
            if due != balance:
                raise DomainError(_("Invoice %(number)s must be paid in full: pay its deposit "
                                    "of %(deposit)s or the balance of %(balance)s.",
                                    number=invoice.number, deposit=fmt(due, currency),
                                    balance=fmt(balance, currency)), field)
            raise DomainError(_("Invoice %(number)s must be paid in full: pay the balance of "
                                "%(balance)s.", number=invoice.number,
                                balance=fmt(balance, currency)), field)
        minimum = min(company.minimum_partial_payment or 0, balance)
        if amount < minimum:
            raise DomainError(_("Invoice %(number)s: the minimum payment is %(minimum)s.",
                                number=invoice.number, minimum=fmt(minimum, currency)),
                              field)
    return Line(invoice, amount, amount, 0)


# -- writing -------------------------------------------------------------------------------

def locked(model, record_id):
    """Re-read a row inside the transaction; on PostgreSQL hold its lock until commit."""
    query = model.select().where(model.id == record_id)
    # isinstance, not the class name: the pooled class is PooledPostgresqlDatabase.
    if isinstance(models.db.obj, PostgresqlDatabase):
        query = query.for_update()
    return query.get()


def apply_plan(payment, plan_data, *, contact=None, staff=None):
    """Write a stored plan for a payment whose money has arrived; call in a transaction.

    plan_data: {"lines": [[invoice_id, amount]], "credit": n}. Returns (credit_payment,
    overpayment_credit). Balances are re-read: an invoice paid meanwhile takes nothing and
    its share becomes credit, so money in == allocated + credit created, always.
    """
    if models.on_postgres():
        # Take the row locks in id order, as claims do, so two payments over the same
        # invoices queue instead of deadlocking; the lines are then applied in plan order.
        for inv_id in sorted({inv_id for inv_id, _amount in plan_data["lines"]}):
            locked(models.Invoice, inv_id)
    lines = [(locked(models.Invoice, inv_id), amount) for inv_id, amount in plan_data["lines"]]
    credit_payment = None
    credit_left = plan_data.get("credit", 0)
    if credit_left:
        credit_payment, spent = spend_credit(payment.client_id, payment.currency,
                                             payment.idempotency_key, lines, credit_left,
                                             contact, staff, suffix="/credit")
        lines = [(locked(models.Invoice, inv.id), amount - spent.get(inv.id, 0))
                 for inv, amount in lines]
    cash = payment.amount
    applied = 0
    for invoice, wanted in lines:
        part = min(wanted, invoice.balance if invoice.is_payable else 0, cash - applied)
        if part > 0:
            apply_to_invoice(payment, invoice, part)
            applied += part
    _add_paid_to_date(payment.client_id, applied)
    overpayment = None
    if cash - applied > 0:
        overpayment = create_overpayment_credit(payment, cash - applied)
    payment.applied = payment.amount  # every unit went to an invoice or a credit
    return credit_payment, overpayment


def spend_credit(client_id, currency, key, lines, budget, contact=None, staff=None, suffix=""):
    """Spend available credit on [(invoice, wanted)] as one Payment of method "credit".

    Call in a transaction with the invoices locked. Returns (payment or None, {invoice id:
    amount spent}). Never more than the credits hold, never another currency's credit.
    """
    credits = [locked(models.Credit, c.id) for c in available_credit(client_id, currency)]
    with models.db.atomic() as spending:
        credit_payment = models.Payment.create(
            client=client_id, contact=contact, number=numbering.next_number("payment"),
            status="completed", date=models.utcnow().date(), currency=currency,
            amount=0, method="credit", method_label="Credit",
            idempotency_key=(key + suffix)[:100] if key else None)
        spent = {}
        total = 0
        for invoice, wanted in lines:
            for credit in credits:
                room = min(wanted - spent.get(invoice.id, 0), budget - total, credit.balance,
                           invoice.balance if invoice.is_payable else 0)
                if room <= 0:
                    continue
                apply_to_invoice(credit_payment, invoice, room, credit=credit)
                credit.balance -= room
                credit.status = "applied" if credit.balance == 0 else "partial"
                credit.save()
                spent[invoice.id] = spent.get(invoice.id, 0) + room
                total += room
        if total == 0:
            spending.rollback()  # nothing to spend: not even the payment number is used
            return None, spent
    credit_payment.amount = credit_payment.applied = total
    credit_payment.method_label = "Credit " + ", ".join(
        sorted({c.number for c in credits if c.status in ("partial", "applied")}))[:80]
    credit_payment.save()
    _add_paid_to_date(client_id, total)
    models.Activity.log("credit.applied", credit_payment, client=client_id,
                        contact=contact, staff=staff, detail=f"{total} {currency}")
    return credit_payment, spent


def _add_paid_to_date(client_id, amount):
    if amount:
        models.Client.update(paid_to_date=models.Client.paid_to_date + amount).where(
            models.Client.id == client_id).execute()


def create_overpayment_credit(payment, amount):
    """Money beyond the invoices' balances: kept for the client as a credit."""
    credit = models.Credit.create(
        client=payment.client_id, number=numbering.next_number("credit"), status="sent",
        date=models.utcnow().date(), currency=payment.currency, subtotal=amount,
        total=amount, balance=amount, reason="overpayment",
        notes=f"Over-payment from payment {payment.number}.")
    models.LineItem.create(credit=credit, product="Over-payment",
                           description=f"Payment {payment.number}", quantity=1,
                           unit_cost=amount, amount=amount)
    models.PaymentAllocation.create(payment=payment, credit=credit, amount=amount)
    models.Activity.log("credit.overpayment", credit, client=payment.client_id,
                        detail=f"{amount} {payment.currency}")
    return credit
