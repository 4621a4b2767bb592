"""The invoice lifecycle's rules at the service (billing/invoices.py): what a new invoice
holds, when the client starts and stops owing it (Client.balance) and when the portal lists
it (Client.listed_invoices), and what each refusal says. A refusal changes nothing."""
import datetime as dt

import pytest

import models
from billing import DomainError, payments, recurring
from billing import invoices as service
from tests import factories
from tests.core_support import opened, race, refusal

DAY = dt.date(2026, 10, 1)
LINES = [{"product": "Work", "quantity": 1, "unit_cost": 10000}]


def fresh(record):
    return type(record).get_by_id(record.id)


def owed_and_listed(client):
    client = fresh(client)
    return client.balance, client.listed_invoices


def refused(call, message, field=None):
    error = refusal(call)  # and nothing was written
    assert (error.message, error.field) == (message, field)


def test_a_new_invoice_is_a_draft_owing_its_total_with_the_companys_terms(db):
    factories.company(invoice_terms="Net 30, thanks")
    client = factories.client(currency="EUR")
    invoice = service.create_invoice(client, LINES, date=DAY, po_number="PO-7", notes="N",
                                     footer="F")
    invoice = fresh(invoice)
    assert (invoice.status, invoice.currency, invoice.total, invoice.balance, invoice.terms,
            invoice.po_number, invoice.notes, invoice.footer, invoice.sent_at) == (
        "draft", "EUR", 10000, 10000, "Net 30, thanks", "PO-7", "N", "F", None)
    assert owed_and_listed(client) == (0, 0)  # a draft is owed by nobody, listed nowhere
    own_terms = service.create_invoice(client, LINES, date=DAY, terms="Due now",
                                       currency="USD")
    assert (own_terms.terms, own_terms.currency) == ("Due now", "USD")


def test_a_new_invoice_left_at_its_defaults(db):
    invoice = fresh(service.create_invoice(factories.client(), LINES, date=DAY))
    assert (invoice.status, invoice.notes, invoice.footer, invoice.po_number, invoice.partial,
            invoice.discount, invoice.due_date, invoice.recurring_id) == (
        "draft", "", "", "", 0, 0, None, None)


def test_without_a_company_an_invoice_has_no_standard_terms(db):
    models.Company.delete().execute()
    assert service.create_invoice(factories.client(), LINES, date=DAY).terms == ""


def test_an_invoice_created_sent_is_owed_and_listed_at_once(db):
    client = factories.client()
    invoice = service.create_invoice(client, LINES, date=DAY, status="sent")
    invoice = fresh(invoice)
    assert invoice.status == "sent" and invoice.sent_at is not None
    assert owed_and_listed(client) == (10000, 1)


@pytest.mark.parametrize("partial", [0, 1, 9999, 10000])
def test_a_deposit_is_zero_to_the_total(db, partial):
    assert service.create_invoice(factories.client(), LINES, date=DAY,
                                  partial=partial).partial == partial


@pytest.mark.parametrize("partial", [-1, 10001])
def test_a_deposit_outside_the_total_is_refused_whole(db, partial):
    client = factories.client()
    refused(lambda: service.create_invoice(client, LINES, date=DAY, partial=partial),
            "The deposit must be between zero and the invoice total.", "partial")


@pytest.mark.parametrize("due, deposit_due, message, field", [
    (DAY - dt.timedelta(days=1), None, "The due date cannot be before the invoice date.",
     "due_date"),
    (None, DAY - dt.timedelta(days=1),
     "The deposit's due date cannot be before the invoice date.", "partial_due_date"),
])
def test_nothing_falls_due_before_the_invoice_date(db, due, deposit_due, message, field):
    client = factories.client()
    refused(lambda: service.create_invoice(client, LINES, date=DAY, due_date=due,
                                           partial_due_date=deposit_due), message, field)


def test_due_on_the_invoice_date_itself_is_fine(db):
    invoice = service.create_invoice(factories.client(), LINES, date=DAY, due_date=DAY,
                                     partial_due_date=DAY)
    assert (invoice.due_date, invoice.partial_due_date) == (DAY, DAY)
    service.check_dates(None, DAY)  # no invoice date yet: nothing to compare
    service.check_dates(DAY, None, None)


def test_marking_sent_makes_it_owed_and_listed_once_and_logs_who(db):
    staff = factories.staff()
    client = factories.client()
    invoice = service.create_invoice(client, LINES, date=DAY)
    other = factories.client()
    service.mark_sent(invoice, staff=staff)
    service.mark_sent(invoice, staff=staff)  # already sent: nothing more
    assert owed_and_listed(client) == (10000, 1)
    assert owed_and_listed(other) == (0, 0)
    logged = list(models.Activity.select().where(models.Activity.action == "invoice.marked_sent"))
    assert [(a.subject_id, a.client_id, a.staff_id) for a in logged] == [
        (invoice.id, client.id, staff.id)]


