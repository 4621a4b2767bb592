"""List rows are kept as HTML between requests (views.kept_html.list_rows): a kept row must
never show a record as it was. Each test lists a record, changes it the way the product does
or a staff member would, and lists it again."""
import datetime as dt

import pytest

import models
from tests import factories
from tests.conftest import hx
from tests.core_support import login_staff, opened
from tests.quotes_support import quote

pytestmark = pytest.mark.usefixtures("company_row")


@pytest.fixture
def company_row(app):
    with opened(app):
        factories.company(timezone="UTC")


@pytest.fixture
def mine(app, auth):
    with opened(app):
        client_ = factories.client()
        person = factories.contact(client_)
    auth.login(person.email)
    return {"client": client_, "contact": person}


def listed(client, tab):
    response = hx(client, f"/client/{tab}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def change(app, model, record, **fields):
    with opened(app):
        model.update(**fields).where(model.id == record.id).execute()


def test_a_paid_invoice_is_listed_paid(app, client, mine):
    with opened(app):
        invoice = factories.invoice(mine["client"])
    assert "status-sent" in listed(client, "invoices") or "status-overdue" in listed(
        client, "invoices")
    change(app, models.Invoice, invoice, status="paid", balance=0)
    html = listed(client, "invoices")
    assert "status-paid" in html and "status-sent" not in html


def test_a_refund_shows_on_the_payments_list(app, client, mine):
    with opened(app):
        payment = models.Payment.create(
            client=mine["client"], number="PAY-00071", status="completed", currency="USD",
            amount=5000, applied=5000, method="card", date=dt.date(2026, 10, 2))
    assert "refunded" not in listed(client, "payments")
    change(app, models.Payment, payment, refunded=1250, status="partially_refunded")
    html = listed(client, "payments")
    assert "−$12.50 refunded" in html and "Partially refunded" in html


def test_a_payment_lists_the_invoice_it_was_later_applied_to(app, client, mine):
    """The row's related rows (what the payment went to) are part of what is kept."""
    with opened(app):
        invoice = factories.invoice(mine["client"])
        payment = models.Payment.create(
            client=mine["client"], number="PAY-00072", status="completed", currency="USD",
            amount=5000, applied=0, method="card", date=dt.date(2026, 10, 2))
    assert invoice.number not in listed(client, "payments")
    with opened(app):
        models.PaymentAllocation.create(payment=payment, invoice=invoice, amount=5000)
    assert f">{invoice.number}</a>" in listed(client, "payments")


def test_a_credit_spent_shows_its_new_balance(app, client, mine):
    with opened(app):
        credit = models.Credit.create(
            client=mine["client"], number="CR-00031", status="sent", currency="USD",
            total=4000, balance=4000, reason="adjustment", date=dt.date(2026, 10, 3))
    assert "$40.00" in listed(client, "credits")
    change(app, models.Credit, credit, balance=1500, status="partial")
    html = listed(client, "credits")
    assert "$15.00" in html and "Partly used" in html


def test_a_declined_quote_is_listed_declined(app, client, mine):
    with opened(app):
        record = quote(mine["client"])
    assert 'status-sent">Awaiting approval' in listed(client, "quotes")
    change(app, models.Quote, record, status="declined")
    html = listed(client, "quotes")
    assert "status-sent" not in html and "status-declined" in html


def test_a_paused_schedule_is_listed_paused(app, client, mine):
    with opened(app):
        schedule = models.RecurringInvoice.create(
            client=mine["client"], number="R-0009", frequency="monthly", status="active",
            start_date=dt.date(2026, 11, 1), next_send_date=dt.date(2026, 12, 1),
            currency="USD", total=9900)
    assert "status-active" in listed(client, "recurring_invoices")
    change(app, models.RecurringInvoice, schedule, status="paused")
    html = listed(client, "recurring_invoices")
    assert "status-paused" in html and "status-active" not in html


def test_a_renamed_document_is_listed_by_its_new_name(app, client, mine):
    with opened(app):
        document = models.Document.create(
            client=mine["client"], filename="contract-v1.pdf", storage_name="x" * 32,
            is_public=True, size=2048)
    assert "contract-v1.pdf" in listed(client, "documents")
    change(app, models.Document, document, filename="contract-v2.pdf")
    html = listed(client, "documents")
    assert "contract-v2.pdf" in html and "contract-v1.pdf" not in html


def test_rows_follow_the_company_time_zone(app, client, mine):
    """A kept row's timestamps are shown in the company's zone: changing it changes them."""
    with opened(app):
        models.Document.create(
            client=mine["client"], filename="late.pdf", storage_name="y" * 32, is_public=True,
            created_at=dt.datetime(2026, 3, 1, 23, 30))
    assert "Mar 1, 2026" in listed(client, "documents")
    with opened(app):
        factories.company(timezone="Pacific/Kiritimati")  # UTC+14: already 2 March
    html = listed(client, "documents")
    assert "Mar 2, 2026" in html and "Mar 1, 2026" not in html


def test_rows_follow_the_contacts_language(app, client, mine):
    with opened(app):
        record = quote(mine["client"])
    assert 'status-sent">Awaiting approval' in listed(client, "quotes")
    change(app, models.Contact, mine["contact"], locale="de")
    html = listed(client, "quotes")
    assert record.number in html and "Awaiting approval" not in html
    assert 'data-label="Nummer"' in html



# The parts of a page kept through kept(): the tab bar, the failure messages on <body>, a
# list's filters, column heads and pager.

def test_the_tab_bar_marks_the_tab_being_shown(client, mine):
    for tab, other in (("payments", "invoices"), ("invoices", "payments")):
        html = client.get(f"/client/{tab}").get_data(as_text=True)
        assert f'data-tab="{tab}" aria-current="page"' in html
        assert f'data-tab="{other}" aria-current' not in html


def test_the_tab_bar_loses_a_tab_the_business_switches_off(app, client, mine):
    assert 'data-tab="quotes"' in client.get("/client/invoices").get_data(as_text=True)
    with opened(app):
        factories.company(disabled_modules="quotes")
    html = client.get("/client/invoices").get_data(as_text=True)
    assert 'data-tab="quotes"' not in html and 'data-tab="credits"' in html


def test_the_shell_and_the_heads_follow_the_contacts_language(app, client, mine):
    with opened(app):
        factories.invoice(mine["client"])
    html = client.get("/client/invoices").get_data(as_text=True)
    assert 'data-msg-gone="That page no longer exists."' in html
    assert ">Invoices</a>" in html and ">Number" in html
    change(app, models.Contact, mine["contact"], locale="de")
    html = client.get("/client/invoices").get_data(as_text=True)
    assert 'data-msg-gone="Diese Seite gibt es nicht mehr."' in html
    assert ">Rechnungen</a>" in html and ">Nummer" in html and ">Invoices</a>" not in html


def test_the_back_office_keeps_its_english_beside_a_german_portal(app, client, mine):
    """The back office speaks English whatever the locale, the portal the contact's language:
    the same kept part (the failure messages on <body>) must not carry one into the other."""
    change(app, models.Contact, mine["contact"], locale="de_DE")
    with opened(app):
        factories.company(timezone="UTC", locale="de_DE")
        staff = factories.staff("kept@test.example")
    back_office = app.test_client()
    assert login_staff(back_office, staff.email).status_code == 302
    for _ in range(2):
        staff_page = back_office.get("/admin/clients").get_data(as_text=True)
        assert 'data-msg-gone="That page no longer exists."' in staff_page
        portal_page = client.get("/client/invoices").get_data(as_text=True)
        assert 'data-msg-gone="Diese Seite gibt es nicht mehr."' in portal_page


def test_the_pager_follows_the_lists_total(app, client, mine):
    with opened(app):
        for _ in range(26):
            factories.invoice(mine["client"])
    assert "Page 1 of 2 · 26 in all" in listed(client, "invoices")
    with opened(app):
        factories.invoice(mine["client"])
    html = listed(client, "invoices")
    assert "Page 1 of 2 · 27 in all" in html and "26 in all" not in html
    html = listed(client, "invoices?page=2")
    assert "Page 2 of 2" in html and 'rel="prev"' in html and 'rel="next"' not in html


def test_the_filters_keep_what_was_chosen(client, mine):
    html = listed(client, "invoices?status=paid&sort=total&q=INV")
    assert '<option value="paid" selected>' in html
    assert '<option value="total" selected>' in html and 'value="INV"' in html
    html = listed(client, "invoices")
    assert '<option value="all" selected>' in html and 'value="INV"' not in html
    assert listed(client, "quotes?status=declined").count(" selected>") == 1
    assert '<option value="declined" selected>' in listed(client, "quotes?status=declined")
