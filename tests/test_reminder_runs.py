"""What a reminders run writes (billing.reminders.run_due), rule by rule: the late fee's line
and balances, which reminder goes to whom in which words, what is passed over, and what
the run leaves alone. tests/test_reminder_rules.py has the rules and the settings;
tests/test_reminders.py runs the whole tick through a real SMTP server."""
import datetime as dt

import pytest

import models
from billing import reminders, schedule
from tests import factories
from tests.core_support import activities
from tests.reminders_support import TODAY, config, save, shop


@pytest.fixture
def company(db):
    return shop()


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
