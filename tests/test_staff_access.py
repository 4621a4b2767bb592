"""A deactivated staff member loses every way in: the API token, the back-office session and
the back-office login."""
import models
from tests import factories
from tests.core_support import login_staff, opened


def deactivate(app, email):
    with opened(app):
        models.StaffUser.update(is_active=False).where(models.StaffUser.email == email) \
            .execute()


def test_a_deactivated_staff_members_api_token_is_refused(app, api):
    assert api.get("clients").status_code == 200
    deactivate(app, "integration@test.example")
    response = api.get("clients")
    assert response.status_code == 401 and "X-API-TOKEN" in response.get_json()["message"]
    assert api.post("clients", json={"name": "Sneaky", "currency": "USD"}).status_code == 401
    with opened(app):
        assert not models.Client.select().where(models.Client.name == "Sneaky").exists()


def test_a_deactivated_staff_member_loses_the_back_office(app, client):
    with opened(app):
        factories.staff("leaver@test.example")
    assert login_staff(client, "leaver@test.example").status_code == 302
    assert client.get("/admin/clients").status_code == 200
    deactivate(app, "leaver@test.example")
    page = client.get("/admin/clients")
    assert page.status_code == 302 and "/admin/login" in page.headers["Location"]
    again = app.test_client()
    refused = login_staff(again, "leaver@test.example")  # the right password, all the same
    assert refused.status_code == 422
    assert again.get("/admin/clients").status_code == 302
