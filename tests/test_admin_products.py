"""Products in the back office, and picking one to fill a document line."""
import pytest

import models
from billing import DomainError
from billing import products as product_service
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import opened, snapshot

GOOD = {"name": "Hosting", "description": "Managed hosting, one month", "price": "25.00",
        "tax_name": "VAT", "tax_rate": "20"}


@pytest.fixture
def staff(app, client):
    with opened(app):
        factories.staff("boss@test.example")
        client.acme = factories.client(name="Acme Buyer")
    token = csrf_token(client, "/admin/login")
    client.post("/admin/login", data={"email": "boss@test.example",
                                      "password": factories.PASSWORD, "csrf_token": token})
    client.token = csrf_token(client, "/admin/products/new")
    return client


def post(http, path, data, **kw):
    return http.post(path, data={"csrf_token": http.token, **data}, **kw)


def text(response):
    return response.get_data(as_text=True)


def test_create_list_edit_archive_restore(app, staff):
    assert post(staff, "/admin/products/new", GOOD).status_code == 303
    with opened(app):
        product = models.Product.get()
        assert (product.name, product.price, product.tax_name, product.tax_rate) == (
            "Hosting", 2500, "VAT", 20)
    listing = text(staff.get("/admin/products"))
    assert "Hosting" in listing and "$25.00" in listing and "VAT 20%" in listing
    form = text(staff.get(f"/admin/products/{product.id}/edit"))
    assert 'value="25.00"' in form
    assert post(staff, f"/admin/products/{product.id}/edit",
                {**GOOD, "price": "30.00"}).status_code == 303
    with opened(app):
        assert models.Product.get_by_id(product.id).price == 3000
    post(staff, f"/admin/products/{product.id}/archive", {})
    assert "<strong>Hosting</strong>" not in text(staff.get("/admin/products"))
    assert "<strong>Hosting</strong>" in text(staff.get("/admin/products?archived=1"))
    post(staff, f"/admin/products/{product.id}/restore", {})
    with opened(app):
        assert models.Product.get_by_id(product.id).archived_at is None


@pytest.mark.parametrize("fields, message", [
    ({"name": ""}, "Enter the product&#39;s name"),
    ({"name": "Bad\nname"}, "cannot contain line breaks"),
    ({"price": ""}, "Enter an amount"),
    ({"price": "-1.00"}, "cannot be negative"),
    ({"price": "abc"}, "Enter the amount as a number"),
    ({"price": "1.001"}, "at most 2 decimal places"),
    ({"tax_rate": "150"}, "percentage from 0 to 100"),
    ({"tax_rate": "-5"}, "percentage from 0 to 100"),
    ({"tax_rate": "x"}, "tax rate must be a number"),
])
def test_bad_product_input_is_refused(app, staff, fields, message):
    with opened(app):
        before = snapshot()
    response = post(staff, "/admin/products/new", {**GOOD, **fields})
    assert response.status_code == 422 and message in text(response)
    assert 'aria-invalid="true"' in text(response)
    with opened(app):
        assert snapshot() == before


def test_two_active_products_cannot_share_a_name(app, staff):
    post(staff, "/admin/products/new", GOOD)
    with opened(app):
        before = snapshot()
    response = post(staff, "/admin/products/new", GOOD)
    assert response.status_code == 422 and "already a product called Hosting" in text(response)
    with opened(app):
        assert snapshot() == before


def test_missing_product_is_404(staff):
    assert staff.get("/admin/products/999999/edit").status_code == 404
    assert post(staff, "/admin/products/999999/archive", {}).status_code == 404


def line_form(http, **fields):
    data = {"client": str(http.acme.id), "product": ["Hosting", ""], "description": ["", ""],
            "quantity": ["2", ""], "unit_price": ["", ""], "discount_percent": ["", ""],
            "tax_name": ["", ""], "tax_rate": ["", ""]}
    data.update(fields)
    return data


def test_a_named_product_fills_blank_fields_without_javascript(app, staff):
    post(staff, "/admin/products/new", GOOD)
    page = text(post(staff, "/admin/invoices/new", {**line_form(staff), "recalculate": "1"}))
    assert 'value="Managed hosting, one month"' in page and 'value="25.00"' in page
    assert 'name="tax_rate" value="20"' in page and 'list="product-list"' in page
    assert '<option value="Hosting">' in page  # the picker
    # Saving straight away fills them too; what was typed wins over the product.
    response = post(staff, "/admin/invoices/new", line_form(staff, description=["Own words", ""]))
    assert response.status_code == 303
    with opened(app):
        line = models.LineItem.get()
        assert (line.description, line.unit_cost, line.tax_name, line.quantity) == (
            "Own words", 2500, "VAT", 2)
        assert models.Invoice.get().total == 6000


def test_picking_a_product_with_htmx_returns_the_filled_row(app, staff):
    post(staff, "/admin/products/new", GOOD)
    response = post(staff, "/admin/products/line",
                    {"product": "Hosting", "quantity": "3", "index": "2", "currency": "USD"},
                    headers={"HX-Request": "true"})
    row = text(response)
    assert response.status_code == 200 and row.strip().startswith("<tr>")
    assert 'value="25.00"' in row and 'value="3"' in row and "Line 3 product" in row
    assert response.headers["HX-Trigger"] == "line-filled"
    unknown = text(post(staff, "/admin/products/line", {"product": "Nothing", "index": "0"}))
    assert 'name="unit_price" value=""' in unknown


def test_a_product_lends_no_price_to_a_document_in_another_currency(app, staff):
    post(staff, "/admin/products/new", GOOD)
    with opened(app):
        euro = factories.client(name="Euro GmbH", currency="EUR")
    page = text(post(staff, "/admin/invoices/new",
                     {**line_form(staff), "client": str(euro.id), "recalculate": "1"}))
    assert 'value="Managed hosting, one month"' in page and 'value="25.00"' not in page


def test_archived_products_are_not_picked(app, staff):
    with opened(app):
        product = product_service.create_product("Old", price=100)
        product_service.set_archived(product, True)
        assert product_service.find("Old") is None
        with pytest.raises(DomainError, match="zero or more"):
            product_service.create_product("Neg", price=-1)
