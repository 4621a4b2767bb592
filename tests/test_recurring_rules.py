"""The rules of a recurring schedule, at the service: what a new or changed schedule may hold,
what each generated invoice copies from its template, and what pausing, resuming and
stopping leave behind. A refusal says which field and changes nothing."""
import datetime as dt
import logging
from decimal import Decimal

import pytest

import models
from billing import DomainError, recurring
from tests import factories
from tests.core_support import refusal

LINES = [{"product": "Retainer", "description": "Monthly support", "quantity": 2,
          "unit_cost": 25000, "discount_percent": "10", "tax_name": "VAT", "tax_rate": "20"}]
FREE = [{"product": "Nothing", "quantity": 1, "unit_cost": 0}]
START = dt.date(2026, 10, 5)
CYCLES = ("Remaining cycles must be -1 (until stopped) or a whole number from 1 to 1000.")
DUE_DAYS = "Days until due must be a whole number from 0 to 365."


def schedule(client=None, **kw):
    return recurring.create_recurring(client or factories.client(), kw.pop("lines", LINES),
                                      start_date=kw.pop("start_date", START), **kw)


def refused(call, message, field):
    error = refusal(call)  # and nothing was written
    assert (error.message, error.field) == (message, field)


@pytest.mark.parametrize("cycles", [-1, 1, 2, 999, 1000])
def test_cycles_are_until_stopped_or_one_to_a_thousand(cycles):
    assert recurring.check_cycles(cycles) == cycles


@pytest.mark.parametrize("cycles", [0, -2, 1001, True, False, 1.0, "3", None])
def test_other_cycles_are_refused(cycles):
    with pytest.raises(DomainError) as caught:
        recurring.check_cycles(cycles)
    assert (caught.value.message, caught.value.field) == (CYCLES, "remaining_cycles")


@pytest.mark.parametrize("days", [0, 1, 364, 365])
def test_days_until_due_are_zero_to_a_year(days):
    assert recurring.check_due_days(days) == days


@pytest.mark.parametrize("days", [-1, 366, True, 30.0, "30", None])
def test_other_days_until_due_are_refused(days):
    with pytest.raises(DomainError) as caught:
        recurring.check_due_days(days)
    assert (caught.value.message, caught.value.field) == (DUE_DAYS, "due_days")


def test_a_new_schedule_starts_on_its_start_date_in_the_clients_currency(db):
    client = factories.client(currency="EUR")
    r = schedule(client, frequency="quarterly", remaining_cycles=4, due_days=14,
                 discount=500, notes="Thanks", terms="14 days")
    r = models.RecurringInvoice.get_by_id(r.id)
    assert (r.status, r.frequency, r.start_date, r.next_send_date, r.remaining_cycles,
            r.due_days, r.currency, r.discount, r.notes, r.terms) == (
        "active", "quarterly", START, START, 4, 14, "EUR", 500, "Thanks", "14 days")
    assert (r.auto_bill, r.auto_bill_mode) == (False, "off")
    assert r.total == 53400  # 2 × 250.00 less 10%, less the 5.00 discount, plus 20% VAT
    assert r.number.startswith("REC-")


def test_a_new_schedule_left_at_its_defaults(db):
    r = models.RecurringInvoice.get_by_id(recurring.create_recurring(
        factories.client(), LINES, start_date=START).id)
    assert (r.status, r.frequency, r.remaining_cycles, r.due_days, r.discount, r.notes,
            r.terms) == ("active", "monthly", -1, 30, 0, "", "")


@pytest.mark.parametrize("status", ["active", "paused", "draft"])
def test_one_minor_unit_is_something_to_bill(db, status):
    r = schedule(lines=[{"product": "Token", "quantity": 1, "unit_cost": 1}], status=status)
    assert r.total == 1
    assert recurring.set_status(r, "active").status == "active"
    assert recurring.update_recurring(r, {"notes": "still one"}).total == 1


