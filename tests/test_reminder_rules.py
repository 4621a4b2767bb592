"""Reminder rules and the late fee (billing.reminders), rule by rule: what the settings take
and refuse word for word, what the fee comes to and in which currency, which reminder is due
on which day, and exactly what a run writes. tests/test_reminders.py runs the whole tick
through a real SMTP server."""
import datetime as dt
import json

import pytest

import models
from billing import DomainError, reminders, schedule
from tests import factories
from tests.core_support import activities

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def company(db):
    return factories.company(name="Shop Ltd", currency="USD", locale="en_US")


def config(tmp_path):
    return {"BASE_URL": "http://portal.test", "SMTP_URL": "",
            "OUTBOX_PATH": str(tmp_path / "outbox")}


def save(company, rules=(("", False),) * 3, kind="", value=""):
    return reminders.save(company, rule_inputs=list(rules), fee_kind=kind, fee_value=value)


def refusal(company, **kwargs):
    with pytest.raises(DomainError) as refused:
        save(company, **kwargs)
    return refused.value.message, refused.value.field


# ---------------------------------------------------------------- stored rules

@pytest.mark.parametrize("stored, expected", [
    ("", [(1, None, False), (2, None, False), (3, None, False)]),
    ("not json", [(1, None, False), (2, None, False), (3, None, False)]),
    ('{"days": 3}', [(1, None, False), (2, None, False), (3, None, False)]),
    ('[{"days": 3, "enabled": true}, "x", {"days": true, "enabled": true}, {"days": 9}]',
     [(1, 3, True), (2, None, False), (3, None, False)]),
    ('[{"days": -2, "enabled": 1}, {"days": 5, "enabled": false}, {"days": 1.5, "enabled": 1}]',
     [(1, -2, True), (2, 5, False), (3, None, False)]),
])
def test_stored_rules_are_read_tolerantly_three_of_them(company, stored, expected):
    company.reminder_rules = stored
    found = reminders.rules(company)
    assert [(r.slot, r.days, r.enabled) for r in found] == expected
    assert [r.step for r in found] == ["reminder1", "reminder2", "reminder3"]
    assert [r.active for r in found] == [e[2] for e in expected]


def test_a_rule_is_active_only_when_switched_on_with_days():
    assert reminders.Rule(1, 0, True).active
    assert not reminders.Rule(1, None, True).active
    assert not reminders.Rule(1, 4, False).active


@pytest.mark.parametrize("kind, value, locale, text", [
    ("fixed", 1250, "en_US", "12.50"), ("fixed", 1250, "de_DE", "12,50"),
    ("percent", 150, "en_US", "1.5"), ("percent", 225, "de_DE", "2,25"),
    ("percent", 1000, "en_US", "10"), ("", 0, "en_US", ""), ("", 500, "en_US", ""),
])
def test_the_fee_reads_back_as_a_person_types_it(company, kind, value, locale, text):
    company.late_fee_kind, company.late_fee_value, company.locale = kind, value, locale
    assert reminders.fee_text(company) == text


def test_a_fixed_fee_reads_back_in_the_companys_currency(company):
    company.late_fee_kind, company.late_fee_value, company.currency = "fixed", 1500, "JPY"
    assert reminders.fee_text(company) == "1500"


# ---------------------------------------------------------------- the settings

def test_good_settings_are_stored_with_who_saved_them(company):
    staff = factories.staff()
    reminders.save(company, rule_inputs=[(" -3 ", True), ("+7", "on"), ("12", False),
                                         ("99", True)],
                   fee_kind=" percent ", fee_value=" 1.5 % ", staff=staff)
    stored = models.Company.get_by_id(company.id)
    assert json.loads(stored.reminder_rules) == [
        {"days": -3, "enabled": True}, {"days": 7, "enabled": True},
        {"days": 12, "enabled": False}]
    assert (stored.late_fee_kind, stored.late_fee_value) == ("percent", 150)
    assert activities("settings.reminders_saved") == [
        (company.id, None, None, staff.id, "late_fee_kind, late_fee_value, reminder_rules")]


@pytest.mark.parametrize("days", ["-365", "365", "0", "+1"])
def test_days_from_a_year_before_to_a_year_after_are_taken(company, days):
    save(company, rules=[(days, True), ("", False), ("", False)])
    assert json.loads(company.reminder_rules)[0]["days"] == int(days)