@pytest.mark.parametrize("auto_apply, balance", [(True, 6000), (False, 10000)])
def test_marking_sent_takes_money_waiting_unapplied_when_the_company_says(db, auto_apply,
                                                                          balance):
    factories.company(auto_apply_prepayments=auto_apply)
    client = factories.client()
    payments.record_payment(client, 4000, "USD", [], method="bank_transfer")
    invoice = service.create_invoice(client, LINES, date=DAY)
    service.mark_sent(invoice)
    assert fresh(invoice).balance == balance
    assert fresh(client).balance == balance


@pytest.mark.parametrize("status", ["cancelled", "void"])
def test_a_withdrawn_invoice_cannot_be_sent_or_e_mailed(db, app, status):
    client = factories.client()
    factories.contact(client)
    invoice = service.create_invoice(client, LINES, date=DAY)
    models.Invoice.update(status=status).where(models.Invoice.id == invoice.id).execute()
    refused(lambda: service.mark_sent(invoice), f"A {status} invoice cannot be sent.")
    refused(lambda: service.email_invoice(invoice, app.config),
            f"A {status} invoice cannot be e-mailed.")


def test_an_invoice_of_one_minor_unit_can_be_sent(db):
    client = factories.client()
    invoice = service.create_invoice(client, [{"product": "Token", "unit_cost": 1}], date=DAY)
    assert service.mark_sent(invoice).status == "sent"
    assert owed_and_listed(client) == (1, 1)


def test_an_invoice_of_nothing_cannot_be_sent(db):
    invoice = service.create_invoice(factories.client(), [{"product": "Free", "unit_cost": 0}],
                                     date=DAY)
    refused(lambda: service.mark_sent(invoice),
            f"Invoice {invoice.number} has a total of zero: add a priced line before sending "
            "it.", "lines")


def test_cancelling_a_sent_invoice_stops_the_client_owing_it(db):
    staff = factories.staff()
    client = factories.client()
    kept = service.create_invoice(client, LINES, date=DAY, status="sent")
    withdrawn = service.create_invoice(client, LINES, date=DAY, status="sent")
    other = factories.client()
    service.create_invoice(other, LINES, date=DAY, status="sent")
    service.cancel(withdrawn, staff=staff)
    assert fresh(withdrawn).status == "cancelled"
    assert fresh(client).balance == fresh(kept).balance == 10000
    assert fresh(other).balance == 10000
    logged = models.Activity.get(models.Activity.action == "invoice.cancelled")
    assert (logged.subject_id, logged.client_id, logged.staff_id) == (withdrawn.id, client.id,
                                                                      staff.id)


def test_cancelling_a_draft_changes_no_balance(db):
    client = factories.client()
    service.create_invoice(client, LINES, date=DAY, status="sent")
    draft = service.create_invoice(client, LINES, date=DAY)
    service.cancel(draft)
    assert fresh(draft).status == "cancelled" and fresh(client).balance == 10000


@pytest.mark.parametrize("status", ["cancelled", "void", "paid"])
def test_only_an_unpaid_invoice_can_be_cancelled(db, status):
    invoice = service.create_invoice(factories.client(), LINES, date=DAY, status="sent")
    models.Invoice.update(status=status).where(models.Invoice.id == invoice.id).execute()
    refused(lambda: service.cancel(invoice),
            f"Invoice {invoice.number} is {status}: it cannot be cancelled.")


@pytest.mark.parametrize("status", ["cancelled", "void"])
def test_a_withdrawn_invoice_cannot_be_marked_paid(db, status):
    invoice = service.create_invoice(factories.client(), LINES, date=DAY, status="sent")
    models.Invoice.update(status=status).where(models.Invoice.id == invoice.id).execute()
    refused(lambda: service.mark_paid(invoice),
            f"Invoice {invoice.number} is {status}: it cannot be marked paid.")


@pytest.mark.parametrize("status, balance", [("sent", 0), ("partial", -1), ("paid", 10000)])
def test_an_invoice_with_nothing_left_to_pay_cannot_be_marked_paid(db, status, balance):
    invoice = service.create_invoice(factories.client(), LINES, date=DAY, status="sent")
    models.Invoice.update(status=status, balance=balance).where(
        models.Invoice.id == invoice.id).execute()
    refused(lambda: service.mark_paid(invoice), f"Invoice {invoice.number} is already paid.")


