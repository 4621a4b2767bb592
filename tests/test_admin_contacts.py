"""Back office: a client's contacts (issue 10, item 2), through the same services as the
API: adding and inviting a contact, bad input refused, editing, deactivating (also through
the API) and reactivating, a fresh invitation, revoking all links, and the client page
listing contacts and recent activity.

Clients themselves (the list, creating and editing, the API and PDFs) are
tests/test_admin_clients.py; shared helpers and the `office_staff` fixture are
tests/clients_support.py."""
import re

import pytest

import models
from tests.clients_support import CLIENT_FORM, STAFF, field_error, html, reload, send
from tests.conftest import Auth, csrf_token
from tests.core_support import opened, snapshot


@pytest.fixture
def staff(office_staff):
    """`office_staff` (tests/clients_support.py) under the name these tests use; other
    modules' `staff` fixtures mean other things."""
    return office_staff


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


# -- through the API, as the back office does ----------------------------------------------

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