@pytest.mark.parametrize("days", ["-366", "366", "1.5", "abc", "12345", "1 2", "--1"])
def test_days_outside_a_year_or_not_whole_are_refused(company, days):
    assert refusal(company, rules=[("1", True), (days, False), ("", False)]) == (
        "Reminder 2: enter the days as a whole number from -365 (before the due date) to 365 "
        "(after it).", "reminder2_days")


def test_a_rule_switched_on_needs_its_days_and_a_day_of_its_own(company):
    assert refusal(company, rules=[("", False), ("", False), (None, True)]) == (
        "Reminder 3: enter the days, or switch it off.", "reminder3_days")
    assert refusal(company, rules=[("5", True), ("2", True), ("5", True)]) == (
        "Reminder 3 is on the same day as reminder 1.", "reminder3_days")
    save(company, rules=[("5", True), ("5", False), ("", False)])  # one switched off: fine


@pytest.mark.parametrize("kind, value, expected", [
    ("bogus", "1", ("Choose no late fee, a fixed amount or a percentage.", "late_fee_kind")),
    ("fixed", "  ", ("Enter the late fee, or choose no late fee.", "late_fee_value")),
    ("percent", None, ("Enter the late fee, or choose no late fee.", "late_fee_value")),
    ("fixed", "-5", ("Late fee: The amount cannot be negative.", "late_fee_value")),
    ("percent", "x", ("Enter the late fee percentage as a number, for example 1.5.",
                      "late_fee_value")),
    ("percent", "2X", ("Enter the late fee percentage as a number, for example 1.5.",
                       "late_fee_value")),
    ("percent", "-0.5", ("The late fee cannot be negative.", "late_fee_value")),
    ("percent", "100.01", ("Enter a percentage from 0 to 100, with at most two decimal places.",
                           "late_fee_value")),
    ("percent", "1.234", ("Enter a percentage from 0 to 100, with at most two decimal places.",
                          "late_fee_value")),
])
def test_a_late_fee_that_cannot_work_is_refused_word_for_word(company, kind, value, expected):
    assert refusal(company, kind=kind, value=value) == expected
    assert models.Company.get_by_id(company.id).late_fee_kind == ""


@pytest.mark.parametrize("kind, value, stored", [
    ("", "12", ("", 0)), (None, None, ("", 0)), ("percent", "100", ("percent", 10000)),
    ("percent", "0", ("percent", 0)), ("percent", "0.01", ("percent", 1)),
    ("fixed", "12.5", ("fixed", 1250)),
])
def test_a_late_fee_is_stored_in_hundredths(company, kind, value, stored):
    save(company, kind=kind, value=value)
    assert (company.late_fee_kind, company.late_fee_value) == stored


def test_a_fixed_fee_is_read_in_the_companys_locale_and_currency(company):
    company.locale, company.currency = "de_DE", "JPY"
    save(company, kind="fixed", value="1.500")
    assert company.late_fee_value == 1500
    save(company, kind="percent", value="1,5 %")
    assert (company.late_fee_kind, company.late_fee_value) == ("percent", 150)


# ---------------------------------------------------------------- what the fee comes to

@pytest.mark.parametrize("kind, value, balance, currency, fee", [
    ("percent", 150, 10000, "USD", 150),
    ("percent", 150, 33, "USD", 0),      # 0.495 rounds down
    ("percent", 150, 34, "USD", 1),      # 0.51 rounds up
    ("percent", 5000, 1, "USD", 1),      # exactly a half rounds up
    ("percent", 150, 10000, "EUR", 150),  # a percentage suits any currency
    ("fixed", 500, 10000, "USD", 500),
    ("fixed", 500, 10000, "EUR", 0),     # never converted at a guessed rate
    ("", 500, 10000, "USD", 0),
])
def test_the_fee_an_invoice_would_take(company, kind, value, balance, currency, fee):
    company.late_fee_kind, company.late_fee_value = kind, value
    invoice = models.Invoice(balance=balance, currency=currency)
    assert reminders.late_fee_for(company, invoice) == fee


# ---------------------------------------------------------------- which reminder is due

RULES = [reminders.Rule(1, -3, True), reminders.Rule(2, 1, True), reminders.Rule(3, 10, True)]