@pytest.mark.parametrize("kwargs, mode, flag", [
    ({}, "off", False), ({"auto_bill": True}, "always", True),
    ({"auto_bill": False}, "off", False),
    ({"auto_bill": True, "auto_bill_mode": "optout"}, "optout", True),
    ({"auto_bill_mode": "optin"}, "optin", True), ({"auto_bill_mode": "off"}, "off", False),
])
def test_auto_bill_yes_means_always_unless_a_mode_is_given(db, kwargs, mode, flag):
    r = models.RecurringInvoice.get_by_id(schedule(**kwargs).id)
    assert (r.auto_bill_mode, r.auto_bill) == (mode, flag)


@pytest.mark.parametrize("kwargs, message, field", [
    ({"frequency": "hourly"}, "Choose a frequency from the list.", "frequency"),
    ({"remaining_cycles": 0}, CYCLES, "remaining_cycles"),
    ({"due_days": 366}, DUE_DAYS, "due_days"),
    ({"status": "completed"}, "A new recurring invoice is active, paused or a draft.",
     "status"),
    ({"lines": FREE}, "A recurring invoice needs a total above zero.", "lines"),
])
def test_a_new_schedule_that_cannot_work_is_refused_whole(db, kwargs, message, field):
    client = factories.client()
    refused(lambda: schedule(client, **kwargs), message, field)


@pytest.mark.parametrize("status", ["draft", "paused"])
def test_a_schedule_not_yet_running_may_be_free_until_it_starts(db, status):
    r = schedule(lines=FREE, status=status)
    assert (r.status, r.total) == (status, 0)
    refused(lambda: recurring.set_status(r, "active"),
            f"{r.number} has a total of zero: add a priced line before starting it.", "lines")


def test_each_invoice_copies_the_template_and_falls_due_its_days_later(db):
    r = schedule(due_days=10, discount=700, notes="Our notes", terms="Our terms",
                 remaining_cycles=3)
    invoice = recurring.generate(r, today=START)
    assert (invoice.status, invoice.date, invoice.due_date, invoice.recurring_id,
            invoice.currency, invoice.discount, invoice.notes, invoice.terms) == (
        "sent", START, START + dt.timedelta(days=10), r.id, "USD", 700, "Our notes",
        "Our terms")
    assert invoice.total == r.total
    line = invoice.ordered_lines()[0]
    assert (line.product, line.description, line.quantity, line.unit_cost,
            line.discount_percent, line.tax_name, line.tax_rate) == (
        "Retainer", "Monthly support", 2, 25000, Decimal(10), "VAT", Decimal(20))
    r = models.RecurringInvoice.get_by_id(r.id)
    assert (r.status, r.remaining_cycles, r.next_send_date) == ("active", 2,
                                                                dt.date(2026, 11, 5))
    logged = models.Activity.get(models.Activity.action == "recurring.generated")
    assert (logged.subject_id, logged.client_id, logged.detail) == (r.id, r.client_id,
                                                                    invoice.number)
    assert not models.AutoBill.select().exists()


def test_each_invoice_is_in_the_templates_currency(db):
    r = schedule()  # made in the client's USD, then billed in euros
    models.RecurringInvoice.update(currency="EUR").where(
        models.RecurringInvoice.id == r.id).execute()
    assert recurring.generate(r, today=START).currency == "EUR"


def test_a_running_schedule_without_a_next_date_issues_nothing(db):
    r = schedule()
    models.RecurringInvoice.update(next_send_date=None).where(
        models.RecurringInvoice.id == r.id).execute()
    assert recurring.generate(r, today=START) is None
    assert not models.Invoice.select().exists()


def test_a_schedule_until_stopped_keeps_its_count(db):
    r = schedule()
    recurring.generate(r, today=START)
    r = models.RecurringInvoice.get_by_id(r.id)
    assert (r.status, r.remaining_cycles, r.next_send_date) == ("active", -1,
                                                                dt.date(2026, 11, 5))


