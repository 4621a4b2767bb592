"""Recording payments and allocating them to invoices, keeping every balance exact."""
import models
import money
from billing import DomainError, FieldErrors, numbering


def record_payment(client, amount, currency, allocations, *, method, method_label="",
                   staff=None, contact=None, gateway=None, gateway_reference=None,
                   idempotency_key=None, reference="", date=None, status="completed"):
    """Create one Payment and its allocations; call inside a transaction.

    allocations: [(invoice, amount)] with invoices already locked by the caller.
    """
    if amount <= 0:
        raise DomainError("The amount must be above zero.", "amount")
    allocated = sum(part for _, part in allocations)
    if allocated > amount:
        raise DomainError("More was allocated than the payment brings.", "amount")
    payment = models.Payment.create(
        client=client, contact=contact, number=numbering.next_number("payment"),
        status=status, date=date or models.utcnow().date(), currency=currency, amount=amount,
        applied=allocated, method=method, method_label=method_label, gateway=gateway,
        gateway_reference=gateway_reference, idempotency_key=idempotency_key,
        reference=reference)
    for invoice, part in allocations:
        apply_to_invoice(payment, invoice, part)
    models.Client.update(paid_to_date=models.Client.paid_to_date + allocated).where(
        models.Client.id == client.id).execute()
    models.Activity.log("payment.created", payment, client=client.id, contact=contact,
                        staff=staff, detail=f"{amount} {currency}")
    return payment


def apply_to_invoice(payment, invoice, amount, credit=None):
    """Put `amount` of the payment on the invoice (from `credit` when credit pays it)."""
    if invoice.client_id != payment.client_id:
        raise DomainError("That invoice belongs to another client.")
    if invoice.currency != payment.currency:
        raise DomainError(f"Invoice {invoice.number} is in {invoice.currency}.")
    if invoice.status not in ("sent", "partial"):
        raise DomainError(f"Invoice {invoice.number} cannot take a payment.")
    if amount <= 0 or amount > invoice.balance:
        raise DomainError(f"Invoice {invoice.number} has a balance of less than that.")
    models.PaymentAllocation.create(payment=payment, invoice=invoice, credit=credit,
                                    amount=amount)
    invoice.balance -= amount
    invoice.partial = max(0, invoice.partial - amount)
    invoice.status = "paid" if invoice.balance == 0 else "partial"
    invoice.save()
    models.Client.update(balance=models.Client.balance - amount).where(
        models.Client.id == invoice.client_id).execute()
    if invoice.status == "paid" and invoice.subscription_id is not None:
        from billing import renewals
        renewals.settled(invoice)


def record_manual(staff, client, amount_text, invoice_ids, *, method, locale, reference="",
                  date=None, idempotency_key=None, email_receipt=False):
    """Staff record money that arrived outside the portal (transfer, cheque, cash).

    The amount goes to the chosen invoices in order, up to each balance; anything left is
    kept for the client as an over-payment credit. Refused with a DomainError, unwritten,
    when the input is bad. amount_text is typed in `locale` (money.PLAIN for the API).
    """
    amount = _received(client, amount_text, method, locale)
    return _record(staff, client, amount, [(i, None) for i in invoice_ids], method=method,
                   reference=reference, date=date, idempotency_key=idempotency_key,
                   email_receipt=email_receipt)