def test_one_minor_unit_left_can_be_marked_paid(db):
    staff = factories.staff()
    invoice = service.create_invoice(factories.client(), LINES, date=DAY, status="sent")
    models.Invoice.update(status="partial", balance=1).where(
        models.Invoice.id == invoice.id).execute()
    payment = service.mark_paid(invoice, staff=staff)
    assert (payment.amount, fresh(invoice).status, fresh(invoice).balance) == (1, "paid", 0)
    logged = models.Activity.get(models.Activity.action == "payment.created")
    assert (logged.subject_id, logged.staff_id) == (payment.id, staff.id)


def test_marked_paid_settles_the_balance_and_leaves_waiting_money_unapplied(db):
    factories.company(auto_apply_prepayments=True)
    client = factories.client()
    waiting = payments.record_payment(client, 3000, "USD", [], method="bank_transfer")
    draft = service.create_invoice(client, LINES, date=DAY)
    payment = service.mark_paid(draft)
    assert (payment.amount, payment.method, payment.method_label) == (10000, "manual",
                                                                      "Marked paid")
    assert (fresh(draft).status, fresh(draft).balance) == ("paid", 0)
    assert fresh(waiting).applied == 0
    assert owed_and_listed(client) == (0, 1)


def test_a_draft_change_is_repriced_stored_and_logged(db):
    staff = factories.staff()
    invoice = service.create_invoice(factories.client(), LINES, date=DAY)
    service.update_draft(invoice, {"po_number": "PO-9", "discount": 1000, "partial": 2000,
                                   "due_date": DAY + dt.timedelta(days=5), "unknown": "x"},
                         staff=staff)
    invoice = fresh(invoice)
    assert (invoice.po_number, invoice.discount, invoice.total, invoice.balance,
            invoice.partial, invoice.due_date) == ("PO-9", 1000, 9000, 9000, 2000,
                                                   DAY + dt.timedelta(days=5))
    service.update_draft(invoice, {}, lines=[{"product": "More", "quantity": 3,
                                              "unit_cost": 5000}])
    invoice = fresh(invoice)
    assert (invoice.total, invoice.balance) == (14000, 14000)
    logged = list(models.Activity.select().where(models.Activity.action == "invoice.updated"))
    assert [(a.subject_id, a.client_id, a.staff_id) for a in logged] == [
        (invoice.id, invoice.client_id, staff.id), (invoice.id, invoice.client_id, None)]


@pytest.mark.parametrize("partial", [0, 1, 10000])
def test_a_draft_with_a_deposit_from_none_to_the_total_can_be_changed(db, partial):
    invoice = service.create_invoice(factories.client(), LINES, date=DAY)
    assert service.update_draft(invoice, {"notes": "deposit", "partial": partial}).partial \
        == partial
    assert fresh(invoice).notes == "deposit"


@pytest.mark.parametrize("fields, lines, message, field", [
    ({"partial": 10001}, None, "The deposit must be between zero and the invoice total.",
     "partial"),
    ({"partial": 9000}, [{"product": "Less", "unit_cost": 5000}],
     "The deposit must be between zero and the invoice total.", "partial"),
    ({"partial": -1}, None, "The deposit must be between zero and the invoice total.",
     "partial"),
    ({"due_date": DAY - dt.timedelta(days=1)}, None,
     "The due date cannot be before the invoice date.", "due_date"),
    ({"date": DAY + dt.timedelta(days=40)}, None,
     "The due date cannot be before the invoice date.", "due_date"),
    ({"partial": 1000, "partial_due_date": DAY - dt.timedelta(days=1)}, None,
     "The deposit's due date cannot be before the invoice date.", "partial_due_date"),
])
def test_a_draft_change_that_cannot_work_is_refused_whole(db, fields, lines, message, field):
    invoice = service.create_invoice(factories.client(), LINES, date=DAY,
                                     due_date=DAY + dt.timedelta(days=30))
    refused(lambda: service.update_draft(invoice, fields, lines=lines), message, field)


def test_a_sent_invoice_is_a_record_and_cannot_be_changed(db):
    invoice = service.create_invoice(factories.client(), LINES, date=DAY, status="sent")
    refused(lambda: service.update_draft(invoice, {"notes": "changed"}),
            f"Invoice {invoice.number} is sent: only drafts can be changed.")


def test_a_draft_money_was_applied_to_cannot_be_changed(db):
    client = factories.client()
    invoice = service.create_invoice(client, LINES, date=DAY)
    models.PaymentAllocation.create(payment=payments.record_payment(client, 100, "USD", [],
                                                                    method="cash"),
                             invoice=invoice, amount=100)
    refused(lambda: service.update_draft(invoice, {"notes": "changed"}),
            f"Invoice {invoice.number} has payments: it can no longer be changed.")


