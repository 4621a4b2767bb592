"""The staff document editor: invoices, quotes, credits and recurring invoices through one form.

Totals must be billing.documents' (and so the API's); every refusal answers 422 with the
message and leaves the database as it was. Lines are added, removed and totalled with or
without htmx.

Each document's own page (the PDF preview and the actions: send, cancel, archive, mark
paid, convert, issue, start and stop) is tests/test_admin_documents_actions.py; shared
helpers and the `editor_staff` fixture are tests/document_editor_support.py.
"""
import datetime as dt
import re
from decimal import Decimal

import pytest

import models
from billing import documents
from tests import factories
from tests.core_support import opened, snapshot
from tests.document_editor_support import EXTRA, KINDS, LINES, MODELS, create, post, text

# The same lines as billing.documents takes them.
LINE_DICTS = [{"product": "Design", "description": "Logo design", "quantity": Decimal("2"),
               "unit_cost": 40000, "discount_percent": Decimal("10"), "tax_name": "VAT",
               "tax_rate": Decimal("20")},
              {"product": "Hosting", "description": "Web hosting", "quantity": Decimal("1.5"),
               "unit_cost": 1010, "discount_percent": 0, "tax_name": "", "tax_rate": 0}]


@pytest.fixture
def staff(editor_staff):
    """`editor_staff` (tests/document_editor_support.py) under the name these tests use;
    other modules' `staff` fixtures mean other things."""
    return editor_staff


def expected_totals(discount=500):
    lines, subtotal, tax_total, total = documents.preview(LINE_DICTS, discount)
    return subtotal, tax_total, total


def test_editor_pages_need_a_staff_login(client):
    for kind in KINDS:
        assert client.get(f"/admin/{kind}/new").status_code == 302
    assert client.get("/admin/products").status_code == 302


@pytest.mark.parametrize("kind", KINDS)
def test_create_each_kind_with_totals_from_billing_and_the_api_agrees(app, staff, api, kind):
    response = create(staff, kind)
    assert response.status_code == 303, text(response)[:2000]
    with opened(app):
        record = MODELS[kind].get()
        subtotal, tax_total, total = expected_totals()
        # 2 x 400.00 less 10% = 720.00; 1.5 x 10.10 = 15.15; VAT on Design's share after
        # the 5.00 document discount.
        assert (record.subtotal, record.discount, record.tax_total, record.total) == (
            subtotal, 500, tax_total, total) == (73515, 500, round(
                (72000 - 500 * 72000 / 73515) * 0.2), total)
        lines = record.ordered_lines()
        assert [li.description for li in lines] == ["Logo design", "Web hosting"]
        assert lines[0].discount_percent == 10 and lines[1].quantity == Decimal("1.5")
    assert response.headers["Location"].endswith(f"/admin/{kind}/{record.id}")
    page = text(staff.get(response.headers["Location"]))
    assert record.number in page and "$735.15" in page
    shown = api.get(f"{kind}/{record.public_id}").get_json()["data"]
    assert shown["total"] == f"{total / 100:.2f}" and shown["subtotal"] == "735.15"


def test_kind_specific_fields_are_saved(app, staff):
    create(staff, "invoices", partial="100.00", partial_due_date="2026-11-15")
    create(staff, "recurring_invoices", auto_bill="1", status="paused")
    with opened(app):
        inv = models.Invoice.get()
        assert (inv.date, inv.due_date, inv.po_number, inv.partial, inv.partial_due_date,
                inv.status) == (dt.date(2026, 11, 1), dt.date(2026, 12, 1), "PO-7", 10000,
                                dt.date(2026, 11, 15), "draft")
        rec = models.RecurringInvoice.get()
        assert (rec.frequency, rec.start_date, rec.remaining_cycles, rec.due_days,
                rec.auto_bill, rec.status) == ("monthly", dt.date(2026, 12, 1), 12, 14, True,
                                               "paused")


def test_create_then_email_and_create_credit_as_draft(app, staff):
    response = create(staff, "invoices", then="email")
    assert response.status_code == 303
    create(staff, "credits", draft="1")
    with opened(app):
        assert models.Invoice.get().status == "sent"
        assert models.EmailMessage.get().to == "buyer@acme.example"
        assert models.Credit.get().status == "draft"


def test_a_refused_follow_up_keeps_the_document_and_says_why(app, staff):
    with opened(app):
        lonely = factories.client(name="No Contacts")
    response = create(staff, "quotes", client=str(lonely.id), then="email")
    assert response.status_code == 303
    page = text(staff.get(response.headers["Location"]))
    assert "no contact with an e-mail address" in page
    with opened(app):
        assert models.Quote.get().status == "draft"


