import models
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened


def staff_login(client, app):
    with opened(app):
        staff = factories.staff("helpdesk@test.example")
    assert login_staff(client, staff.email).status_code == 302
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
    with opened(app):
        actions = [a.action for a in models.Activity.select().where(
            models.Activity.staff == staff.id).order_by(models.Activity.id)]
    assert "staff.impersonation_started" in actions and "staff.impersonation_ended" in actions


def test_contacts_cannot_impersonate(client, auth, world):
    auth.login("a1@alpha.example")
    token = csrf_token(client, "/client/invoices")
    response = client.post(f"/admin/contacts/{world['b1'].id}/impersonate",
                           data={"csrf_token": token})
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    assert world["other"].number not in client.get("/client/invoices").get_data(as_text=True)


# -- staff adding a card for a contact: the client's consent first (issue 10, item 7) --------

def _open_portal_as(client, app, contact):
    staff = staff_login(client, app)
    token = csrf_token(client, "/admin/clients")
    client.post(f"/admin/contacts/{contact.id}/impersonate", data={"csrf_token": token})
    return staff


CARD = {"card_number": "4242424242424242", "exp_month": "12", "exp_year": "2035", "cvc": "123"}


def _tokens(app):
    with opened(app):
        found = list(models.GatewayToken.select())
    return found


def test_staff_adding_a_card_as_a_contact_confirm_consent_first(client, app, world,
                                                                demo_gateway):
    staff = _open_portal_as(client, app, world["a2"])
    first = client.get(f"/client/payment_methods/create?gateway={demo_gateway.id}")
    page = first.get_data(as_text=True)
    assert first.status_code == 200
    assert "You are staff, adding a card on the client" in page
    assert 'name="staff_consent"' in page and 'name="card_number"' not in page
    # Continuing without ticking the box: asked again, with the reason.
    refused = client.get(f"/client/payment_methods/create?gateway={demo_gateway.id}&asked=1")
    assert refused.status_code == 422
    assert "Confirm that the client has given their consent" in refused.get_data(as_text=True)
    # Posting a card straight away, without the consent: refused, nothing saved.
    token = csrf_token(client, "/client/payment_methods")
    posted = client.post("/client/payment_methods/create",
                         data={"csrf_token": token, "gateway": demo_gateway.id, **CARD})
    assert posted.status_code == 422 and _tokens(app) == []
    # With consent: the card form says staff is adding it, and the card records it.
    form = client.get(f"/client/payment_methods/create?gateway={demo_gateway.id}"
                      "&staff_consent=1")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and 'name="card_number"' in html
    assert "you are adding this card for Alpha Ltd, with their consent" in html
    assert 'name="staff_consent" value="1"' in html
    saved = client.post("/client/payment_methods/create", data={
        "csrf_token": token, "gateway": demo_gateway.id, "staff_consent": "1", **CARD})
    assert saved.status_code == 303
    [card] = _tokens(app)
    assert card.created_by_staff_id == staff.id and card.created_by_contact_id is None
    listing = client.get("/client/payment_methods").get_data(as_text=True)
    assert "Added by staff" in listing
    shown = client.get(f"/client/payment_methods/{card.public_id}").get_data(as_text=True)
    assert "by Test Studio staff" in shown
    with opened(app):
        row = models.Activity.get(models.Activity.action == "payment_method.added")
    assert (row.actor, row.staff_id, row.as_contact_id, row.contact_id) == (
        "staff_as_contact", staff.id, world["a2"].id, None)


def test_a_contact_adding_their_own_card_is_not_asked_for_consent(client, auth, world,
                                                                  demo_gateway, app):
    auth.login("a1@alpha.example")
    page = client.get(f"/client/payment_methods/create?gateway={demo_gateway.id}")
    html = page.get_data(as_text=True)
    assert 'name="card_number"' in html and "staff_consent" not in html
    token = csrf_token(client, "/client/payment_methods")
    saved = client.post("/client/payment_methods/create",
                        data={"csrf_token": token, "gateway": demo_gateway.id, **CARD})
    assert saved.status_code == 303
    [card] = _tokens(app)
    assert card.created_by_contact_id == world["a1"].id and card.created_by_staff_id is None
    assert "Added by staff" not in client.get("/client/payment_methods").get_data(as_text=True)


def test_staff_saving_a_card_at_checkout_confirm_consent(client, app, world, demo_gateway):
    from tests.conftest import CSRF_RE
    from tests.payments_support import KEY_RE, pay
    staff = _open_portal_as(client, app, world["a2"])
    sent = world["invoices"]["sent"]
    capture = pay(client, [sent], f"new:{demo_gateway.id}")
    html = capture.get_data(as_text=True)
    assert "you are paying on Alpha Ltd" in html and 'name="staff_consent"' in html

    def submit(**extra):
        page = pay(client, [sent], f"new:{demo_gateway.id}").get_data(as_text=True)
        return client.post("/client/invoices/payment", data={
            "csrf_token": CSRF_RE.search(page).group(1), "step": "capture",
            "key": KEY_RE.search(page).group(1), "method": f"new:{demo_gateway.id}",
            "invoices": sent.public_id, "gateway": demo_gateway.id, "save": "1", **CARD,
            **extra})

    refused = submit()
    assert refused.status_code == 422
    assert "Confirm that the client has given their consent" in refused.get_data(as_text=True)
    with opened(app):
        assert not models.Payment.select().where(models.Payment.status == "completed",
                                                 models.Payment.client == world["a"].id,
                                                 models.Payment.gateway.is_null(False)).exists()
    assert _tokens(app) == []
    done = submit(staff_consent="1")
    assert done.status_code == 303
    [card] = _tokens(app)
    assert card.created_by_staff_id == staff.id
