"""Sessions end on the server: a copy of the cookie dies with logout, a password change or a
deactivation; sessions have a lifetime; staff in the portal as a contact act as themselves."""
import time

import pytest

import models
import portal
from tests import factories
from tests.conftest import csrf_token, make_app
from tests.core_support import login_staff, opened, records_for
from tests.quotes_support import quote as make_quote

A1, A2 = "a1@alpha.example", "a2@alpha.example"
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/client/profile"}


def copy_of(client):
    """A second browser holding a copy of `client`'s session cookie (as a thief would)."""
    thief = client.application.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


@pytest.fixture
def records(app, world):
    with opened(app):
        found, _ = records_for(world["a"], with_keys=False)
    return found


def test_copied_contact_cookie_dies_at_logout(app, client, auth, world, records):
    auth.login(A1)
    quote, card = records["quotes"], records["payment_methods"]
    token = csrf_token(client, "/client/invoices")
    thief = copy_of(client)
    assert thief.get("/client/invoices").status_code == 200  # the copy works, for now
    assert auth.logout().status_code == 302
    page = thief.get("/client/invoices")
    assert page.status_code == 302 and "/client/login" in page.headers["Location"]
    declined = thief.post(f"/client/quotes/{quote.public_id}/decline",
                          data={"csrf_token": token, "reason": "stolen cookie"})
    removed = thief.post(f"/client/payment_methods/{card.public_id}/remove",
                         data={"csrf_token": token})
    assert declined.status_code == removed.status_code == 302
    assert "/client/login" in declined.headers["Location"]
    with opened(app):
        assert models.Quote.get_by_id(quote.id).status == "sent"
        assert models.GatewayToken.get_by_id(card.id).deleted_at is None


def test_contact_cookie_dies_when_the_contact_is_deactivated(app, client, auth, world):
    auth.login(A1)
    thief = copy_of(client)
    with opened(app):
        models.Contact.update(is_active=False).where(models.Contact.email == A1).execute()
    assert thief.get("/client/invoices").status_code == 302


def test_log_out_works_after_a_password_change_on_the_same_page(app, client, auth, world):
    """The real sequence: the profile page's form is sent by htmx, which swaps only #main, so
    the layout (its hx-headers and its Log out form) keeps the CSRF token it was served with."""
    auth.login(A1)
    page_token = csrf_token(client, "/client/profile")
    changed = client.post("/client/profile", headers={**HTMX, "X-CSRFToken": page_token}, data={
        "csrf_token": page_token, "first_name": "Ada", "last_name": "", "phone": "",
        "current_password": factories.PASSWORD, "new_password": "new-password-1",
        "confirm": "new-password-1"})
    assert changed.status_code == 303
    assert client.get(changed.headers["Location"], headers=HTMX).status_code == 200
    thief = copy_of(client)
    out = client.post("/client/logout", data={"csrf_token": page_token})
    assert out.status_code == 302 and out.headers["Location"].endswith("/client/login")
    assert client.get("/client/invoices").status_code == 302
    assert thief.get("/client/invoices").status_code == 302


def test_copied_staff_cookie_dies_at_logout(app, client, world):
    with opened(app):
        staff = factories.staff("desk@test.example")
    login_staff(client, staff.email)
    thief = copy_of(client)
    assert thief.get("/admin/clients").status_code == 200
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/clients")})
    assert client.get("/admin/clients").status_code == 302
    stale = thief.get("/admin/clients")
    assert stale.status_code == 302 and "/admin/login" in stale.headers["Location"]


def test_staff_cookie_dies_with_a_password_change(app, client, world):
    with opened(app):
        staff = factories.staff("desk@test.example")
    login_staff(client, staff.email)
    assert client.get("/admin/clients").status_code == 200
    result = app.test_cli_runner().invoke(portal.cli, ["staff", "create", staff.email],
                                          input="another-password\n")
    assert result.exit_code == 0, result.output
    assert client.get("/admin/clients").status_code == 302