def test_the_last_cycle_ends_the_schedule(db):
    r = schedule(remaining_cycles=1)
    assert recurring.generate(r, today=START) is not None
    r = models.RecurringInvoice.get_by_id(r.id)
    assert (r.status, r.remaining_cycles, r.next_send_date) == ("completed", 0, None)
    assert recurring.generate(r, today=dt.date(2027, 1, 1)) is None


def test_nothing_is_issued_before_its_date(db):
    r = schedule()
    assert recurring.generate(r, today=START - dt.timedelta(days=1)) is None
    assert not models.Invoice.select().exists()
    assert models.RecurringInvoice.get_by_id(r.id).next_send_date == START


@pytest.mark.parametrize("mode, queued", [("always", True), ("optin", False),
                                          ("optout", True), ("off", False)])
def test_an_auto_billed_schedules_invoice_is_queued_for_its_charge_once(db, mode, queued):
    r = schedule(auto_bill_mode=mode)
    invoice = recurring.generate(r, today=START)
    assert [a.invoice_id for a in models.AutoBill.select()] == ([invoice.id] if queued else [])


def test_one_broken_template_is_logged_and_the_others_still_issue(db, caplog):
    good, broken = schedule(), schedule()
    models.LineItem.update(quantity=-5).where(
        models.LineItem.recurring == broken.id).execute()  # legacy data the service refuses
    with caplog.at_level(logging.WARNING, logger="portal.recurring"):
        made = recurring.generate_due({}, today=START)
    assert [i.recurring_id for i in made] == [good.id]
    (message,) = [m for m in caplog.messages if "not issued" in m]
    assert message == (f"recurring invoice {broken.id} not issued: "
                       + refusal(lambda: recurring.generate(broken, today=START)).message)
    assert models.RecurringInvoice.get_by_id(broken.id).next_send_date == START


def test_stopping_clears_the_next_date_and_logs_who(db):
    staff = factories.staff()
    r = recurring.set_status(schedule(), "completed", staff=staff)
    assert (r.status, r.next_send_date) == ("completed", None)
    stored = models.RecurringInvoice.get_by_id(r.id)
    assert (stored.status, stored.next_send_date) == ("completed", None)
    logged = models.Activity.get(models.Activity.action == "recurring.completed")
    assert (logged.subject_id, logged.client_id, logged.staff_id) == (r.id, r.client_id,
                                                                      staff.id)


def test_stopping_a_stopped_schedule_leaves_it_stopped(db):
    r = recurring.set_status(schedule(), "completed")
    r = recurring.set_status(r, "completed")
    stored = models.RecurringInvoice.get_by_id(r.id)
    assert (stored.status, stored.next_send_date) == ("completed", None)


def test_pausing_keeps_the_next_date(db):
    r = recurring.set_status(schedule(), "paused")
    stored = models.RecurringInvoice.get_by_id(r.id)
    assert (stored.status, stored.next_send_date) == ("paused", START)
    assert models.Activity.get(models.Activity.action == "recurring.paused").subject_id == r.id


# -- changing a schedule -----------------------------------------------------------------
@pytest.mark.parametrize("fields, message, field", [
    ({"frequency": "hourly"}, "Choose a frequency from the list.", "frequency"),
    ({"remaining_cycles": 1001}, CYCLES, "remaining_cycles"),
    ({"due_days": -1}, DUE_DAYS, "due_days"),
    ({"auto_bill_mode": "sometimes"}, "Choose an auto-bill setting from the list.",
     "auto_bill_mode"),
])
def test_a_change_that_cannot_work_is_refused_whole(db, fields, message, field):
    r = schedule()
    refused(lambda: recurring.update_recurring(r, {"notes": "changed", **fields}), message,
            field)


def test_a_change_to_nothing_to_bill_is_refused_whole(db):
    r = schedule()
    refused(lambda: recurring.update_recurring(r, {"notes": "changed"}, lines=FREE),
            "A recurring invoice needs a total above zero.", "lines")


def test_an_ended_schedule_cannot_be_changed(db):
    r = recurring.set_status(schedule(), "completed")
    refused(lambda: recurring.update_recurring(r, {"notes": "changed"}),
            f"{r.number} has ended: it can no longer be changed.", None)


