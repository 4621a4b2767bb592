"""Payment reminders and the late fee: the business's rules, and run-due's work.

Up to three rules, each a number of days from the due date (negative: before it) that can be
switched off, and an optional late fee, fixed or a percentage of the balance, added once the
day after the due date. run_due() sends each rule's reminder once per invoice and adds the
fee once: every step is claimed by inserting an InvoiceReminder row whose (invoice, step)
is unique, in the transaction that queues the e-mail or adds the fee, so overlapping runs on
any number of machines do each step once. Only open invoices (sent or partly paid, with a
balance) are ever reminded or charged; a paid, cancelled, void or draft one never is.
"""
import dataclasses
import datetime as dt
import json
import logging
import re
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_decimal
from peewee import IntegrityError

import i18n
import mail
import models
import money
from billing import DomainError, allocation, notifications, schedule, transaction
from i18n import gettext as _

log = logging.getLogger("portal.reminders")

MAX_RULES = 3
DAYS_RANGE = (-365, 365)
MAX_PERCENT = 100
FEE_KINDS = {"": "No late fee", "fixed": "A fixed amount", "percent": "A percentage of the balance"}
LATE_FEE = "late_fee"
DAYS_RE = re.compile(r"[+-]?\d{1,4}")
BATCH = 500


@dataclasses.dataclass
class Rule:
    slot: int           # 1..MAX_RULES
    days: int | None    # None: not set up
    enabled: bool

    @property
    def step(self):
        return f"reminder{self.slot}"

    @property
    def active(self):
        return self.enabled and self.days is not None


def rules(company):
    """The company's MAX_RULES rules, unset ones filled in (stored JSON read tolerantly)."""
    try:
        stored = json.loads(company.reminder_rules or "[]")
    except ValueError:
        stored = []
    found = []
    for slot in range(1, MAX_RULES + 1):
        item = stored[slot - 1] if isinstance(stored, list) and len(stored) >= slot else {}
        item = item if isinstance(item, dict) else {}
        days = item.get("days")
        days = days if isinstance(days, int) and not isinstance(days, bool) else None
        found.append(Rule(slot, days, bool(item.get("enabled")) and days is not None))
    return found


def fee_text(company):
    """The stored late fee as a person types it back into the form."""
    if company.late_fee_kind == "fixed":
        return money.input_string(company.late_fee_value, company.currency, company.locale)
    if company.late_fee_kind == "percent":
        return format_decimal(Decimal(company.late_fee_value).scaleb(-2), "0.##",
                              locale=company.locale)
    return ""


# ---------------------------------------------------------------- the settings form

def _days(text, slot):
    text = str(text if text is not None else "").strip()
    low, high = DAYS_RANGE
    if not text:
        return None
    if not DAYS_RE.fullmatch(text) or not low <= int(text) <= high:
        raise DomainError(f"Reminder {slot}: enter the days as a whole number from {low} "
                          f"(before the due date) to {high} (after it).", f"reminder{slot}_days")
    return int(text)


def _fee(kind, text, company):
    kind = (kind or "").strip()
    if kind not in FEE_KINDS:
        raise DomainError("Choose no late fee, a fixed amount or a percentage.", "late_fee_kind")
    text = (text or "").strip()
    if not kind:
        return "", 0
    if not text:
        raise DomainError("Enter the late fee, or choose no late fee.", "late_fee_value")
    locale = company.locale
    if kind == "fixed":
        try:
            return kind, money.parse(text, company.currency, locale)
        except money.MoneyError as exc:
            raise DomainError(f"Late fee: {exc}", "late_fee_value") from None
    value = money.parse_number(text.rstrip("%").strip(), locale)
    if value is None:
        raise DomainError("Enter the late fee percentage as a number, for example 1.5.",
                          "late_fee_value")
    if value < 0:
        raise DomainError("The late fee cannot be negative.", "late_fee_value")
    if value > MAX_PERCENT or -value.as_tuple().exponent > 2:
        raise DomainError(f"Enter a percentage from 0 to {MAX_PERCENT}, with at most two "
                          "decimal places.", "late_fee_value")
    return kind, int(value.scaleb(2))


def save(company, *, rule_inputs, fee_kind, fee_value, staff=None):
    """rule_inputs: [(days text, enabled)] for the MAX_RULES rules, in order. Everything is
    checked before anything is written; a refusal names its field."""
    from billing.company_settings import _store
    rule_inputs = list(rule_inputs)[:MAX_RULES]
    stored = []
    seen = {}
    for slot, (days_text, enabled) in enumerate(rule_inputs, start=1):
        days = _days(days_text, slot)
        if enabled and days is None:
            raise DomainError(f"Reminder {slot}: enter the days, or switch it off.",
                              f"reminder{slot}_days")
        if enabled and days in seen:
            raise DomainError(f"Reminder {slot} is on the same day as reminder {seen[days]}.",
                              f"reminder{slot}_days")
        if enabled:
            seen[days] = slot
        stored.append({"days": days, "enabled": bool(enabled)})
    kind, value = _fee(fee_kind, fee_value, company)
    return _store(company, "settings.reminders_saved", staff,
                  reminder_rules=json.dumps(stored), late_fee_kind=kind, late_fee_value=value)


# ---------------------------------------------------------------- run-due

