"""Apply Payment: money already received and matched to no invoice (a pre-payment, or what
is left of one) applied by staff to that client's open invoices, and the company setting
that does it automatically when an invoice is issued.

The back office, the API and invoice issuing all call apply_payment(); it refuses bad
input with a DomainError (FieldErrors when several rows are wrong) before writing anything.
"""
import dataclasses
import logging

import models
import money
from billing import DomainError, FieldErrors, allocation, reservations, transaction
from billing.payments import apply_to_invoice

log = logging.getLogger("portal.billing")

MAX_APPLICATIONS = 200
# Money that arrived and was not sent back in full can still be applied.
APPLICABLE = ("completed", "partially_refunded")


@dataclasses.dataclass
class Applied:
    payment: models.Payment
    lines: list      # [(invoice, amount applied)]

    @property
    def total(self):
        return sum(amount for _, amount in self.lines)


def field_for(key):
    """The error field of one application row: what the form names its amount box."""
    return f"amount_{key}"


def apply_payment(payment, applications, *, staff=None, locale=None, contact=None):
    """Apply [(invoice public id or row id, amount)] of an unapplied payment.

    An amount is text typed in `locale` (money.PLAIN for the API), or int minor units from
    code. A blank amount applies nothing to that invoice. Every invoice must be the
    payment's client's, issued, open and in the payment's currency; each amount above zero
    and within the invoice's balance less what payments in flight hold; together no more
    than the payment's unapplied amount. Returns an Applied; changes nothing when refused.
    """
    applications = list(applications)
    if len(applications) > MAX_APPLICATIONS:
        raise DomainError(f"Apply to at most {MAX_APPLICATIONS} invoices at once.", "invoices")
    keys = [_key(key) for key, _ in applications]
    if len(set(keys)) != len(keys):
        raise DomainError("An invoice was listed twice.", "invoices")
    with transaction():
        payment = allocation.locked(models.Payment, payment.id)
        if payment.status not in APPLICABLE or payment.method == "credit":
            raise DomainError(f"Payment {payment.number} is {payment.status.replace('_', ' ')}: "
                              "only a completed payment can be applied to invoices.", "payment")
        found = _invoices(payment.client_id, keys)
        invoices = reservations.lock_invoices([inv.id for inv in found.values()])
        taken = reservations.held(payment.client_id, invoices)
        errors, lines = {}, []
        for key, (_, amount) in zip(keys, applications, strict=True):
            invoice = invoices.get(found[key].id) if key in found else None
            try:
                part = _checked(payment, invoice, amount, locale, taken)
            except DomainError as exc:
                errors[field_for(key)] = exc.message
                continue
            if part:
                lines.append((invoice, part))
        if errors:
            raise FieldErrors(errors)
        if not lines:
            raise DomainError("Enter an amount to apply to at least one invoice.", "invoices")
        total = sum(part for _, part in lines)
        if total > payment.unapplied:
            raise DomainError(
                f"The amounts add up to {allocation.fmt(total, payment.currency)}, more than "
                f"the {allocation.fmt(payment.unapplied, payment.currency)} of payment "
                f"{payment.number} that is not yet applied.", "invoices")
        for invoice, part in lines:
            apply_to_invoice(payment, invoice, part)
        payment.applied += total
        payment.save()
        allocation._add_paid_to_date(payment.client_id, total)
        models.Activity.log("payment.applied", payment, client=payment.client_id,
                            staff=staff, contact=contact,
                            detail=", ".join(f"{inv.number} {part} {payment.currency}"
                                             for inv, part in lines))
    return Applied(payment, lines)


def _key(key):
    if isinstance(key, int):
        return key
    return str(key or "")[:24]


def _invoices(client_id, keys):
    """{key: invoice} for the keys that name one of this client's invoices (any status)."""
    Inv = models.Invoice
    ids = [k for k in keys if isinstance(k, int)]
    public_ids = [k for k in keys if isinstance(k, str)]
    query = Inv.select().where((Inv.client == client_id) & Inv.archived_at.is_null() & (
        Inv.id.in_(ids or [0]) | Inv.public_id.in_(public_ids or [""])))
    found = {}
    for invoice in query:
        found[invoice.id] = found[invoice.public_id] = invoice
    return {key: found[key] for key in keys if key in found}


def _checked(payment, invoice, amount, locale, taken):
    """The minor units one row applies (0 for a blank amount), or a DomainError."""
    if isinstance(amount, str) and not amount.strip() or amount is None:
        return 0
    if invoice is None:
        # Another client's invoice is "not found", never "not yours".
        raise DomainError("That invoice could not be found.")
    if isinstance(amount, int) and not isinstance(amount, bool):
        part = amount
    else:
        try:
            part = money.parse(str(amount), payment.currency, locale)
        except money.MoneyError as exc:
            raise DomainError(f"Invoice {invoice.number}: {exc}") from None
    if invoice.status == "draft":
        raise DomainError(f"Invoice {invoice.number} is a draft: send it before applying a "
                          "payment to it.")
    if invoice.status in ("cancelled", "void"):
        raise DomainError(f"Invoice {invoice.number} is {invoice.status}: it cannot take a "
                          "payment.")
    if not invoice.is_payable:
        raise DomainError(f"Invoice {invoice.number} is already paid.")
    if invoice.currency != payment.currency:
        raise DomainError(f"Invoice {invoice.number} is in {invoice.currency}; this payment "
                          f"is in {payment.currency}.")
    if part <= 0:
        raise DomainError(f"Invoice {invoice.number}: the amount must be above zero.")
    held = taken.get(invoice.id, 0)
    room = invoice.balance - held
    if part > room:
        why = (f" ({allocation.fmt(held, invoice.currency)} of it is held by a payment being "
               "processed)") if held else ""
        left = allocation.fmt(max(room, 0), invoice.currency)
        raise DomainError(f"Invoice {invoice.number} has {left} left to pay{why}; apply no "
                          "more than that.")
    return part


def unapplied_payments(client_id, currency):
    """The client's payments with money not yet applied, oldest first."""
    P = models.Payment
    return (P.select().where((P.client == client_id) & (P.currency == currency)
                             & P.status.in_(APPLICABLE) & (P.method != "credit")
                             & (P.amount - P.applied - P.refunded > 0))
            .order_by(P.date, P.id))


def auto_apply(invoice, staff=None):
    """A newly issued invoice takes the client's unapplied money, oldest payment first,
    when the company turned that on. Call inside the transaction that issues it; the
    invoice object is brought up to date. Returns [Applied]."""
    company = models.Company.current()
    if company is None or not company.auto_apply_prepayments:
        return []
    done = []
    for payment in unapplied_payments(invoice.client_id, invoice.currency):
        room = invoice.balance - reservations.held(invoice.client_id, [invoice.id]).get(
            invoice.id, 0)
        if room <= 0 or not invoice.is_payable:
            break
        try:
            done.append(apply_payment(payment, [(invoice.id, min(room, payment.unapplied))],
                                      staff=staff))
        except DomainError as exc:  # never stop an invoice from being issued
            log.warning("payment %s not applied to invoice %s: %s", payment.id, invoice.id,
                        exc.message)
            continue
        fresh = models.Invoice.get_by_id(invoice.id)
        invoice.balance, invoice.partial, invoice.status = (fresh.balance, fresh.partial,
                                                            fresh.status)
    return done