@pytest.mark.parametrize("due_in, expected", [
    (4, None),    # three days before is tomorrow
    (3, 1),       # three days before the due date: today
    (1, 1),
    (0, None),    # the due date itself: too late for "before", too early for "after"
    (-1, 2),      # the day after
    (-9, 2),
    (-10, 3),
    (-40, 3),     # the latest due, never all three at once
])
def test_the_latest_rule_due_today_is_the_one_sent(due_in, expected):
    rule = reminders._due_rule(RULES, TODAY + dt.timedelta(days=due_in), TODAY)
    assert (rule.slot if rule else None) == expected


def test_a_before_reminder_is_no_use_once_the_invoice_is_due():
    before_only = [reminders.Rule(1, -3, True)]
    assert reminders._due_rule(before_only, TODAY + dt.timedelta(days=1), TODAY).slot == 1
    assert reminders._due_rule(before_only, TODAY, TODAY) is None
    on_the_day = [reminders.Rule(1, 0, True)]
    assert reminders._due_rule(on_the_day, TODAY - dt.timedelta(days=5), TODAY).slot == 1


# ---------------------------------------------------------------- what a run writes

def due(client, days_ago, **fields):
    return factories.invoice(client, status="sent", date=TODAY - dt.timedelta(days=60),
                             due_date=TODAY - dt.timedelta(days=days_ago), **fields)


@pytest.fixture
def late(company):
    client = factories.client(name="Late Co")
    factories.contact(client, email="late@late.example")
    return client


def test_a_late_fee_is_a_new_last_line_on_the_invoice_and_its_clients_balance(company, late,
                                                                               tmp_path):
    save(company, kind="fixed", value="5.00")
    invoice = due(late, 1)
    before = models.Client.get_by_id(late.id).balance
    assert reminders.run_due(config(tmp_path), TODAY) == {"reminded": 0, "fees": 1}
    after = models.Invoice.get_by_id(invoice.id)
    lines = after.ordered_lines()
    assert [(line.position, line.product, line.description, line.quantity, line.unit_cost,
             line.amount) for line in lines[-1:]] == [
        (max(line.position for line in lines[:-1]) + 1, "Late fee", "Added on 2026-06-15",
         1, 500, 500)]
    assert (after.subtotal, after.total, after.balance) == (
        invoice.subtotal + 500, invoice.total + 500, invoice.balance + 500)
    assert models.Client.get_by_id(late.id).balance == before + 500
    assert activities("invoice.late_fee") == [(invoice.id, late.id, None, None, "500 USD")]
    R = models.InvoiceReminder
    assert [(r.step, r.amount) for r in R.select().where(R.invoice == invoice.id)] == [
        ("late_fee", 500)]


def test_no_fee_on_the_due_date_nor_a_fee_of_nothing(company, late, tmp_path):
    save(company, kind="fixed", value="5.00")
    on_the_day = due(late, 0)
    assert reminders.run_due(config(tmp_path), TODAY) == {"reminded": 0, "fees": 0}
    # A reminder rule reaching invoices due later does not bring their fee forward.
    save(company, rules=[("-3", True), ("", False), ("", False)], kind="fixed", value="5.00")
    assert reminders.run_due(config(tmp_path), TODAY) == {"reminded": 0, "fees": 0}
    assert models.Invoice.get_by_id(on_the_day.id).total == on_the_day.total
    save(company, kind="percent", value="0")
    assert reminders.run_due(config(tmp_path), TODAY + dt.timedelta(days=1)) == {
        "reminded": 0, "fees": 0}
    save(company, kind="fixed", value="5.00")
    models.Invoice.update(currency="EUR").where(models.Invoice.id == on_the_day.id).execute()
    assert reminders.run_due(config(tmp_path), TODAY + dt.timedelta(days=1)) == {
        "reminded": 0, "fees": 0}
    assert models.InvoiceReminder.select().count() == 0


