"""What the payment review screen offers: the invoices a person picked that can still be
paid, what is already on its way for them, their credit, and the ways to pay.

The payment form arrives here as plain values (a Selection), so the portal screen, and any
other caller, decide the same way which invoices and amounts a payment is asked for.
"""
import dataclasses

import models
from billing import allocation, gateway_settings, payment_methods, reservations


@dataclasses.dataclass(frozen=True)
class Selection:
    """The invoices and amounts a payment form asks for, as it posted them.

    pay_all: the invoice list's "pay all" (every open invoice in the client's currency);
    picked: the public ids ticked; amounts: {public id: amount typed}; full: the public ids
    whose choice is the full balance rather than what is due now.
    """
    pay_all: bool = False
    picked: tuple = ()
    amounts: dict = dataclasses.field(default_factory=dict)
    full: frozenset = frozenset()


def selected_ids(contact, selection):
    """The public ids of the invoices asked for, at most one more than can be paid at once
    (so that too many is refused by allocation.plan, not silently cut short)."""
    if selection.pay_all:
        Invoice = models.Invoice
        query = (Invoice.for_client(contact.client_id)
                 .where(Invoice.status.in_(("sent", "partial")) & (Invoice.balance > 0)
                        & (Invoice.currency == contact.client.currency))
                 .order_by(Invoice.due_date, Invoice.id).limit(allocation.MAX_INVOICES))
        return [inv.public_id for inv in query]
    return [str(pid)[:24] for pid in selection.picked][: allocation.MAX_INVOICES + 1]


def amount_text(selection, pid):
    """The amount typed for an invoice (blank stays blank: refused), else the form's choice:
    the full balance or what is due now. A form without either (pay all) pays what is due.
    The text goes on whole: money.parse refuses one too long to be an amount, where a cut
    could make one of what was typed ("0000...10.005" read as 10.00)."""
    text = selection.amounts.get(pid)
    if text is not None:
        return text
    return allocation.FULL if pid in selection.full else allocation.DUE


def requested_items(contact, selection):
    """[(invoice public id, amount text or choice)], as allocation.plan and checkout.pay
    take them."""
    return [(pid, amount_text(selection, pid)) for pid in selected_ids(contact, selection)]


@dataclasses.dataclass
class Offer:
    """What the review screen shows."""
    invoices: list          # payable now, in the order asked for
    processing: list        # [(invoice, amount held, left to pay)]: payments in flight
    currency: str
    credit_available: int
    saved: list             # the client's saved methods a gateway can still charge
    new_gateways: list      # gateways that take a new card now
    offline_gateways: list  # gateways that give instructions (bank transfer, cheque)
    editable: bool          # the person may type the amounts

    @property
    def nothing_to_pay(self):
        return not self.invoices and not self.processing


def offer(contact, selection, company):
    """The review screen's Offer for these invoices: only what can still be paid."""
    client_id = contact.client_id
    ids = selected_ids(contact, selection)
    Invoice = models.Invoice
    found = {i.public_id: i for i in Invoice.for_client(client_id)
             .where(Invoice.public_id.in_(ids or [""]))}
    invoices = [found[pid] for pid in ids if pid in found and found[pid].is_payable]
    # An invoice a payment in flight holds in full is shown as being processed, never
    # offered for a second charge (the claim would refuse it anyway).
    processing = reservations.in_flight(client_id, invoices)
    held_in_full = {inv.id for inv, _held, left in processing if left == 0}
    invoices = [inv for inv in invoices if inv.id not in held_in_full]
    currency = invoices[0].currency if invoices else contact.client.currency
    credit = sum(c.balance for c in allocation.available_credit(client_id, currency))
    enabled = gateway_settings.enabled()
    return Offer(
        invoices=invoices, processing=processing, currency=currency,
        credit_available=credit, saved=payment_methods.chargeable(client_id, enabled),
        new_gateways=[g for g in enabled if g.capabilities.online],
        offline_gateways=[g for g in enabled if not g.capabilities.online],
        editable=company.allow_partial_payments or company.allow_over_payment,
    )