def test_a_change_is_stored_and_logged_with_who(db):
    staff = factories.staff()
    r = schedule()
    recurring.update_recurring(r, {"frequency": "weekly", "remaining_cycles": 5, "due_days": 7,
                                   "discount": 100, "notes": "N", "terms": "T"},
                               lines=[{"product": "New", "quantity": 1, "unit_cost": 9000}],
                               staff=staff)
    r = models.RecurringInvoice.get_by_id(r.id)
    assert (r.frequency, r.remaining_cycles, r.due_days, r.discount, r.notes, r.terms,
            r.total) == ("weekly", 5, 7, 100, "N", "T", 8900)
    assert [li.product for li in r.ordered_lines()] == ["New"]
    logged = models.Activity.get(models.Activity.action == "recurring.updated")
    assert (logged.subject_id, logged.client_id, logged.staff_id) == (r.id, r.client_id,
                                                                      staff.id)


@pytest.mark.parametrize("fields, mode, flag", [
    ({"auto_bill": True}, "always", True), ({"auto_bill": False}, "off", False),
    ({"auto_bill": True, "auto_bill_mode": "optin"}, "optin", True),
    ({"auto_bill_mode": "optout"}, "optout", True), ({"auto_bill_mode": "off"}, "off", False),
])
def test_a_changed_auto_bill_keeps_the_yes_no_in_step_with_the_mode(db, fields, mode, flag):
    r = schedule(auto_bill_mode="optin")
    recurring.update_recurring(r, fields)
    r = models.RecurringInvoice.get_by_id(r.id)
    assert (r.auto_bill_mode, r.auto_bill) == (mode, flag)


def test_a_new_start_date_moves_the_first_invoice_until_one_is_issued(db):
    r = schedule()
    recurring.update_recurring(r, {"start_date": dt.date(2026, 12, 1)})
    assert models.RecurringInvoice.get_by_id(r.id).next_send_date == dt.date(2026, 12, 1)
    recurring.generate(r, today=dt.date(2026, 12, 1))
    recurring.update_recurring(r, {"start_date": dt.date(2027, 3, 1)})
    r = models.RecurringInvoice.get_by_id(r.id)
    assert (r.start_date, r.next_send_date) == (dt.date(2027, 3, 1), dt.date(2027, 1, 1))


def test_the_same_start_date_leaves_the_next_date_alone(db):
    r = schedule()
    models.RecurringInvoice.update(next_send_date=dt.date(2026, 11, 5)).where(
        models.RecurringInvoice.id == r.id).execute()
    recurring.update_recurring(r, {"start_date": START, "notes": "same start"})
    assert models.RecurringInvoice.get_by_id(r.id).next_send_date == dt.date(2026, 11, 5)


def test_issuing_one_schedule_leaves_another_due_the_same_day_alone(db):
    mine, other = schedule(), schedule()
    assert recurring.generate(mine, today=START) is not None
    other = models.RecurringInvoice.get_by_id(other.id)
    assert (other.status, other.next_send_date, other.remaining_cycles) == ("active", START, -1)
    paused = recurring.set_status(schedule(), "paused")
    recurring.generate(other, today=START)
    paused = models.RecurringInvoice.get_by_id(paused.id)
    assert (paused.status, paused.next_send_date) == ("paused", START)


def test_each_issued_invoice_is_e_mailed_to_its_client_when_links_can_be_built(app, db):
    with_contact, without = factories.client(), factories.client()
    contact = factories.contact(with_contact)
    schedule(with_contact), schedule(without)
    made = recurring.generate_due({**app.config, "BASE_URL": ""}, today=START)
    assert len(made) == 2 and not models.EmailMessage.select().exists()
    later = START + dt.timedelta(days=31)
    made = recurring.generate_due(app.config, today=later)
    assert {i.client_id for i in made} == {with_contact.id, without.id}
    assert [m.to for m in models.EmailMessage.select()] == [contact.email]