def test_archived_invoices_and_clients_and_settled_ones_are_left_alone(company, late,
                                                                       tmp_path):
    save(company, rules=[("1", True), ("", False), ("", False)], kind="fixed", value="5.00")
    archived = due(late, 2)
    models.Invoice.update(archived_at=models.utcnow()).where(
        models.Invoice.id == archived.id).execute()
    settled = due(late, 2)
    models.Invoice.update(balance=0).where(models.Invoice.id == settled.id).execute()
    gone = factories.client(name="Gone Co")
    factories.contact(gone, email="gone@gone.example")
    due(gone, 2)
    models.Client.update(archived_at=models.utcnow()).where(models.Client.id == gone.id).execute()
    undated = factories.invoice(late, status="sent", due_date=None)
    assert reminders.run_due(config(tmp_path), TODAY) == {"reminded": 0, "fees": 0}
    assert undated.due_date is None and models.InvoiceReminder.select().count() == 0


def test_a_reminder_marks_the_earlier_rules_passed_over_and_logs_who_it_went_to(
        company, late, tmp_path):
    save(company, rules=[("-3", True), ("1", True), ("7", True)])
    invoice = due(late, 8)
    assert reminders.run_due(config(tmp_path), TODAY) == {"reminded": 1, "fees": 0}
    R = models.InvoiceReminder
    assert sorted((r.step, r.sent) for r in R.select().where(R.invoice == invoice.id)) == [
        ("reminder1", False), ("reminder2", False), ("reminder3", True)]
    assert activities("invoice.reminded") == [
        (invoice.id, late.id, None, None, "reminder 3 (+7 days): late@late.example")]
    message = models.EmailMessage.get()
    assert message.subject == f"Overdue: invoice {invoice.number} from Shop Ltd"
    assert reminders.run_due(config(tmp_path), TODAY + dt.timedelta(days=30)) == {
        "reminded": 0, "fees": 0}


def test_a_reminder_due_in_a_later_batch_is_reached(company, late, tmp_path, monkeypatch):
    monkeypatch.setattr(reminders, "BATCH", 2)
    save(company, rules=[("1", True), ("", False), ("", False)])
    invoices = [due(late, 1) for _ in range(5)]
    assert reminders.run_due(config(tmp_path), TODAY) == {"reminded": 5, "fees": 0}
    R = models.InvoiceReminder
    assert {r.invoice_id for r in R.select()} == {inv.id for inv in invoices}


def test_a_reminder_before_the_due_date_and_on_it_says_reminder(company, late, tmp_path):
    save(company, rules=[("-3", True), ("0", True), ("", False)])
    soon, today = due(late, -3), due(late, 0)
    assert reminders.run_due(config(tmp_path), TODAY) == {"reminded": 2, "fees": 0}
    assert sorted(m.subject for m in models.EmailMessage.select()) == sorted([
        f"Reminder: invoice {soon.number} from Shop Ltd",
        f"Reminder: invoice {today.number} from Shop Ltd"])


def test_the_reminder_after_a_fee_names_the_fee(company, late, tmp_path):
    save(company, rules=[("2", True), ("", False), ("", False)], kind="fixed", value="7.00")
    invoice = due(late, 1)
    assert reminders.run_due(config(tmp_path), TODAY) == {"reminded": 0, "fees": 1}
    assert reminders.run_due(config(tmp_path), TODAY + dt.timedelta(days=1)) == {
        "reminded": 1, "fees": 0}
    body = models.EmailMessage.get().body_text
    assert "A late fee of $7.00 has been added." in body
    assert invoice.number in body


def test_without_a_company_nothing_runs(db, tmp_path):
    models.Company.delete().execute()
    assert reminders.run_due(config(tmp_path), TODAY) == {"reminded": 0, "fees": 0}


def test_a_reminder_is_written_in_the_contacts_language_else_the_businesss(company, late,
                                                                           tmp_path):
    invoice = due(late, -2)
    contact = late.contacts[0]
    message = reminders.reminder_email(invoice, contact, config(tmp_path), TODAY)
    assert message.subject == f"Reminder: invoice {invoice.number} from Shop Ltd"
    models.Company.update(locale="de_DE").execute()
    message = reminders.reminder_email(invoice, contact, config(tmp_path), TODAY)
    assert message.subject == f"Erinnerung: Rechnung {invoice.number} von Shop Ltd"
    models.Company.update(locale="en_US").execute()
    models.Contact.update(locale="de").where(models.Contact.id == contact.id).execute()
    message = reminders.reminder_email(invoice, models.Contact.get_by_id(contact.id),
                                       config(tmp_path), TODAY + dt.timedelta(days=3))
    assert message.subject == f"Überfällig: Rechnung {invoice.number} von Shop Ltd"
    assert "Mahngebühr" not in message.body_text  # no fee unless one was added
    with_fee = reminders.reminder_email(invoice, models.Contact.get_by_id(contact.id),
                                        config(tmp_path), TODAY, late_fee=700)
    assert "Eine Mahngebühr von 7,00\xa0$ wurde hinzugefügt." in with_fee.body_text


