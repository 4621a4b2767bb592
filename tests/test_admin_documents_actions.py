"""A document's own page in the back office: the PDF preview, and the actions on invoices
(mark sent, cancel after asking, archive, e-mail, mark paid), quotes (convert), credits
(issue) and recurring invoices (start, pause, resume, stop); the lists link to each.

Creating and editing through the editor's form is tests/test_admin_documents_editor.py;
shared helpers and the `editor_staff` fixture are tests/document_editor_support.py.
"""
import subprocess

import pytest

import models
from tests.core_support import opened
from tests.document_editor_support import KINDS, MODELS, create, post, text


@pytest.fixture
def staff(editor_staff):
    """`editor_staff` (tests/document_editor_support.py) under the name these tests use;
    other modules' `staff` fixtures mean other things."""
    return editor_staff


def _invoice_id(app):
    with opened(app):
        return models.Invoice.get().id


def pdf_text(response):
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline")
    done = subprocess.run(["pdftotext", "-", "-"], input=response.data, capture_output=True,
                          check=True)
    return done.stdout.decode()


@pytest.mark.parametrize("kind", KINDS)
def test_preview_pdf_shows_the_lines_and_total(app, staff, kind):
    create(staff, kind)
    with opened(app):
        record = MODELS[kind].get()
        total = record.total
    content = pdf_text(staff.get(f"/admin/{kind}/{record.id}/pdf"))
    assert "Logo design" in content and "Web hosting" in content
    assert f"${total / 100:,.2f}" in content and record.number in content


def test_preview_pdf_of_a_missing_document_is_404(staff):
    assert staff.get("/admin/invoices/999999/pdf").status_code == 404


def act(http, path, **extra):
    return post(http, path, {"next": "/admin/invoices", **extra})


def test_invoice_lifecycle_from_its_page(app, staff):
    create(staff, "invoices")
    inv_id = _invoice_id(app)
    page = text(staff.get(f"/admin/invoices/{inv_id}"))
    for label in ("Edit", "Preview PDF", "Mark sent", "E-mail to the client", "Cancel invoice"):
        assert label in page
    assert act(staff, f"/admin/invoices/{inv_id}/mark_sent").status_code == 303
    with opened(app):
        assert models.Invoice.get_by_id(inv_id).status == "sent"
    # Cancelling asks first (no JavaScript: a page); nothing changes until confirmed.
    asked = act(staff, f"/admin/invoices/{inv_id}/cancel")
    assert asked.status_code == 200 and 'name="confirmed" value="1"' in text(asked)
    with opened(app):
        assert models.Invoice.get_by_id(inv_id).status == "sent"
    assert act(staff, f"/admin/invoices/{inv_id}/cancel", confirmed="1").status_code == 303
    with opened(app):
        inv = models.Invoice.get_by_id(inv_id)
        assert inv.status == "cancelled" and inv.client.balance == 0
    act(staff, f"/admin/invoices/{inv_id}/archive", confirmed="1")
    with opened(app):
        assert models.Invoice.get_by_id(inv_id).archived_at is not None


def test_mark_paid_and_email_from_the_invoice_page(app, staff):
    create(staff, "invoices")
    inv_id = _invoice_id(app)
    act(staff, f"/admin/invoices/{inv_id}/email")
    act(staff, f"/admin/invoices/{inv_id}/mark_paid")
    with opened(app):
        inv = models.Invoice.get_by_id(inv_id)
        assert (inv.status, inv.balance) == ("paid", 0)
        assert models.EmailMessage.select().count() == 1


def test_quote_actions_from_its_page(app, staff):
    create(staff, "quotes")
    with opened(app):
        quote = models.Quote.get()
    page = text(staff.get(f"/admin/quotes/{quote.id}"))
    assert "Mark sent" in page and "Approve" not in page
    act(staff, f"/admin/quotes/{quote.id}/mark_sent")
    assert "Convert to invoice" in text(staff.get(f"/admin/quotes/{quote.id}"))
    act(staff, f"/admin/quotes/{quote.id}/convert")
    with opened(app):
        quote = models.Quote.get_by_id(quote.id)
        assert quote.status == "converted" and quote.invoice.total == quote.total
    page = text(staff.get(f"/admin/quotes/{quote.id}"))
    assert ">Edit<" not in page and quote.invoice.number in page


def test_credit_is_issued_from_its_page(app, staff):
    create(staff, "credits", draft="1")
    with opened(app):
        credit = models.Credit.get()
    assert "Issue" in text(staff.get(f"/admin/credits/{credit.id}"))
    act(staff, f"/admin/credits/{credit.id}/mark_sent")
    with opened(app):
        assert models.Credit.get_by_id(credit.id).status == "sent"
    assert staff.post(f"/admin/credits/{credit.id}/bogus",
                      data={"csrf_token": staff.token}).status_code == 404


def test_recurring_lifecycle(app, staff):
    create(staff, "recurring_invoices", status="draft")
    with opened(app):
        rec = models.RecurringInvoice.get()
    base = f"/admin/recurring_invoices/{rec.id}"
    listing = text(staff.get("/admin/recurring_invoices"))
    assert rec.number in listing and "New recurring invoice" in listing
    for action, status in (("start", "active"), ("pause", "paused"), ("resume", "active")):
        assert act(staff, f"{base}/{action}").status_code == 303
        with opened(app):
            assert models.RecurringInvoice.get_by_id(rec.id).status == status
    assert act(staff, f"{base}/stop").status_code == 200  # asks first
    act(staff, f"{base}/stop", confirmed="1")
    with opened(app):
        assert models.RecurringInvoice.get_by_id(rec.id).status == "completed"
    refused = act(staff, f"{base}/resume", confirmed="1")
    assert "cannot be restarted" in text(staff.get(refused.headers["Location"]))


def test_a_zero_recurring_invoice_cannot_start(app, staff):
    create(staff, "recurring_invoices", status="draft", unit_price=["0", "0", ""],
           discount="")
    with opened(app):
        rec = models.RecurringInvoice.get()
    done = act(staff, f"/admin/recurring_invoices/{rec.id}/start")
    assert "total of zero" in text(staff.get(done.headers["Location"]))
    with opened(app):
        assert models.RecurringInvoice.get_by_id(rec.id).status == "draft"


def test_lists_link_to_new_and_to_each_document(app, staff):
    create(staff, "invoices")
    inv_id = _invoice_id(app)
    listing = text(staff.get("/admin/invoices"))
    assert "/admin/invoices/new" in listing and f"/admin/invoices/{inv_id}/edit" in listing
    assert "/admin/quotes/new" in text(staff.get("/admin/quotes"))
    assert "/admin/credits/new" in text(staff.get("/admin/credits"))
    nav = text(staff.get("/admin/invoices"))
    assert "/admin/recurring_invoices" in nav and "/admin/products" in nav