def impersonate(client, app, contact):
    with opened(app):
        staff = factories.staff("helpdesk@test.example")
    login_staff(client, staff.email)
    token = csrf_token(client, "/admin/clients")
    response = client.post(f"/admin/contacts/{contact.id}/impersonate",
                           data={"csrf_token": token})
    assert response.status_code == 303
    return staff


def test_deactivated_staff_lose_their_portal_view(app, client, world):
    staff = impersonate(client, app, world["a2"])
    assert client.get("/client/invoices").status_code == 200
    with opened(app):
        models.StaffUser.update(is_active=False).where(models.StaffUser.id == staff.id).execute()
    assert client.get("/client/invoices").status_code == 302
    assert client.get("/admin/clients").status_code == 302


def test_staff_logout_ends_a_copied_portal_view_too(app, client, world):
    impersonate(client, app, world["a2"])
    thief = copy_of(client)
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/clients")})
    assert thief.get("/client/invoices").status_code == 302


def test_portal_log_out_while_impersonating_returns_to_the_back_office(app, client, world):
    contact_browser = app.test_client()
    token = csrf_token(contact_browser)
    contact_browser.post("/client/login", data={"email": A2, "password": factories.PASSWORD,
                                                "csrf_token": token})
    impersonate(client, app, world["a2"])
    out = client.post("/client/logout", data={"csrf_token": csrf_token(client,
                                                                      "/client/invoices")})
    assert out.status_code == 303 and out.headers["Location"].endswith("/admin/clients")
    assert client.get("/client/invoices").status_code == 302  # the portal view ended
    assert client.get("/admin/clients").status_code == 200  # the staff session did not
    # Staff leaving did not sign the contact out of their own browser.
    assert contact_browser.get("/client/invoices").status_code == 200


def test_actions_while_impersonating_are_the_staff_members(app, client, world):
    with opened(app):
        approve_me, decline_me = make_quote(world["a"]), make_quote(world["a"])
    staff = impersonate(client, app, world["a2"])
    token = csrf_token(client, "/client/quotes")
    approved = client.post(f"/client/quotes/{approve_me.public_id}/approve",
                           data={"csrf_token": token})
    declined = client.post(f"/client/quotes/{decline_me.public_id}/decline",
                           data={"csrf_token": token, "reason": "on the phone"})
    assert approved.status_code == declined.status_code == 303
    with opened(app):
        A = models.Activity
        for action, record in (("quote.approved", approve_me), ("quote.declined", decline_me)):
            row = A.get((A.action == action) & (A.subject_id == record.id))
            assert (row.staff_id, row.contact_id) == (staff.id, None), action


def test_sessions_end_after_their_lifetime(app, client, auth, world):
    auth.login(A1)
    assert client.get("/client/invoices").status_code == 200
    with client.session_transaction() as session:
        session["contact_since"] = int(time.time()) - 13 * 3600
    assert client.get("/client/invoices").status_code == 302
    with opened(app):
        staff = factories.staff("desk@test.example")
    login_staff(client, staff.email)
    assert client.get("/admin/clients").status_code == 200
    with client.session_transaction() as session:
        session["staff_since"] = int(time.time()) - 9 * 3600
    assert client.get("/admin/clients").status_code == 302


def test_lifetimes_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_SESSION_HOURS", "2")
    monkeypatch.setenv("PORTAL_STAFF_SESSION_HOURS", "1.5")
    app = make_app(tmp_path)
    assert (app.config["CONTACT_SESSION_HOURS"], app.config["STAFF_SESSION_HOURS"]) == (2, 1.5)
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 2 * 3600
    monkeypatch.setenv("PORTAL_SESSION_HOURS", "forever")
    with pytest.raises(RuntimeError, match="PORTAL_SESSION_HOURS"):
        make_app(tmp_path)