@pytest.mark.parametrize("kind", KINDS)
def test_edit_a_draft_reprices_it(app, staff, kind):
    create(staff, kind, **({"status": "draft"} if kind == "recurring_invoices" else {}),
           **({"draft": "1"} if kind == "credits" else {}))
    with opened(app):
        record = MODELS[kind].get()
    path = f"/admin/{kind}/{record.id}/edit"
    form = text(staff.get(path))
    assert 'value="Logo design"' in form and 'value="5.00"' in form
    response = post(staff, path, {**LINES, **EXTRA[kind], "discount": "",
                                  "quantity": ["3", "1.5", ""], "notes": "Revised"})
    assert response.status_code == 303, text(response)[:3000]
    with opened(app):
        record = MODELS[kind].get_by_id(record.id)
        lines = [dict(d) for d in LINE_DICTS]
        lines[0]["quantity"] = Decimal("3")
        _, subtotal, tax_total, total = documents.preview(lines, 0)
        assert (record.subtotal, record.tax_total, record.total, record.notes) == (
            subtotal, tax_total, total, "Revised")
        assert models.LineItem.select().count() == 2


@pytest.mark.parametrize("kind, make_final, message", [
    ("invoices", lambda r: models.Invoice.update(status="sent").where(
        models.Invoice.id == r.id).execute(), "only drafts can be changed"),
    ("quotes", lambda r: models.Quote.update(status="converted").where(
        models.Quote.id == r.id).execute(), "can no longer be changed"),
    ("credits", lambda r: None, "only draft credits can be changed"),
    ("recurring_invoices", lambda r: models.RecurringInvoice.update(status="completed").where(
        models.RecurringInvoice.id == r.id).execute(), "can no longer be changed"),
])
def test_editing_a_document_that_may_no_longer_change_is_refused(app, staff, kind, make_final,
                                                                  message):
    create(staff, kind)  # credits are issued by default
    with opened(app):
        record = MODELS[kind].get()
        make_final(record)
        before = snapshot()
    path = f"/admin/{kind}/{record.id}/edit"
    page = staff.get(path, follow_redirects=True)
    assert "can no longer be changed" in text(page) and "Edit</a>" not in text(page)
    response = post(staff, path, {**LINES, **EXTRA[kind], "quantity": ["9", "1", ""]})
    assert response.status_code == 422 and message in text(response)
    with opened(app):
        assert snapshot() == before


def test_an_invoice_with_payments_cannot_change(app, staff):
    create(staff, "invoices")
    with opened(app):
        inv = models.Invoice.get()
        payment = models.Payment.create(client=inv.client, status="completed", amount=100,
                                        date=inv.date, currency=inv.currency)
        models.PaymentAllocation.create(payment=payment, invoice=inv, amount=100)
        before = snapshot()
    response = post(staff, f"/admin/invoices/{inv.id}/edit", {**LINES, **EXTRA["invoices"]})
    assert response.status_code == 422 and "has payments" in text(response)
    with opened(app):
        assert snapshot() == before


BAD = [
    ("invoices", {"client": ""}, "Choose a client"),
    ("invoices", {"client": "999999"}, "Choose a client"),
    ("invoices", {"client": "abc"}, "Choose a client"),
    ("quotes", {"quantity": ["-1", "", ""]}, "Line 1: Each line needs a quantity above zero"),
    ("quotes", {"quantity": ["two", "", ""]}, "Line 1: the quantity must be a number"),
    ("credits", {"unit_price": ["-5.00", "", ""]}, "Line 1: The amount cannot be negative"),
    ("credits", {"unit_price": ["12x", "", ""]}, "Line 1: Enter the amount as a number"),
    ("invoices", {"unit_price": ["4.005", "", ""]}, "at most 2 decimal places"),
    ("invoices", {"tax_rate": ["150", "", ""]}, "percentages from 0 to 100"),
    ("invoices", {"tax_rate": ["-1", "", ""]}, "percentages from 0 to 100"),
    ("invoices", {"tax_rate": ["abc", "", ""]}, "the tax rate must be a number"),
    ("quotes", {"discount_percent": ["101", "", ""]}, "percentages from 0 to 100"),
    ("quotes", {"discount": "-3"}, "cannot be negative"),
    ("quotes", {"discount": "99999"}, "discount must be between"),
    ("invoices", {"product": ["", "", ""], "description": ["", "", ""],
                  "unit_price": ["", "", ""]}, "Add at least one line"),
    ("invoices", {"date": "01/11/2026"}, "Enter the date as YYYY-MM-DD"),
    ("invoices", {"due_date": "2026-10-01"}, "due date cannot be before"),
    ("invoices", {"partial": "9999.00"}, "deposit must be between"),
    ("quotes", {"valid_until": "2026-10-01"}, "cannot be before the quote date"),
    ("credits", {"reason": "gift"}, "Choose why the credit is given"),
    ("recurring_invoices", {"start_date": ""}, "Enter the start date"),
    ("recurring_invoices", {"frequency": "hourly"}, "Choose a frequency"),
    ("recurring_invoices", {"remaining_cycles": "many"}, "must be a whole number"),
    ("recurring_invoices", {"remaining_cycles": "0"}, "Remaining cycles must be -1"),
    ("recurring_invoices", {"due_days": "999"}, "Days until due must be a whole number"),
]


