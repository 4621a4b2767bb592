import models
from tests import factories
from tests.conftest import csrf_token


def staff_login(client, app):
    with app.app_context():
        models.db.connect(reuse_if_open=True)
        staff = factories.staff("helpdesk@test.example")
        models.db.close()
    token = csrf_token(client, "/admin/login")
    client.post("/admin/login", data={"email": staff.email, "password": factories.PASSWORD,
                                      "csrf_token": token})
    return staff


def test_staff_opens_the_portal_as_a_contact_with_a_banner_and_an_audit_trail(client, app,
                                                                              world):
    staff = staff_login(client, app)
    clients_page = client.get("/admin/clients").get_data(as_text=True)
    assert "a2@alpha.example" in clients_page
    token = csrf_token(client, "/admin/clients")
    response = client.post(f"/admin/contacts/{world['a2'].id}/impersonate",
                           data={"csrf_token": token})
    assert response.status_code == 303
    page = client.get("/client/invoices").get_data(as_text=True)
    assert "Staff view" in page and world["invoices"]["sent"].number in page
    assert world["other"].number not in page
    client.post("/admin/impersonate/stop", data={"csrf_token": csrf_token(client,
                                                                           "/client/invoices")})
    assert client.get("/client/invoices").status_code == 302  # the contact session is gone
    assert client.get("/admin/clients").status_code == 200  # the staff one is back
    with app.app_context():
        models.db.connect(reuse_if_open=True)
        actions = [a.action for a in models.Activity.select().where(
            models.Activity.staff == staff.id).order_by(models.Activity.id)]
        models.db.close()
    assert "staff.impersonation_started" in actions and "staff.impersonation_ended" in actions


def test_contacts_cannot_impersonate(client, auth, world):
    auth.login("a1@alpha.example")
    token = csrf_token(client, "/client/invoices")
    response = client.post(f"/admin/contacts/{world['b1'].id}/impersonate",
                           data={"csrf_token": token})
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    assert world["other"].number not in client.get("/client/invoices").get_data(as_text=True)