def late_fee_for(company, invoice):
    """The fee this invoice would take now, in its currency; 0 when none applies."""
    if company.late_fee_kind == "percent":
        fee = Decimal(invoice.balance) * company.late_fee_value / Decimal(10000)
        return int(fee.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if company.late_fee_kind == "fixed" and invoice.currency == company.currency:
        # A fixed fee is in the company's currency; it is never converted at a guessed rate.
        return company.late_fee_value
    return 0


def _open_invoices():
    Inv, C = models.Invoice, models.Client
    return (Inv.select(Inv).join(C, on=(Inv.client == C.id))
            .where(Inv.status.in_(("sent", "partial")) & (Inv.balance > 0)
                   & Inv.due_date.is_null(False) & Inv.archived_at.is_null()
                   & C.archived_at.is_null()))


def _claimed(invoice_ids):
    R = models.InvoiceReminder
    found = {}
    for invoice_id, step in (R.select(R.invoice, R.step)
                             .where(R.invoice.in_(invoice_ids)).tuples()):
        found.setdefault(invoice_id, set()).add(step)
    return found


def run_due(config, today=None):
    """One tick: add late fees and send reminders that are due. Returns counts."""
    done = {"reminded": 0, "fees": 0}
    company = models.Company.current()
    if company is None:
        return done
    today = today or schedule.today()
    active = [r for r in rules(company) if r.active]
    charges_fee = company.late_fee_kind in ("percent", "fixed") and company.late_fee_value > 0
    if not active and not charges_fee:
        return done
    # A step `n` days from the due date is due once due_date + n <= today: the smallest n
    # (the fee's is 1, the day after) reaches the latest due dates.
    latest_due = today - dt.timedelta(days=min([r.days for r in active]
                                               + ([1] if charges_fee else [])))
    Inv = models.Invoice
    last_id = 0
    while True:
        batch = list(_open_invoices().where(
            (Inv.due_date <= latest_due) & (Inv.id > last_id))
            .order_by(Inv.id).limit(BATCH))
        if not batch:
            break
        last_id = batch[-1].id
        claimed = _claimed([inv.id for inv in batch])
        for invoice in batch:
            steps = claimed.get(invoice.id, set())
            if charges_fee and LATE_FEE not in steps and invoice.due_date < today:
                done["fees"] += _add_late_fee(company, invoice.id, today)
            rule = _due_rule(active, invoice.due_date, today)
            if rule is not None and rule.step not in steps:
                done["reminded"] += _remind(invoice.id, rule, active, today, config)
    return done


def _due_rule(active, due_date, today):
    """The latest rule due today. Earlier ones still unsent are passed over, not sent late
    all at once (a rule set up after an invoice fell due, or after downtime); a reminder
    "before the due date" is no use once the invoice is due."""
    due = [r for r in active if due_date + dt.timedelta(days=r.days) <= today
           and (r.days >= 0 or today < due_date)]
    return max(due, key=lambda r: r.days) if due else None


def _add_late_fee(company, invoice_id, today):
    try:
        with transaction():
            invoice = allocation.locked(models.Invoice, invoice_id)
            fee = late_fee_for(company, invoice) if invoice.is_payable else 0
            if fee <= 0:
                return 0
            models.InvoiceReminder.create(invoice=invoice, step=LATE_FEE, amount=fee)
            position = max([line.position for line in invoice.lines] or [0]) + 1
            models.LineItem.create(invoice=invoice, position=position, product="Late fee",
                                   description=f"Added on {today.isoformat()}", quantity=1,
                                   unit_cost=fee, amount=fee)
            invoice.subtotal += fee
            invoice.total += fee
            invoice.balance += fee
            invoice.save()
            models.Client.update(balance=models.Client.balance + fee).where(
                models.Client.id == invoice.client_id).execute()
            models.Activity.log("invoice.late_fee", invoice, client=invoice.client_id,
                                detail=f"{fee} {invoice.currency}")
    except IntegrityError:
        return 0  # another run added it
    return 1


def _remind(invoice_id, rule, active, today, config):
    R = models.InvoiceReminder
    try:
        with transaction():
            invoice = allocation.locked(models.Invoice, invoice_id)
            if not invoice.is_payable:
                return 0
            R.create(invoice=invoice, step=rule.step)
            passed = [{"invoice": invoice.id, "step": r.step, "sent": False} for r in active
                      if r.days < rule.days]
            if passed:
                R.insert_many(passed).on_conflict_ignore().execute()
            fee = (R.select(R.amount).where((R.invoice == invoice.id) & (R.step == LATE_FEE))
                   .scalar() or 0)
            messages = [reminder_email(invoice, contact, config, today, fee)
                        for contact in notifications.recipients(invoice.client)]
            models.Activity.log("invoice.reminded", invoice, client=invoice.client_id,
                                detail=f"reminder {rule.slot} ({rule.days:+d} days): "
                                       + ", ".join(m.to for m in messages))
    except IntegrityError:
        return 0  # another run sent it
    mail.send_now(messages, config)
    return 1


def reminder_email(invoice, contact, config, today, late_fee=0):
    company = models.Company.current()
    days_left = (invoice.due_date - today).days
    with i18n.for_contact(contact, company):
        subject = (_("Reminder: invoice %(number)s from %(company)s", number=invoice.number,
                     company=company.name) if days_left >= 0
                   else _("Overdue: invoice %(number)s from %(company)s", number=invoice.number,
                          company=company.name))
        return notifications.invitation_email("invoice", invoice, contact, config,
                                              template="email/invoice_reminder",
                                              subject=subject, days_left=days_left,
                                              late_fee=late_fee)
