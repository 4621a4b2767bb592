"""Back office: clients and contacts (issue 10, item 2), through the same services as the API."""
import re

import pytest
from flask import render_template

import models
from tests import factories
from tests.conftest import Auth, csrf_token
from tests.core_support import login_staff, opened, snapshot

STAFF = "office@test.example"


@pytest.fixture
def staff(app, client):
    with opened(app):
        user = factories.staff(STAFF)
    login_staff(client, STAFF)
    return user


def send(client, path, data=None):
    """A back-office form POST with this session's CSRF token."""
    token = csrf_token(client, "/admin/clients")
    return client.post(path, data={"csrf_token": token, **(data or {})})


def html(response):
    return response.get_data(as_text=True)


def reload(record):
    return type(record).get_by_id(record.id)


def field_error(response, field):
    """The message shown next to a form field, checking it is tied to the input."""
    page = html(response)
    match = re.search(rf'id="f-{field}-error" role="alert">([^<]*)<', page)
    assert match, f"no error shown for {field}"
    tag = re.search(rf'<(?:input|textarea) id="f-{field}"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in tag and f"f-{field}-error" in tag
    return match.group(1)


CLIENT_FORM = {"name": "Initech", "number": "C-42", "email": "ap@initech.example",
               "address": "1 Main St\nSpringfield", "shipping_address": "Dock 4\nShelbyville",
               "vat_number": "DE123456789", "currency": "eur", "locale": "de-de"}


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


# -- contacts ------------------------------------------------------------------------------

CONTACT_FORM = {"first_name": "Milton", "last_name": "Waddams", "email": "Milton@Alpha.example",
                "phone": "555-0199"}


def test_add_a_contact_and_invite_them(app, client, world, staff):
    a = world["a"]
    assert client.get(f"/admin/clients/{a.id}/contacts/new").status_code == 200
    response = send(client, f"/admin/clients/{a.id}/contacts/new",
                    {**CONTACT_FORM, "is_primary": "1", "invite": "1"})
    assert response.status_code == 303
    with opened(app):
        milton = models.Contact.get(models.Contact.email == "milton@alpha.example")
        assert (milton.client_id, milton.first_name, milton.phone, milton.is_primary) == (
            a.id, "Milton", "555-0199", True)
        # One primary contact per client: the new one took over.
        assert not reload(world["a1"]).is_primary and not reload(world["a2"]).is_primary
        message = models.EmailMessage.get(models.EmailMessage.to == "milton@alpha.example")
    page = html(client.get(f"/admin/clients/{a.id}"))
    assert "added and invited" in page and "Milton Waddams" in page
    # The invitation sets a password and logs the contact in.
    key = re.search(r"/client/password/reset/(\S+)", message.body_text).group(1)
    browser = app.test_client()
    token = csrf_token(browser, f"/client/password/reset/{key}")
    done = browser.post(f"/client/password/reset/{key}", data={
        "csrf_token": token, "password": "staplers-are-red", "confirm": "staplers-are-red"})
    assert done.status_code == 302
    assert browser.get("/client/invoices").status_code == 200
    assert Auth(app.test_client()).login("milton@alpha.example",
                                         "staplers-are-red").status_code == 302


@pytest.mark.parametrize("change,field,message", [
    ({"email": ""}, "email", "Enter an e-mail address."),
    ({"email": "milton"}, "email", "is not a valid e-mail address"),
    ({"email": "milton@@alpha.example"}, "email", "is not a valid e-mail address"),
    ({"email": "A2@alpha.example"}, "email",
     "This client already has a contact with the e-mail address a2@alpha.example."),
    ({"email": "b1@beta.example"}, "email", "already the login of a contact of another client"),
    ({"first_name": "Mil\nton"}, "first_name", "line breaks"),
    ({"last_name": "W" * 101}, "last_name", "at most 100"),
    ({"phone": "5" * 51}, "phone", "at most 50"),
])
def test_add_contact_refuses_bad_input_and_changes_nothing(app, client, world, staff, change,
                                                           field, message):
    with opened(app):
        before = snapshot()
    response = send(client, f"/admin/clients/{world['a'].id}/contacts/new",
                    {**CONTACT_FORM, **change})
    assert response.status_code == 422
    assert message in field_error(response, field)
    with opened(app):
        assert snapshot() == before


def test_edit_a_contact_and_refuse_a_taken_address(app, client, world, staff):
    a1 = world["a1"]
    form = client.get(f"/admin/contacts/{a1.id}/edit")
    assert form.status_code == 200 and 'value="a1@alpha.example"' in html(form)
    with opened(app):
        before = snapshot()
    refused = send(client, f"/admin/contacts/{a1.id}/edit",
                   {**CONTACT_FORM, "email": "a2@alpha.example"})
    assert refused.status_code == 422
    assert "already has a contact" in field_error(refused, "email")
    with opened(app):
        assert snapshot() == before
    response = send(client, f"/admin/contacts/{a1.id}/edit",
                    {**CONTACT_FORM, "email": "a1@alpha.example", "first_name": "Ann"})
    assert response.status_code == 303
    with opened(app):
        assert reload(a1).first_name == "Ann" and reload(a1).email == "a1@alpha.example"


def test_deactivated_contact_cannot_log_in_and_their_links_and_sessions_die(app, client, world,
                                                                           staff):
    a1 = world["a1"]
    with opened(app):
        link = models.Invitation.issue(a1, 30, invoice=world["invoices"]["sent"])
    session_browser = app.test_client()
    Auth(session_browser).login("a1@alpha.example")
    assert session_browser.get("/client/invoices").status_code == 200
    confirm = client.get(f"/admin/contacts/{a1.id}/deactivate")
    assert confirm.status_code == 200 and "can no longer log in" in html(confirm)
    with opened(app):
        assert reload(a1).is_active  # asking changed nothing
    assert send(client, f"/admin/contacts/{a1.id}/deactivate").status_code == 303
    assert session_browser.get("/client/invoices").status_code == 302
    assert app.test_client().get(f"/client/invoice/{link}").status_code == 404
    assert Auth(app.test_client()).login("a1@alpha.example").status_code == 422
    assert "Deactivated" in html(client.get(f"/admin/clients/{world['a'].id}"))
    # Nobody can be invited or impersonated while deactivated.
    send(client, f"/admin/contacts/{a1.id}/invite")
    assert send(client, f"/admin/contacts/{a1.id}/impersonate").status_code == 404
    with opened(app):
        assert not models.EmailMessage.select().where(
            models.EmailMessage.to == "a1@alpha.example").exists()
    assert send(client, f"/admin/contacts/{a1.id}/reactivate").status_code == 303
    assert Auth(app.test_client()).login("a1@alpha.example").status_code == 302
    # A link from before stays dead: reactivating does not revive what was revoked.
    assert app.test_client().get(f"/client/invoice/{link}").status_code == 404
    with opened(app):
        actions = [a.action for a in models.Activity.select().where(
            models.Activity.staff == staff.id).order_by(models.Activity.id)]
    assert "contact.deactivated" in actions and "contact.reactivated" in actions


def test_resend_invitation_mails_a_fresh_link(app, client, world, staff):
    a2 = world["a2"]
    response = send(client, f"/admin/contacts/{a2.id}/invite")
    assert response.status_code == 303
    assert "Invitation e-mailed to a2@alpha.example" in html(client.get(
        response.headers["Location"]))
    with opened(app):
        message = models.EmailMessage.get(models.EmailMessage.to == "a2@alpha.example")
        assert models.PasswordReset.select().where(
            models.PasswordReset.contact == a2.id).count() == 1
    assert "http://portal.test/client/password/reset/" in message.body_text
    key = re.search(r"/client/password/reset/(\S+)", message.body_text).group(1)
    assert app.test_client().get(f"/client/password/reset/{key}").status_code == 200


def test_revoke_all_links_kills_invitations_resets_and_sessions(app, client, world, staff):
    a1 = world["a1"]
    with opened(app):
        link = models.Invitation.issue(a1, 30, invoice=world["invoices"]["sent"])
    send(client, f"/admin/contacts/{a1.id}/invite")
    with opened(app):
        body = models.EmailMessage.get(models.EmailMessage.to == "a1@alpha.example").body_text
    reset_key = re.search(r"/client/password/reset/(\S+)", body).group(1)
    session_browser = app.test_client()
    Auth(session_browser).login("a1@alpha.example")
    assert app.test_client().get(f"/client/invoice/{link}").status_code == 302  # live
    assert client.get(f"/admin/contacts/{a1.id}/revoke").status_code == 200
    response = send(client, f"/admin/contacts/{a1.id}/revoke")
    assert response.status_code == 303
    assert "2 links of" in html(client.get(response.headers["Location"]))
    assert app.test_client().get(f"/client/invoice/{link}").status_code == 404
    assert app.test_client().get(f"/client/password/reset/{reset_key}").status_code == 404
    assert session_browser.get("/client/invoices").status_code == 302
    # The password still works: revoking links is not closing the account.
    assert Auth(app.test_client()).login("a1@alpha.example").status_code == 302
    # Another contact's link is untouched.
    with opened(app):
        other = models.Invitation.issue(world["a2"], 30, invoice=world["invoices"]["sent"])
    assert app.test_client().get(f"/client/invoice/{other}").status_code == 302


def test_client_page_shows_contacts_and_recent_activity(app, client, world, staff):
    send(client, f"/admin/clients/{world['a'].id}/edit",
         {**CLIENT_FORM, "currency": "USD", "name": "Alpha Ltd"})
    page = html(client.get(f"/admin/clients/{world['a'].id}"))
    assert "a1@alpha.example" in page and "a2@alpha.example" in page
    assert "b1@beta.example" not in page
    assert "client.updated" in page and STAFF in page
    assert "Resend invitation" in page and "Revoke all links" in page


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


def test_api_deactivates_and_reactivates_a_contact_as_the_back_office_does(app, api, world):
    a, a1 = world["a"], world["a1"]
    browser = app.test_client()
    Auth(browser).login("a1@alpha.example")
    off = api.put(f"clients/{a.public_id}", json={"contacts": [
        {"id": a1.public_id, "email": "a1@alpha.example", "is_active": False}]})
    assert off.status_code == 200, off.json
    states = {c["email"]: c["is_active"] for c in off.json["data"]["contacts"]}
    assert states == {"a1@alpha.example": False, "a2@alpha.example": True}
    assert browser.get("/client/invoices").status_code == 302
    assert Auth(app.test_client()).login("a1@alpha.example").status_code == 422
    on = api.put(f"clients/{a.public_id}", json={"contacts": [
        {"id": a1.public_id, "email": "a1@alpha.example", "is_active": True}]})
    assert on.status_code == 200
    assert Auth(app.test_client()).login("a1@alpha.example").status_code == 302
    with opened(app):
        actions = [r.actor for r in models.Activity.select().where(
            models.Activity.action.in_(("contact.deactivated", "contact.reactivated")))]
    assert actions == ["api", "api"]
