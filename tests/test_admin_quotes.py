"""Staff back office for quotes and credits: forms, lists and actions via billing services."""
import re

import pytest

import models
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened
from tests.quotes_support import quote


@pytest.fixture
def staff_client(app, client):
    with opened(app):
        factories.staff("boss@test.example")
        acme = factories.client(name="Acme Buyer")
        factories.contact(acme, email="buyer@acme.example")
    assert login_staff(client, "boss@test.example").status_code == 302
    client.acme = acme
    return client


def form(http, path, **fields):
    data = {"csrf_token": csrf_token(http, path), "client": str(http.acme.id),
            "product": ["Logo", "Print", ""], "description": ["Vector logo", "", ""],
            "quantity": ["1", "2.5", ""], "unit_price": ["400.00", "10.10", ""],
            "tax_name": ["VAT", "", ""], "tax_rate": ["20", "", ""]}
    data.update(fields)
    return http.post(path, data=data)


def test_staff_pages_need_a_login(client):
    for path in ("/admin/quotes", "/admin/quotes/new", "/admin/credits", "/admin/credits/new"):
        assert client.get(path).status_code == 302


def test_create_quote_email_approve(staff_client, tmp_path):
    response = form(staff_client, "/admin/quotes/new", valid_until="2099-01-31",
                    discount="5.25", then="email")
    assert response.status_code == 303
    q = models.Quote.get()
    # 400.00 + 2.5*10.10; VAT 20% on the logo's share after the 5.25 discount.
    assert (q.subtotal, q.discount, q.status) == (42525, 525, "sent")
    assert q.tax_total == round((40000 - 525 * 40000 / 42525) * 0.2)
    assert models.EmailMessage.get(models.EmailMessage.to == "buyer@acme.example")
    listing = staff_client.get("/admin/quotes").get_data(as_text=True)
    assert q.number in listing and "Approve" in listing
    token = csrf_token(staff_client, "/admin/quotes")
    done = staff_client.post(f"/admin/quotes/{q.id}/approve", data={"csrf_token": token})
    assert done.status_code == 303
    q = models.Quote.get_by_id(q.id)
    assert q.status == "converted" and q.invoice.total == q.total and q.approved_by is None
    again = staff_client.post(f"/admin/quotes/{q.id}/convert", data={"csrf_token": token},
                              follow_redirects=True)
    assert "already converted" in again.get_data(as_text=True)
    assert models.Invoice.select().count() == 1


def test_mark_sent_and_convert(staff_client):
    form(staff_client, "/admin/quotes/new")
    q = models.Quote.get()
    assert q.status == "draft"
    token = csrf_token(staff_client, "/admin/quotes")
    staff_client.post(f"/admin/quotes/{q.id}/mark_sent", data={"csrf_token": token})
    assert models.Quote.get_by_id(q.id).status == "sent"
    staff_client.post(f"/admin/quotes/{q.id}/convert", data={"csrf_token": token})
    assert models.Quote.get_by_id(q.id).invoice_id is not None
    assert staff_client.post(f"/admin/quotes/{q.id}/bogus",
                             data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize("fields, message", [
    ({"client": ""}, "Choose a client"),
    ({"unit_price": ["4.005", "", ""]}, "at most 2 decimal places"),
    ({"quantity": ["-1", "", ""]}, "Line 1: Each line needs a quantity above zero"),
    ({"product": ["", "", ""], "unit_price": ["", "", ""], "description": ["", "", ""]},
     "at least one line"),
    ({"valid_until": "31/01/2099"}, "valid until date as YYYY-MM-DD"),
    ({"discount": "9999"}, "discount must be between"),
])
def test_quote_form_refuses_bad_input(staff_client, fields, message):
    response = form(staff_client, "/admin/quotes/new", **fields)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert models.Quote.select().count() == 0 and models.LineItem.select().count() == 0


def test_create_credit_and_list(staff_client):
    response = form(staff_client, "/admin/credits/new", reason="refund")
    assert response.status_code == 303
    credit = models.Credit.get()
    assert (credit.total, credit.balance, credit.status, credit.reason) == (
        40000 + 8000 + 2525, 40000 + 8000 + 2525, "sent", "refund")
    listing = staff_client.get("/admin/credits").get_data(as_text=True)
    assert credit.number in listing and "$505.25" in listing
    bad = form(staff_client, "/admin/credits/new", reason="gift")
    assert bad.status_code == 422 and models.Credit.select().count() == 1


def test_quote_list_actions_follow_status(app, staff_client):
    with opened(app):
        done = quote(staff_client.acme, "converted")
    listing = staff_client.get("/admin/quotes").get_data(as_text=True)
    row = re.search(rf"{done.number}.*?</tr>", listing, re.S).group(0)
    assert "Approve" not in row and "Convert" not in row and "converted" in row
