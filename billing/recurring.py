"""Recurring invoices: the template's lines become a sent invoice on each due date."""
import models
from billing import DomainError, documents, invoices, schedule, transaction


def create_recurring(client, lines, *, frequency="monthly", start_date, remaining_cycles=-1,
                     due_days=30, discount=0, notes="", terms="", status="active"):
    from billing import numbering
    if frequency not in schedule.FREQUENCIES:
        raise DomainError("Choose a frequency from the list.", "frequency")
    with transaction():
        recurring = models.RecurringInvoice.create(
            client=client, number=numbering.next_number("recurring"), frequency=frequency,
            start_date=start_date, next_send_date=start_date, status=status,
            remaining_cycles=remaining_cycles, due_days=due_days, currency=client.currency,
            discount=discount, notes=notes, terms=terms)
        documents.set_lines(recurring, lines, "recurring")
        recurring.save()
    return recurring


def _claim(recurring, today):
    """Move the schedule on before generating, so overlapping cron runs cannot both generate.

    The conditional UPDATE succeeds for exactly one transaction per due date.
    """
    R = models.RecurringInvoice
    following = schedule.next_date(recurring.next_send_date, recurring.frequency,
                                   recurring.start_date.day)
    remaining = recurring.remaining_cycles - 1 if recurring.remaining_cycles > 0 else \
        recurring.remaining_cycles
    finished = recurring.remaining_cycles == 1
    claimed = R.update(
        next_send_date=None if finished else following,
        remaining_cycles=remaining,
        status="completed" if finished else "active",
    ).where((R.id == recurring.id) & (R.next_send_date == recurring.next_send_date)
            & (R.status == "active")).execute()
    return claimed == 1


def generate(recurring, today=None):
    """Issue the invoice due for one recurring template; None if another run took it."""
    today = today or models.utcnow().date()
    with transaction():
        recurring = models.RecurringInvoice.get_by_id(recurring.id)
        if (recurring.status != "active" or recurring.next_send_date is None
                or recurring.next_send_date > today or not _claim(recurring, today)):
            return None
        send_date = recurring.next_send_date
        lines = [{"product": li.product, "description": li.description,
                  "quantity": li.quantity, "unit_cost": li.unit_cost,
                  "discount_percent": li.discount_percent, "tax_name": li.tax_name,
                  "tax_rate": li.tax_rate}
                 for li in recurring.ordered_lines()]
        invoice = invoices.create_invoice(
            recurring.client, lines, date=send_date,
            due_date=invoices.due_date_for(send_date, recurring.due_days),
            discount=recurring.discount, notes=recurring.notes, terms=recurring.terms,
            recurring=recurring, currency=recurring.currency, status="sent")
        models.Activity.log("recurring.generated", recurring, client=recurring.client_id,
                            detail=invoice.number)
    return invoice


def generate_due(config, today=None):
    """Issue every due invoice and e-mail it (when links can be built: PORTAL_BASE_URL)."""
    today = today or models.utcnow().date()
    R = models.RecurringInvoice
    due = list(R.select(R.id).where((R.status == "active") & (R.next_send_date <= today)))
    made = []
    for recurring in due:
        # A template several periods behind catches up one invoice per period.
        while (invoice := generate(recurring, today)) is not None:
            made.append(invoice)
            if config.get("BASE_URL") and any(c.email for c in invoice.client.contacts):
                invoices.email_invoice(invoice, config)
    return made


def set_status(recurring, status, staff=None):
    """Pause, resume or stop a schedule. A stopped schedule stays stopped."""
    with transaction():
        recurring = models.RecurringInvoice.get_by_id(recurring.id)
        if recurring.status == "completed" and status != "completed":
            raise DomainError(f"{recurring.number} has ended and cannot be restarted.")
        if status == "active" and recurring.next_send_date is None:
            recurring.next_send_date = recurring.start_date
        recurring.status = status
        if status == "completed":
            recurring.next_send_date = None
        recurring.save()
        models.Activity.log(f"recurring.{status}", recurring, client=recurring.client_id,
                            staff=staff)
    return recurring