@pytest.mark.parametrize("kind, fields, message", BAD)
def test_bad_input_is_refused_with_nothing_saved(app, staff, kind, fields, message):
    with opened(app):
        before = snapshot()
    response = create(staff, kind, **fields)
    assert response.status_code == 422, text(response)[:500]
    assert message in text(response)
    assert 'role="alert"' in text(response)
    with opened(app):
        assert snapshot() == before
    if "description" not in fields:  # what was typed comes back, ready to correct
        assert 'value="Logo design"' in text(response)


def test_the_field_in_error_is_marked(staff):
    page = text(create(staff, "invoices", due_date="2026-10-01"))
    assert re.search(r'name="due_date"[^>]*aria-invalid="true" aria-describedby="form-error"',
                     page)
    assert 'id="form-error"' in page


def test_bad_input_on_edit_leaves_the_document_alone(app, staff):
    create(staff, "invoices")
    with opened(app):
        inv = models.Invoice.get()
        before = snapshot()
    response = post(staff, f"/admin/invoices/{inv.id}/edit",
                    {**LINES, **EXTRA["invoices"], "quantity": ["0", "1", ""]})
    assert response.status_code == 422 and "quantity above zero" in text(response)
    with opened(app):
        assert snapshot() == before


def _rows(page):
    return len(re.findall(r'name="product"', page))


@pytest.mark.parametrize("htmx", [False, True])
def test_add_and_remove_lines_with_and_without_htmx(app, staff, htmx):
    with opened(app):
        before = snapshot()
    data = {"client": str(staff.acme.id), **LINES}
    added = post(staff, "/admin/invoices/new", {**data, "add_line": "1"}, htmx=htmx)
    assert added.status_code == 200 and _rows(text(added)) == 4
    assert ("<html" in text(added)) is not htmx  # htmx gets the form alone
    assert 'id="document-editor"' in text(added)
    removed = post(staff, "/admin/invoices/new", {**data, "remove_line": "0"}, htmx=htmx)
    page = text(removed)
    assert removed.status_code == 200 and "Logo design" not in page and "Web hosting" in page
    assert _rows(page) == 3  # never fewer rows than the form starts with
    with opened(app):
        assert snapshot() == before  # redrawing the form saves nothing


def test_update_totals_without_javascript_and_live_with_htmx(app, staff):
    data = {"client": str(staff.acme.id), **LINES, "discount": "5.00"}
    with opened(app):
        total = expected_totals()[2]
    page = text(post(staff, "/admin/invoices/new", {**data, "recalculate": "1"}))
    assert f'data-total="{total}"' in page
    live = post(staff, "/admin/invoices/totals", data, htmx=True)
    assert live.status_code == 200 and f'data-total="{total}"' in text(live)
    assert "<form" not in text(live)
    wrong = post(staff, "/admin/invoices/totals", {**data, "tax_rate": ["500", "", ""]},
                 htmx=True)
    assert "percentages from 0 to 100" in text(wrong)


def test_saving_with_htmx_redirects_the_page(app, staff):
    data = {"client": str(staff.acme.id), **LINES}
    response = post(staff, "/admin/quotes/new", data, htmx=True)
    with opened(app):
        quote = models.Quote.get()
    assert response.headers["HX-Redirect"].endswith(f"/admin/quotes/{quote.id}")
    bad = post(staff, "/admin/quotes/new", {**data, "client": ""}, htmx=True)
    assert bad.status_code == 422 and "<html" not in text(bad) and "Choose a client" in text(bad)