def test_a_run_told_no_date_works_to_the_companys_date(company, late, tmp_path):
    models.Company.update(timezone="Pacific/Kiritimati").execute()
    save(company, rules=[("1", True), ("", False), ("", False)])
    yesterday = schedule.today() - dt.timedelta(days=1)
    invoice = factories.invoice(late, status="sent", date=yesterday - dt.timedelta(days=30),
                                due_date=yesterday)
    assert reminders.run_due(config(tmp_path)) == {"reminded": 1, "fees": 0}
    assert models.InvoiceReminder.get().invoice_id == invoice.id


def test_a_balance_of_one_cent_is_reminded_and_a_fee_of_one_cent_is_added(company, late,
                                                                         tmp_path):
    save(company, rules=[("2", True), ("", False), ("", False)], kind="fixed", value="0.01")
    invoice = due(late, 2, lines=[{"product": "Pin", "quantity": 1, "unit_cost": 1}])
    assert invoice.balance == 1
    assert reminders.run_due(config(tmp_path), TODAY) == {"reminded": 1, "fees": 1}
    assert models.Invoice.get_by_id(invoice.id).balance == 2


def test_the_fee_line_comes_after_every_line_and_only_its_client_owes_more(company, late,
                                                                          tmp_path):
    save(company, kind="fixed", value="5.00")
    invoice = due(late, 1, lines=[{"product": name, "quantity": 1, "unit_cost": 100}
                                  for name in ("A", "B", "C")])
    other = factories.client(name="Other Co")
    factories.invoice(other, status="sent")  # owes, but is not late
    owed = {c.id: c.balance for c in models.Client.select()}
    assert reminders.run_due(config(tmp_path), TODAY) == {"reminded": 0, "fees": 1}
    lines = models.Invoice.get_by_id(invoice.id).ordered_lines()
    assert [(line.product, line.position) for line in lines] == [
        ("A", 0), ("B", 1), ("C", 2), ("Late fee", 3)]
    assert {c.id: c.balance for c in models.Client.select()} == {
        **owed, late.id: owed[late.id] + 500}


def test_an_invoice_settled_after_its_batch_was_read_gets_no_reminder_nor_fee(
        company, late, tmp_path):
    """The run reads a batch, then takes each invoice's lock: one paid in between is
    checked again under the lock."""
    save(company, rules=[("1", True), ("", False), ("", False)], kind="fixed", value="5.00")
    paid = due(late, 1)
    models.Invoice.update(status="paid", balance=0).where(
        models.Invoice.id == paid.id).execute()
    rule = reminders.rules(company)[0]
    assert reminders._add_late_fee(company, paid.id, TODAY) == 0
    assert reminders._remind(paid.id, rule, [rule], TODAY, config(tmp_path)) == 0
    assert models.Invoice.get_by_id(paid.id).total == paid.total
    assert models.InvoiceReminder.select().count() == 0
    assert models.EmailMessage.select().count() == 0


def test_a_reminder_names_only_its_own_invoices_fee_and_every_recipient(company, late,
                                                                        tmp_path):
    factories.contact(late, email="books@late.example")
    save(company, rules=[("-2", True), ("", False), ("", False)], kind="fixed", value="7.00")
    charged = due(late, 1)
    assert reminders.run_due(config(tmp_path), TODAY) == {"reminded": 0, "fees": 1}
    soon = due(late, -2)
    assert reminders.run_due(config(tmp_path), TODAY) == {"reminded": 1, "fees": 0}
    bodies = [m.body_text for m in models.EmailMessage.select()]
    assert len(bodies) == 2 and all(soon.number in body for body in bodies)
    assert not any("late fee" in body.lower() for body in bodies)
    assert activities("invoice.reminded") == [
        (soon.id, late.id, None, None,
         "reminder 1 (-2 days): late@late.example, books@late.example")]
    assert charged.id != soon.id