def record_manual_applied(staff, client, amount_text, applications, *, method, locale,
                          reference="", notes="", date=None, idempotency_key=None,
                          email_receipt=False):
    """record_manual with an amount per invoice, as the back office's form sends it.

    applications: [(invoice id, amount text)] typed in `locale`; a blank amount applies
    nothing to that invoice. Each amount is at least zero and at most that invoice's
    balance, each invoice is this client's and open, and together they do not exceed the
    amount received; what is left becomes the client's over-payment credit, as in
    record_manual. Bad amounts raise ApplicationErrors naming every offending row.
    """
    amount = _received(client, amount_text, method, locale)
    existing = _already_recorded(idempotency_key)
    if existing is not None:  # a double submit: the invoices it paid are no longer open
        return existing
    applications = list(applications)
    if len(applications) > MAX_APPLICATIONS:
        raise DomainError(f"Apply to at most {MAX_APPLICATIONS} invoices at once.", "amount")
    ids = [invoice_id for invoice_id, _ in applications]
    found = {inv.id: inv for inv in models.Invoice.select().where(
        models.Invoice.id.in_(ids or [0]))}
    errors, lines = {}, []
    for invoice_id, text in applications:
        field = f"amount_{invoice_id}"
        if text is None or not str(text).strip():
            continue
        invoice = found.get(invoice_id)
        if invoice is None or invoice.client_id != client.id:
            errors[field] = "That invoice belongs to another client."
            continue
        try:
            part = money.parse(text, invoice.currency, locale)
        except money.MoneyError as exc:
            errors[field] = str(exc)
            continue
        if invoice.currency != client.currency:
            errors[field] = f"Invoice {invoice.number} is in {invoice.currency}."
        elif part and not invoice.is_payable:
            errors[field] = f"Invoice {invoice.number} cannot take a payment."
        elif part > invoice.balance:
            errors[field] = (f"Invoice {invoice.number} has a balance of "
                             f"{money.format_money(invoice.balance, invoice.currency)}.")
        elif part:
            lines.append((invoice_id, part))
    if errors:
        raise FieldErrors(errors)
    if len({invoice_id for invoice_id, _ in lines}) != len(lines):
        raise DomainError("An invoice was listed twice.", "amount")
    if sum(part for _, part in lines) > amount:
        raise DomainError("The amounts applied to invoices add up to more than the amount "
                          "received.", "amount")
    return _record(staff, client, amount, lines, method=method, reference=reference,
                   notes=notes, date=date, idempotency_key=idempotency_key,
                   email_receipt=email_receipt)


def _received(client, amount_text, method, locale):
    if method not in MANUAL_METHODS:
        raise DomainError("Choose how the money arrived.", "method")
    try:
        amount = money.parse(amount_text, client.currency, locale)
    except money.MoneyError as exc:
        raise DomainError(str(exc), "amount") from None
    if amount <= 0:
        raise DomainError("The amount must be above zero.", "amount")
    return amount


def _already_recorded(idempotency_key):
    P = models.Payment
    return P.get_or_none(P.idempotency_key == idempotency_key) if idempotency_key else None


def _record(staff, client, amount, lines, *, method, reference="", notes="", date=None,
            idempotency_key=None, email_receipt=False):
    """Write a manual payment: lines [(invoice id, amount or None for "up to the balance")].

    email_receipt: the staff member asked to e-mail the client a receipt (when the business
    sends receipts at all)."""
    from billing import allocation, receipts, transaction
    P = models.Payment
    existing = _already_recorded(idempotency_key)
    if existing is not None:
        return existing
    with transaction():
        invoices = []
        for invoice_id, part in lines:
            invoice = models.Invoice.get_or_none(models.Invoice.id == invoice_id)
            if invoice is None or invoice.client_id != client.id:
                raise DomainError("That invoice belongs to another client.", "invoices")
            if invoice.currency != client.currency:
                raise DomainError(f"Invoice {invoice.number} is in {invoice.currency}.",
                                  "invoices")
            if not invoice.is_payable:
                raise DomainError(f"Invoice {invoice.number} cannot take a payment.",
                                  "invoices")
            invoices.append((invoice, amount if part is None else part))
        payment = P.create(
            client=client, number=numbering.next_number("payment"), status="completed",
            date=date or models.utcnow().date(), currency=client.currency, amount=amount,
            method=method, method_label=MANUAL_METHODS[method], reference=reference[:100],
            notes=notes[:2000], idempotency_key=idempotency_key)
        plan = {"lines": [[inv.id, part] for inv, part in invoices], "credit": 0}
        allocation.apply_plan(payment, plan, staff=staff)
        payment.save()
        models.Activity.log("payment.recorded", payment, client=client.id, staff=staff,
                            detail=f"{amount} {client.currency} {method}")
        receipt = receipts.queue([payment]) if email_receipt else []
    receipts.deliver(receipt)
    return payment


MAX_APPLICATIONS = 200
MANUAL_METHODS = {"bank_transfer": "Bank transfer", "cheque": "Cheque", "cash": "Cash",
                  "other": "Other"}
