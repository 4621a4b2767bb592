"""Huge numbers and nonsense values are refused by the services with a clear message."""
import datetime as dt

import pytest

import models
import portal
from billing import DomainError, invoices, recurring
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened, snapshot

TODAY = dt.date(2026, 10, 1)


@pytest.mark.parametrize("line,message", [
    ({"quantity": "999999999", "unit_cost": 10 ** 12}, "too large"),
    ({"quantity": "999999999", "unit_cost": 9_999_999}, "too large"),
    ({"quantity": "1", "unit_cost": 10 ** 13}, "price is too large"),
    ({"quantity": "1", "unit_cost": 2 ** 64}, "price is too large"),
    ({"quantity": "1", "unit_cost": "9" * 5000}, "price is too large"),
    ({"quantity": "1", "unit_cost": "12" + " " * 40 + "x"}, "whole number of minor units"),
    ({"quantity": "1", "unit_cost": True}, "whole number of minor units"),
])
def test_quantity_times_price_cannot_overflow(app, line, message):
    with opened(app):
        client = factories.client()
        before = snapshot()
        with pytest.raises(DomainError, match=message):
            invoices.create_invoice(client, [{"product": "X", **line}], date=TODAY)
        assert snapshot() == before


def test_the_largest_total_still_fits(app):
    with opened(app):
        invoice = invoices.create_invoice(factories.client(), [
            {"product": "X", "quantity": "1000", "unit_cost": 10 ** 9}], date=TODAY)
        assert models.Invoice.get_by_id(invoice.id).total == 10 ** 12


@pytest.mark.parametrize("cycles", [True, False, 10 ** 6, 1001, 0, -2, "5", 1.5, None])
def test_remaining_cycles_must_be_a_sane_whole_number(app, cycles):
    with opened(app):
        client = factories.client()
        with pytest.raises(DomainError, match="Remaining cycles"):
            recurring.create_recurring(client, [{"product": "X", "unit_cost": 100}],
                                       start_date=TODAY, remaining_cycles=cycles)
        assert not models.RecurringInvoice.select().exists()


@pytest.mark.parametrize("cycles", [-1, 1, 1000])
def test_remaining_cycles_in_range_are_kept(app, cycles):
    with opened(app):
        r = recurring.create_recurring(factories.client(), [{"product": "X", "unit_cost": 100}],
                                       start_date=TODAY, remaining_cycles=cycles)
        assert models.RecurringInvoice.get_by_id(r.id).remaining_cycles == cycles


def test_due_date_before_issue_date_is_refused(app):
    with opened(app):
        client = factories.client()
        with pytest.raises(DomainError, match="due date cannot be before"):
            invoices.create_invoice(client, [{"product": "X", "unit_cost": 100}], date=TODAY,
                                    due_date=TODAY - dt.timedelta(days=1))
        assert not models.Invoice.select().exists()
        draft = factories.invoice(client, status="draft", date=TODAY, due_date=TODAY)
        with pytest.raises(DomainError, match="due date cannot be before"):
            invoices.update_draft(draft, {"due_date": TODAY - dt.timedelta(days=3)})
        assert models.Invoice.get_by_id(draft.id).due_date == TODAY


def test_a_zero_invoice_is_never_sent(app, client):
    with opened(app):
        customer = factories.client()
        factories.contact(customer)
        with pytest.raises(DomainError, match="total of zero"):
            invoices.create_invoice(customer, [{"product": "Free", "unit_cost": 0}],
                                    date=TODAY, status="sent")
        zero = invoices.create_invoice(customer, [{"product": "Free", "unit_cost": 0}],
                                       date=TODAY)
        for action in (invoices.mark_sent,
                       lambda inv: invoices.email_invoice(inv, dict(app.config))):
            with pytest.raises(DomainError, match="total of zero"):
                action(zero)
        assert models.Invoice.get_by_id(zero.id).status == "draft"
        assert not models.EmailMessage.select().exists()
        staff = factories.staff()
    login_staff(client, staff.email)
    token = csrf_token(client, "/admin/invoices")
    for action in ("mark_sent", "email"):
        response = client.post(f"/admin/invoices/{zero.id}/{action}",
                               data={"csrf_token": token}, follow_redirects=True)
        assert response.status_code == 200 and "total of zero" in response.get_data(True)
    with opened(app):
        assert models.Invoice.get_by_id(zero.id).status == "draft"


@pytest.mark.parametrize("number", [str(2 ** 63), str(2 ** 64), "9" * 25, "9" * 5000])
def test_admin_ids_beyond_64_bits_are_not_found(app, client, number):
    with opened(app):
        staff = factories.staff()
    login_staff(client, staff.email)
    token = csrf_token(client, "/admin/invoices")
    assert client.get(f"/admin/outbox/{number}").status_code == 404
    for path in (f"/admin/invoices/{number}/mark_sent", f"/admin/quotes/{number}/convert",
                 f"/admin/payments/{number}/refund", f"/admin/contacts/{number}/impersonate"):
        assert client.post(path, data={"csrf_token": token}).status_code == 404, path
    assert client.get(f"/admin/outbox/{2 ** 63 - 1}").status_code == 404  # in range, absent


def test_run_due_skips_a_template_it_cannot_issue(app):
    with opened(app):
        customer = factories.client()
        good = recurring.create_recurring(customer, [{"product": "A", "unit_cost": 100}],
                                          start_date=TODAY)
        legacy = recurring.create_recurring(customer, [{"product": "B", "unit_cost": 100}],
                                            start_date=TODAY)
        # Old data: a template whose total is zero would issue a 0.00 invoice, now refused.
        models.LineItem.update(unit_cost=0, amount=0).where(
            models.LineItem.recurring == legacy.id).execute()
        models.RecurringInvoice.update(total=0, subtotal=0).where(
            models.RecurringInvoice.id == legacy.id).execute()
    result = app.test_cli_runner().invoke(portal.cli, ["run-due"])
    assert result.exit_code == 0, result.output
    with opened(app):
        made = models.Invoice.select().where(models.Invoice.recurring.is_null(False))
        assert {inv.recurring_id for inv in made} == {good.id}
        assert models.RecurringInvoice.get_by_id(legacy.id).next_send_date == TODAY


def test_form_ids_beyond_64_bits_are_refused_not_500(app, client):
    """Ids typed into back-office forms (a select's value, tampered) get the form's own
    message; the database is never asked for a row number it cannot hold."""
    with opened(app):
        staff = factories.staff()
    login_staff(client, staff.email)
    huge = "9" * 25
    for path, data, status in (
            ("/admin/payments/new", {"client": huge, "amount": "10.00", "method": "cash"}, 422),
            ("/admin/payments/new", {"client": "1", "invoice": [huge], "amount": "10.00",
                                     "method": "cash"}, 422),
            ("/admin/quotes/new", {"client": huge, "product": ["X"], "unit_price": ["1"]},
             422),
            ("/admin/documents/", {"client_id": huge}, 303),
            ("/admin/gateways", {"kind": "manual", "position": huge}, 422)):
        token = csrf_token(client, "/admin/invoices")
        response = client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == status, (path, response.status_code)