def test_archiving_takes_a_sent_invoice_off_the_lists_once(db):
    staff = factories.staff()
    client = factories.client()
    sent = service.create_invoice(client, LINES, date=DAY, status="sent")
    draft = service.create_invoice(client, LINES, date=DAY)
    other = factories.client()
    service.create_invoice(other, LINES, date=DAY, status="sent")
    service.archive(sent, staff=staff)
    assert owed_and_listed(client) == (10000, 0)
    service.archive(sent, staff=staff)  # already archived: nothing more
    assert owed_and_listed(client) == (10000, 0)
    service.archive(draft)  # a draft was never listed
    assert owed_and_listed(other) == (10000, 1)
    assert fresh(sent).archived_at is not None and fresh(draft).archived_at is not None
    assert owed_and_listed(client) == (10000, 0)  # archived is still owed
    logged = list(models.Activity.select().where(models.Activity.action == "invoice.archived"))
    assert [(a.subject_id, a.client_id, a.staff_id) for a in logged] == [
        (sent.id, client.id, staff.id), (draft.id, client.id, None)]


def test_the_first_view_is_recorded_once(db):
    client = factories.client()
    contact = factories.contact(client)
    invoice = service.create_invoice(client, LINES, date=DAY, status="sent")
    unseen = service.create_invoice(client, LINES, date=DAY, status="sent")
    service.mark_viewed(invoice, contact)
    first = fresh(invoice).viewed_at
    service.mark_viewed(fresh(invoice), contact)
    assert first is not None and fresh(invoice).viewed_at == first
    assert fresh(unseen).viewed_at is None
    logged = list(models.Activity.select().where(models.Activity.action == "invoice.viewed"))
    assert [(a.subject_id, a.client_id, a.contact_id) for a in logged] == [
        (invoice.id, client.id, contact.id)]


def test_due_dates_count_days_from_the_invoice_date():
    assert service.due_date_for(DAY) == DAY + dt.timedelta(days=30)
    assert service.due_date_for(DAY, 0) == DAY
    assert service.due_date_for(DAY, 14) == dt.date(2026, 10, 15)


def test_e_mailing_an_invoice_logs_to_whom(app, db):
    staff = factories.staff()
    client = factories.client()
    first, second = factories.contact(client), factories.contact(client)
    factories.contact(client, email="")  # no address: not sent to
    invoice = service.create_invoice(client, LINES, date=DAY)
    messages = service.email_invoice(invoice, app.config, staff=staff)
    assert sorted(m.to for m in messages) == sorted([first.email, second.email])
    logged = models.Activity.get(models.Activity.action == "invoice.emailed")
    assert (logged.subject_type, logged.subject_id, logged.client_id, logged.staff_id) == (
        "invoice", invoice.id, client.id, staff.id)
    assert logged.detail == f"{first.email}, {second.email}"
    assert owed_and_listed(client) == (10000, 1)


def test_an_invoice_nobody_can_receive_is_not_e_mailed(app, db):
    client = factories.client()
    factories.contact(client, email="")
    invoice = service.create_invoice(client, LINES, date=DAY)
    refused(lambda: service.email_invoice(invoice, app.config),
            "This client has no contact with an e-mail address.")


def test_an_invoice_made_from_a_schedule_names_it(db):
    client = factories.client()
    schedule = recurring.create_recurring(client, LINES, start_date=DAY)
    invoice = service.create_invoice(client, LINES, date=DAY, recurring=schedule)
    assert fresh(invoice).recurring_id == schedule.id
    assert [i.id for i in fresh(schedule).invoices] == [invoice.id]


@pytest.mark.parametrize("second", ["mark_paid", "cancel"])
def test_two_staff_acting_on_one_invoice_at_once_settle_it_once(app, second):
    """Marked paid while another staff member marks it paid or cancels it: one wins and the
    other is refused on the state the first left; never two payments, nor a payment on a
    cancelled invoice. (PostgreSQL's row lock decides it there, SQLite's one writer here.)"""
    with opened(app):
        client = factories.client()
        invoice = factories.invoice(client, lines=LINES)
    results = race(app, 2, lambda i: getattr(service, ("mark_paid", second)[i])(
        models.Invoice.get_by_id(invoice.id)))
    assert [isinstance(r, DomainError) for r in results].count(True) == 1, results
    with opened(app):
        made = list(models.Payment.select())
        settled = fresh(invoice)
        if made:
            assert [p.id for p in made] == [r.id for r in results
                                           if isinstance(r, models.Payment)]
            assert (made[0].amount, settled.status, settled.balance) == (10000, "paid", 0)
        else:
            assert (second, settled.status) == ("cancel", "cancelled")
        assert fresh(client).balance == 0
