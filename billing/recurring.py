"""Recurring invoices: the template's lines become a sent invoice on each due date."""
import logging

import models
from billing import DomainError, documents, invoices, schedule, transaction

log = logging.getLogger("portal.recurring")


def create_recurring(client, lines, *, frequency="monthly", start_date, remaining_cycles=-1,
                     due_days=30, discount=0, notes="", terms="", status="active",
                     auto_bill=False, auto_bill_mode=None):
    """auto_bill (yes/no, as the API has always taken it) means mode "always" when no
    auto_bill_mode is given."""
    from billing import autobill, numbering
    mode = autobill.check_mode(auto_bill_mode if auto_bill_mode is not None
                               else ("always" if auto_bill else "off"))
    if frequency not in schedule.FREQUENCIES:
        raise DomainError("Choose a frequency from the list.", "frequency")
    remaining_cycles = check_cycles(remaining_cycles)
    check_due_days(due_days)
    if status not in STATUSES:
        raise DomainError("A new recurring invoice is active, paused or a draft.", "status")
    with transaction():
        recurring = models.RecurringInvoice.create(
            client=client, number=numbering.next_number("recurring"), frequency=frequency,
            start_date=start_date, next_send_date=start_date, status=status,
            remaining_cycles=remaining_cycles, due_days=due_days, currency=client.currency,
            discount=discount, notes=notes, terms=terms, auto_bill=mode != "off",
            auto_bill_mode=mode)
        documents.set_lines(recurring, lines, "recurring")
        if status == "active" and recurring.total <= 0:
            raise DomainError("A recurring invoice needs a total above zero.", "lines")
        recurring.save()
    return recurring


STATUSES = ("draft", "active", "paused")
MAX_CYCLES = 1000  # 83 years of monthly invoices; more is a typo, not a plan
MAX_DUE_DAYS = 365


def _whole(value):
    # bool is an int to Python, never to a person: `remaining_cycles: true` is refused.
    return isinstance(value, int) and not isinstance(value, bool)


def check_due_days(value):
    if not _whole(value) or not 0 <= value <= MAX_DUE_DAYS:
        raise DomainError(f"Days until due must be a whole number from 0 to {MAX_DUE_DAYS}.",
                          "due_days")
    return value


def check_cycles(value):
    """-1 (until stopped) or 1 to MAX_CYCLES invoices."""
    if not _whole(value) or not (value == -1 or 1 <= value <= MAX_CYCLES):
        raise DomainError(f"Remaining cycles must be -1 (until stopped) or a whole number "
                          f"from 1 to {MAX_CYCLES}.", "remaining_cycles")
    return value


def _claim(recurring):
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
    """Issue the invoice due for one recurring template; None if another run took it.

    When auto-bill applies, the invoice's charge is queued in the same transaction, so each
    invoice gets exactly one; run-due's auto-bill job charges it outside any transaction.
    """
    from billing import autobill
    today = today or schedule.today()
    with transaction():
        recurring = models.RecurringInvoice.get_by_id(recurring.id)
        if (recurring.status != "active" or recurring.next_send_date is None
                or recurring.next_send_date > today or not _claim(recurring)):
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
        if autobill.applies(recurring):
            models.AutoBill.create(invoice=invoice)
        models.Activity.log("recurring.generated", recurring, client=recurring.client_id,
                            detail=invoice.number)
    return invoice


def generate_due(config, today=None):
    """Issue every due invoice and e-mail it (when links can be built: PORTAL_BASE_URL).

    "Due" is by the company's date (schedule.today), not the server's or UTC's. After
    downtime, each template issues one invoice per missed period, oldest first.
    """
    today = today or schedule.today()
    R = models.RecurringInvoice
    due = list(R.select(R.id).where((R.status == "active") & (R.next_send_date <= today)))
    made = []
    for recurring in due:
        # A template several periods behind catches up one invoice per period.
        try:
            while (invoice := generate(recurring, today)) is not None:
                made.append(invoice)
                if config.get("BASE_URL") and any(c.email for c in invoice.client.contacts):
                    invoices.email_invoice(invoice, config)
        except DomainError as exc:
            # One template's bad data (e.g. legacy lines that no longer validate) is logged
            # and left for staff; the other templates are still issued.
            log.warning("recurring invoice %s not issued: %s", recurring.id, exc.message)
    return made


def set_status(recurring, status, staff=None):
    """Pause, resume or stop a schedule. A stopped schedule stays stopped."""
    with transaction():
        recurring = models.RecurringInvoice.get_by_id(recurring.id)
        if recurring.status == "completed" and status != "completed":
            raise DomainError(f"{recurring.number} has ended and cannot be restarted.")
        if status == "active" and recurring.total <= 0:
            raise DomainError(f"{recurring.number} has a total of zero: add a priced line "
                              "before starting it.", "lines")
        if status == "active" and recurring.next_send_date is None:
            recurring.next_send_date = recurring.start_date
        recurring.status = status
        if status == "completed":
            recurring.next_send_date = None
        recurring.save()
        models.Activity.log(f"recurring.{status}", recurring, client=recurring.client_id,
                            staff=staff)
    return recurring


EDITABLE = ("frequency", "start_date", "remaining_cycles", "due_days", "discount", "notes",
            "terms", "auto_bill_mode")


def update_recurring(recurring, fields, lines=None, staff=None):
    """Change a schedule and its template; invoices already issued keep what they said."""
    if "frequency" in fields and fields["frequency"] not in schedule.FREQUENCIES:
        raise DomainError("Choose a frequency from the list.", "frequency")
    if "remaining_cycles" in fields:
        check_cycles(fields["remaining_cycles"])
    if "due_days" in fields:
        check_due_days(fields["due_days"])
    fields = dict(fields)
    if "auto_bill_mode" not in fields and "auto_bill" in fields:
        fields["auto_bill_mode"] = "always" if fields["auto_bill"] else "off"
    if "auto_bill_mode" in fields:
        from billing import autobill
        fields["auto_bill_mode"] = autobill.check_mode(fields["auto_bill_mode"])
        fields["auto_bill"] = fields["auto_bill_mode"] != "off"
    with transaction():
        recurring = invoices._locked(recurring)
        if recurring.status == "completed":
            raise DomainError(f"{recurring.number} has ended: it can no longer be changed.")
        moved_start = "start_date" in fields and fields["start_date"] != recurring.start_date
        for key in (*EDITABLE, "auto_bill"):
            if key in fields:
                setattr(recurring, key, fields[key])
        # Nothing issued yet: the first invoice follows the new start date.
        if moved_start and not recurring.invoices.exists():
            recurring.next_send_date = recurring.start_date
        if lines is not None:
            documents.set_lines(recurring, lines, "recurring")
        else:
            documents.reprice(recurring, "recurring")
        if recurring.status == "active" and recurring.total <= 0:
            raise DomainError("A recurring invoice needs a total above zero.", "lines")
        recurring.save()
        models.Activity.log("recurring.updated", recurring, client=recurring.client_id,
                            staff=staff)
    return recurring
