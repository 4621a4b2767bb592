"""Recording payments and allocating them to invoices, keeping every balance exact."""
import models
from billing import DomainError, numbering


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


def apply_to_invoice(payment, invoice, amount):
    if invoice.client_id != payment.client_id:
        raise DomainError("That invoice belongs to another client.")
    if invoice.currency != payment.currency:
        raise DomainError(f"Invoice {invoice.number} is in {invoice.currency}.")
    if invoice.status not in ("sent", "partial"):
        raise DomainError(f"Invoice {invoice.number} cannot take a payment.")
    if amount <= 0 or amount > invoice.balance:
        raise DomainError(f"Invoice {invoice.number} has a balance of less than that.")
    models.PaymentAllocation.create(payment=payment, invoice=invoice, amount=amount)
    invoice.balance -= amount
    invoice.partial = max(0, invoice.partial - amount)
    invoice.status = "paid" if invoice.balance == 0 else "partial"
    invoice.save()
    models.Client.update(balance=models.Client.balance - amount).where(
        models.Client.id == invoice.client_id).execute()
