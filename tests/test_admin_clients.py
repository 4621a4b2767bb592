"""Back office: clients (issue 10, item 2), through the same services as the API: the list
(search, pages, archiving), creating and editing a client with every bad input refused,
and the client fields in the API, on PDFs and as the contacts' portal language.

Contacts (adding, inviting, editing, deactivating, revoking links) are
tests/test_admin_contacts.py; shared helpers and the `office_staff` fixture are
tests/clients_support.py."""
import pytest
from flask import render_template

import models
from tests import factories
from tests.clients_support import CLIENT_FORM, field_error, html, reload, send
from tests.conftest import Auth
from tests.core_support import opened, snapshot


@pytest.fixture
def staff(office_staff):
    """`office_staff` (tests/clients_support.py) under the name these tests use; other
    modules' `staff` fixtures mean other things."""
    return office_staff


# -- the list ----------------------------------------------------------------------------

def test_back_office_pages_need_a_staff_login(client, world, auth):
    auth.login("a1@alpha.example")  # a contact is not staff
    for path in ("/admin/clients", "/admin/clients/new", f"/admin/clients/{world['a'].id}",
                 f"/admin/contacts/{world['a1'].id}/edit", "/admin/activity"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_list_searches_name_number_and_e_mails(app, client, world, staff):
    with opened(app):
        factories.client(name="Gamma AG", number="G-7", email="books@gamma.example")
    for query, expect, absent in (("alpha", "Alpha Ltd", "Beta GmbH"),
                                  ("G-7", "Gamma AG", "Alpha Ltd"),
                                  ("books@gamma", "Gamma AG", "Beta GmbH"),
                                  ("b1@beta.example", "Beta GmbH", "Alpha Ltd")):
        page = html(client.get(f"/admin/clients?q={query}"))
        assert expect in page and absent not in page, query
    assert "No clients match" in html(client.get("/admin/clients?q=nobody-here"))


def test_list_pages_through_many_clients(app, client, staff):
    with opened(app):
        for n in range(55):
            factories.client(name=f"Client {n:03d}")
    first, second = html(client.get("/admin/clients")), html(client.get("/admin/clients?page=2"))
    assert "Page 1 of 2" in first and "Client 000" in first and "Client 054" not in first
    assert "Client 054" in second and "Client 000" not in second


def test_archive_asks_first_then_hides_the_client_and_closes_its_portal(app, client, world,
                                                                        staff, api):
    a = world["a"]
    contact_browser = app.test_client()
    Auth(contact_browser).login("a1@alpha.example")
    assert contact_browser.get("/client/invoices").status_code == 200
    confirm = client.get(f"/admin/clients/{a.id}/archive")
    assert confirm.status_code == 200 and "Archive Alpha Ltd?" in html(confirm)
    with opened(app):
        assert reload(a).archived_at is None  # asking changed nothing
    response = send(client, f"/admin/clients/{a.id}/archive")
    assert response.status_code == 303
    assert "Client Alpha Ltd archived." in html(client.get(response.headers["Location"]))
    assert "Alpha Ltd" not in html(client.get("/admin/clients"))
    assert "Alpha Ltd" in html(client.get("/admin/clients?archived=1"))
    assert "Alpha Ltd" not in html(client.get("/admin/quotes/new"))  # nor offered for documents
    assert [c["name"] for c in api.get("clients").json["data"]] == ["Beta GmbH"]
    assert contact_browser.get("/client/invoices").status_code == 302
    assert Auth(app.test_client()).login("a2@alpha.example").status_code == 422
    with opened(app):
        assert models.Activity.get(models.Activity.action == "client.archived").staff_id \
            == staff.id
    assert send(client, f"/admin/clients/{a.id}/unarchive").status_code == 303
    assert "Alpha Ltd" in html(client.get("/admin/clients"))
    assert Auth(app.test_client()).login("a2@alpha.example").status_code == 302


# -- create and edit a client ------------------------------------------------------------

def test_create_a_client_with_every_field(app, client, staff):
    form = client.get("/admin/clients/new")
    assert form.status_code == 200 and 'name="vat_number"' in html(form)
    response = send(client, "/admin/clients/new", CLIENT_FORM)
    assert response.status_code == 303
    with opened(app):
        made = models.Client.get(models.Client.name == "Initech")
        assert (made.number, made.email, made.currency, made.locale, made.vat_number) == (
            "C-42", "ap@initech.example", "EUR", "de_DE", "DE123456789")
        assert made.address == "1 Main St\nSpringfield"
        assert made.shipping_address == "Dock 4\nShelbyville"
        row = models.Activity.get(models.Activity.action == "client.created")
        assert (row.actor, row.staff_id, row.client_id) == ("staff", staff.id, made.id)
    assert response.headers["Location"].endswith(f"/admin/clients/{made.id}")
    page = html(client.get(response.headers["Location"]))
    assert "Client Initech created." in page and "DE123456789" in page and "Dock 4" in page


@pytest.mark.parametrize("change,field,message", [
    ({"name": ""}, "name", "A client needs a name."),
    ({"name": "Two\nlines"}, "name", "line breaks"),
    ({"email": "not-an-address"}, "email", "is not a valid e-mail address"),
    ({"currency": "EURO"}, "currency", "at most 3 characters"),
    ({"currency": "XYZ"}, "currency", "ISO 4217"),
    ({"currency": ""}, "currency", "ISO 4217"),
    ({"locale": "xx_YY"}, "locale", "not a locale we know"),
    ({"locale": "en_US!"}, "locale", "not a locale we know"),
    ({"vat_number": "V" * 51}, "vat_number", "at most 50"),
    ({"shipping_address": "bad\x1bescape"}, "shipping_address", "control characters"),
])
def test_create_client_refuses_bad_input_and_changes_nothing(app, client, staff, change,
                                                             field, message):
    with opened(app):
        before = snapshot()
    response = send(client, "/admin/clients/new", {**CLIENT_FORM, **change})
    assert response.status_code == 422
    assert message in field_error(response, field)
    page = html(response)
    assert "DE123456789" in page or field == "vat_number"  # what was typed stays
    with opened(app):
        assert snapshot() == before


def test_edit_a_client(app, client, world, staff):
    b = world["b"]
    form = client.get(f"/admin/clients/{b.id}/edit")
    assert form.status_code == 200 and 'value="Beta GmbH"' in html(form)
    response = send(client, f"/admin/clients/{b.id}/edit",
                    {**CLIENT_FORM, "name": "Beta GmbH & Co", "currency": "USD"})
    assert response.status_code == 303
    with opened(app):
        changed = reload(b)
        assert (changed.name, changed.vat_number, changed.locale) == (
            "Beta GmbH & Co", "DE123456789", "de_DE")
        assert models.Activity.select().where(models.Activity.action == "client.updated",
                                              models.Activity.staff == staff.id).exists()


@pytest.mark.parametrize("change,field,message", [
    ({"name": "  "}, "name", "A client needs a name."),
    ({"currency": "EUR"}, "currency", "cannot change"),  # it has invoices
    ({"email": "a@b"}, "email", "not a valid e-mail address"),
    ({"locale": "nope"}, "locale", "not a locale we know"),
])
def test_edit_client_refuses_bad_input_and_changes_nothing(app, client, world, staff, change,
                                                           field, message):
    a = world["a"]
    with opened(app):
        before = snapshot()
    response = send(client, f"/admin/clients/{a.id}/edit",
                    {**CLIENT_FORM, "currency": "USD", **change})
    assert response.status_code == 422
    assert message in field_error(response, field)
    assert "<h1>Edit Alpha Ltd</h1>" in html(response)
    with opened(app):
        assert snapshot() == before


def test_unknown_client_or_contact_is_404(client, staff):
    for path in ("/admin/clients/999999", "/admin/clients/999999/edit",
                 "/admin/clients/999999/archive", "/admin/contacts/999999/edit",
                 "/admin/contacts/999999/deactivate", "/admin/clients/999999/contacts/new"):
        assert client.get(path).status_code == 404, path


# -- the same fields in the API and on PDFs --------------------------------------------------

def test_api_reads_and_writes_the_new_client_fields(api):
    created = api.post("clients", json={
        "name": "Initrode", "currency": "EUR", "vat_number": "FR40303265045",
        "shipping_address": "Quai 3\nLyon", "locale": "fr_FR",
        "contacts": [{"email": "compta@initrode.example"}]})
    assert created.status_code == 201, created.json
    data = created.json["data"]
    assert (data["vat_number"], data["shipping_address"], data["locale"]) == (
        "FR40303265045", "Quai 3\nLyon", "fr_FR")
    assert data["contacts"][0]["is_active"] is True
    bad = api.put(f"clients/{data['id']}", json={"locale": "zz_ZZ"})
    assert bad.status_code == 422 and "locale" in bad.json["errors"]
    taken = api.post("clients", json={"name": "Again", "contacts": [
        {"email": "compta@initrode.example"}]})
    assert taken.status_code == 422 and "contacts" in taken.json["errors"]
    schemas = api.get("openapi.json").json["components"]["schemas"]
    for name in ("Clients", "ClientsCreate", "ClientsUpdate"):
        for field in ("vat_number", "shipping_address", "locale"):
            assert field in schemas[name]["properties"], (name, field)
    assert "is_active" in schemas["Clients"]["properties"]["contacts"]["items"]["properties"]


def test_pdfs_show_the_vat_number_and_shipping_address(app, world):
    with opened(app):
        a = world["a"]
        models.Client.update(vat_number="GB999999973", shipping_address="Unit 9\nLeeds").where(
            models.Client.id == a.id).execute()
        invoice = models.Invoice.get_by_id(world["invoices"]["sent"].id)
        lines = invoice.ordered_lines()
        page = render_template("pdf/invoice.html", doc=invoice, kind="Invoice", lines=lines,
                               taxes=[], client=reload(a), company=models.Company.current())
    assert "VAT number: GB999999973" in page and "Ship to" in page and "Unit 9" in page


def test_a_clients_locale_is_its_contacts_portal_language(app, client, auth, world):
    with opened(app):
        models.Client.update(locale="de_DE").where(models.Client.id == world["a"].id).execute()
    auth.login("a1@alpha.example")
    page = html(client.get("/client/invoices"))
    assert "100,00" in page  # German number format for the $100.00 invoices
