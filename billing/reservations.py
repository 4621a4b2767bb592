"""Money promised to payments in flight: a pending attempt holds what its plan will take.

The pending Payment row is the reservation. Claiming an attempt locks the invoices, checks
that each line still fits the balance less what other pending attempts hold, and inserts
the pending row, all in one transaction, before the gateway is called (DESIGN.md §9). So
however many forms race on one invoice, the gateway is asked for no more than its balance:
the others are refused before any charge. mark_failed releases a reservation (the row
leaves "pending"); finalize turns it into allocations.

An attempt stays "pending" while the gateway waits for the customer (3-D Secure) or is
still processing, so those count too. Its stored plan (Payment.plan, lines of
[invoice id, amount]) says how much of which invoice it holds.
"""
import json

import models
from billing import DomainError, allocation
from i18n import gettext as _


def lock_invoices(invoice_ids):
    """Re-read (and on PostgreSQL lock) invoices in id order: two claims over the same
    invoices then queue instead of deadlocking. Returns {id: invoice}."""
    return {inv_id: allocation.locked(models.Invoice, inv_id)
            for inv_id in sorted(set(invoice_ids))}


def held(client_id, invoice_ids):
    """{invoice id: amount held by the client's pending attempts} for these invoices."""
    wanted = set(invoice_ids)
    totals = {}
    if not wanted:
        return totals
    P = models.Payment
    # A client has a handful of attempts in flight at most; the plan is the one record of
    # what each will take, so it is read rather than copied into another table.
    for plan_text, in (P.select(P.plan)
                       .where((P.client == client_id) & (P.status == "pending")).tuples()):
        for inv_id, amount in _lines(plan_text):
            if inv_id in wanted:
                totals[inv_id] = totals.get(inv_id, 0) + amount
    return totals


def _lines(plan_text):
    try:
        return [(int(inv_id), int(amount))
                for inv_id, amount in json.loads(plan_text or "{}").get("lines", [])]
    except (ValueError, TypeError, AttributeError):
        return []


def check_fits(plan, company, invoices):
    """Refuse, with a DomainError, a plan that no longer fits; call inside transaction().

    invoices: {id: invoice} from lock_invoices(), so that on PostgreSQL a racing claim
    waits for ours to commit and then sees our pending row here. Each line must fit the
    invoice's balance less what other pending attempts hold; only the part the plan calls
    excess (an over-payment, when the business allows those) may go beyond it.
    """
    taken = held(plan.client_id, invoices)
    for line in plan.lines:
        invoice = invoices[line.invoice.id]
        holding = taken.get(invoice.id, 0)
        room = invoice.balance - holding if invoice.is_payable else 0
        needs = line.amount - (line.excess if company.allow_over_payment else 0)
        if needs <= room:
            continue
        field = f"amount_{invoice.public_id}"
        if holding and room <= 0:
            raise DomainError(_("Invoice %(number)s has a payment being processed; it shows "
                                "as paid once the payment service confirms it. Nothing was "
                                "charged.", number=invoice.number), field)
        if holding:
            raise DomainError(_("Invoice %(number)s has a payment being processed; %(amount)s "
                                "of its balance is left to pay. Nothing was charged.",
                                number=invoice.number,
                                amount=allocation.fmt(room, invoice.currency)), field)
        if not invoice.is_payable:
            raise DomainError(
                _("Invoice %(number)s is already paid. Nothing was charged.",
                  number=invoice.number) if invoice.status == "paid" else
                _("Invoice %(number)s is not open for payment. Nothing was charged.",
                  number=invoice.number), field)
        raise DomainError(_("Invoice %(number)s now has a balance of %(amount)s; check the "
                            "amount and try again. Nothing was charged.",
                            number=invoice.number,
                            amount=allocation.fmt(invoice.balance, invoice.currency)), field)


def in_flight(client_id, invoices):
    """For the review screen: [(invoice, amount held, amount left to pay)] for each of these
    invoices that a pending attempt holds part or all of."""
    taken = held(client_id, [inv.id for inv in invoices])
    return [(inv, taken[inv.id], max(0, inv.balance - taken[inv.id]))
            for inv in invoices if taken.get(inv.id)]
