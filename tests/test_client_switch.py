"""One person, several clients: a contact with access to clients A and B logs in once and
switches between them; everything follows the client chosen (issue 13 §4)."""
import pytest

import models
from billing import client_access
from tests import factories
from tests.conftest import CSRF_RE, csrf_token, hx
from tests.core_support import QueryCounter, alert, login_staff, opened, records_for, snapshot
from tests.payments_support import KEY_RE, pay, reload

PERSON = "pat@both.example"
# Each portal tab and the kind of record (records_for) whose public id it lists.
TABS = {
    "/client/invoices": "invoices", "/client/payments": "payments",
    "/client/quotes": "quotes", "/client/credits": "credits",
    "/client/documents": "documents", "/client/payment_methods": "payment_methods",
    "/client/recurring_invoices": "recurring", "/client/subscriptions": "subscriptions",
}
DETAILS = {"invoices": "/client/invoices/", "payments": "/client/payments/",
           "quotes": "/client/quotes/", "credits": "/client/credits/",
           "recurring": "/client/recurring_invoices/",
           "payment_methods": "/client/payment_methods/",
           "subscriptions": "/client/subscriptions/"}


@pytest.fixture
def both(app):
    """Pat, a contact of A who also acts for B; b1, B's own contact; C, nobody's business
    of Pat's. Each client has one record of every kind."""
    with opened(app):
        factories.company(prepayments_enabled=True)
        a, b, c = (factories.client(name=name) for name in ("Alpha Ltd", "Beta GmbH",
                                                            "Gamma SA"))
        pat = factories.contact(a, email=PERSON)
        b1 = factories.contact(b, email="b1@beta.example")
        factories.contact(c, email="c1@gamma.example")
        client_access.grant(b, PERSON)
        ids = {}
        for name, client_ in (("a", a), ("b", b), ("c", c)):
            records, _keys = records_for(client_, with_keys=False)
            ids[name] = {kind: record.public_id for kind, record in records.items()}
            ids[name]["invoice_number"] = records["invoices"].number
    return {"a": a, "b": b, "c": c, "pat": pat, "b1": b1, "ids": ids}


def login(client, email=PERSON):
    token = csrf_token(client)
    response = client.post("/client/login", data={"email": email,
                                                  "password": factories.PASSWORD,
                                                  "csrf_token": token})
    assert response.status_code == 302
    return response


def switch(client, client_public_id, **headers):
    token = csrf_token(client, "/client/profile")
    return client.post("/client/switch", data={"csrf_token": token, "client": client_public_id},
                       headers=headers)


def acting(client):
    with client.session_transaction() as session:
        return session.get("client_id")


def text(client, path):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def test_one_login_sees_its_own_client_first_with_a_switcher(client, both):
    login(client)
    html = text(client, "/client/invoices")
    assert both["ids"]["a"]["invoices"] in html
    assert both["ids"]["b"]["invoices"] not in html
    assert 'class="client-switch"' in html and '<label for="client-switch">' in html
    assert f'<option value="{both["a"].public_id}" selected>Alpha Ltd</option>' in html
    assert f'<option value="{both["b"].public_id}">Beta GmbH</option>' in html
    assert "Gamma SA" not in html
    assert acting(client) is None


def test_switching_scopes_every_tab_to_the_chosen_client(client, both):
    login(client)
    response = switch(client, both["b"].public_id)
    assert response.status_code == 303 and response.headers["Location"].endswith(
        "/client/invoices")
    assert acting(client) == both["b"].id
    assert "You are now working for Beta GmbH." in text(client, "/client/invoices")
    a, b = both["ids"]["a"], both["ids"]["b"]
    for path, kind in TABS.items():
        for page in (text(client, path), hx(client, path).get_data(as_text=True)):
            assert b[kind] in page, (path, kind)
            assert a[kind] not in page, (path, kind)
    period = f"?start_date=2025-01-01&end_date={models.utcnow().date().isoformat()}"
    statement = text(client, "/client/statement" + period)
    assert b["invoice_number"] in statement and a["invoice_number"] not in statement
    pre_payment = text(client, "/client/pre_payment")
    assert b["pre_payment"] in pre_payment and a["pre_payment"] not in pre_payment
    # The chosen client is named on the page, selected in the switcher.
    html = text(client, "/client/invoices")
    assert f'<option value="{both["b"].public_id}" selected>Beta GmbH</option>' in html
    for kind, prefix in DETAILS.items():
        assert client.get(prefix + a[kind]).status_code == 404, kind
        assert client.get(prefix + b[kind]).status_code == 200, kind
    assert client.get(f"/client/invoices/{a['invoices']}/pdf").status_code == 404
    assert client.get(f"/client/documents/{a['documents']}/download").status_code == 404
    # ...and back home: the session forgets the choice.
    assert switch(client, both["a"].public_id).status_code == 303
    assert acting(client) is None
    html = text(client, "/client/invoices")
    assert a["invoices"] in html and b["invoices"] not in html


def test_htmx_switch_answers_with_a_redirect_header(client, both):
    login(client)
    response = switch(client, both["b"].public_id, **{"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].endswith("/client/invoices")
    assert acting(client) == both["b"].id


@pytest.mark.parametrize("target", ["c", "unknown", "malformed", "empty", "archived_b"])
def test_switching_to_a_client_without_access_is_refused(app, client, both, target):
    login(client)
    if target == "archived_b":
        with opened(app):
            models.Client.update(archived_at=models.utcnow()).where(
                models.Client.id == both["b"].id).execute()
    value = {"c": both["c"].public_id, "unknown": "A" * 16, "malformed": "../" + "x" * 400,
             "empty": "", "archived_b": both["b"].public_id}[target]
    token = csrf_token(client, "/client/profile")
    with opened(app):
        before = snapshot()
    response = client.post("/client/switch", data={"csrf_token": token, "client": value})
    assert response.status_code == 404
    with opened(app):
        assert snapshot() == before
    assert acting(client) is None
    html = text(client, "/client/invoices")
    assert both["ids"]["a"]["invoices"] in html and both["ids"]["c"]["invoices"] not in html


def test_switching_needs_a_login_and_a_csrf_token(app, client, both):
    token = csrf_token(client)
    response = client.post("/client/switch", data={"csrf_token": token,
                                                   "client": both["b"].public_id})
    assert response.status_code == 302 and "/client/login" in response.headers["Location"]
    login(client)
    response = client.post("/client/switch", data={"client": both["b"].public_id})
    assert response.status_code == 400 and acting(client) is None


@pytest.mark.parametrize("how", ["revoked", "archived"])
def test_losing_access_mid_session_falls_back_to_the_own_client(app, client, both, how):
    login(client)
    switch(client, both["b"].public_id)
    assert both["ids"]["b"]["invoices"] in text(client, "/client/invoices")
    with opened(app):
        if how == "revoked":
            assert client_access.revoke(both["b"], both["pat"].id) is not None
        else:
            models.Client.update(archived_at=models.utcnow()).where(
                models.Client.id == both["b"].id).execute()
    html = text(client, "/client/invoices")
    assert both["ids"]["a"]["invoices"] in html and both["ids"]["b"]["invoices"] not in html
    assert acting(client) is None
    assert 'class="client-switch"' not in html  # nothing left to switch between
    assert client.get("/client/invoices/" + both["ids"]["b"]["invoices"]).status_code == 404


def test_a_profile_save_while_acting_keeps_the_own_client(app, client, both):
    login(client)
    switch(client, both["b"].public_id)
    token = csrf_token(client, "/client/profile")
    response = client.post("/client/profile", data={
        "csrf_token": token, "first_name": "Patricia", "last_name": "Both", "phone": "",
        "locale": "", "current_password": factories.PASSWORD,
        "new_password": "another-good-password", "confirm": "another-good-password"})
    assert response.status_code == 303
    with opened(app):
        saved = models.Contact.get(models.Contact.email == PERSON)
        assert saved.client_id == both["a"].id and saved.first_name == "Patricia"
    # The password change kept this session, still acting for B.
    assert acting(client) == both["b"].id
    assert both["ids"]["b"]["invoices"] in text(client, "/client/invoices")


def test_acting_in_memory_is_never_written(db, both):
    pat = models.Contact.with_client(both["pat"].id)
    pat.act_for(both["b"])
    assert pat.client_id == both["b"].id and pat.home_client_id == both["a"].id
    assert not pat.is_dirty()
    pat.phone = "+1 555 0100"
    pat.save()
    assert pat.client_id == both["b"].id  # still acting for B in this request
    stored = models.Contact.get_by_id(pat.id)
    assert (stored.client_id, stored.phone) == (both["a"].id, "+1 555 0100")


def test_a_payment_while_acting_is_recorded_for_the_chosen_client(app, client, both,
                                                                  demo_gateway):
    with opened(app):
        invoice = factories.invoice(both["b"], status="sent")
    login(client)
    switch(client, both["b"].public_id)
    capture = pay(client, [invoice], f"new:{demo_gateway.id}")
    html = capture.get_data(as_text=True)
    assert capture.status_code == 200 and "card_number" in html
    done = client.post("/client/invoices/payment", data={
        "csrf_token": CSRF_RE.search(html).group(1), "step": "capture",
        "key": KEY_RE.search(html).group(1), "method": f"new:{demo_gateway.id}",
        "invoices": invoice.public_id, "save": "1", "gateway": demo_gateway.id,
        "card_number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2035",
        "cvc": "123"})
    assert done.status_code == 303 and "/client/payments/" in done.headers["Location"]
    with opened(app):
        payment = models.Payment.get(models.Payment.status == "completed",
                                     models.Payment.method_label.contains("4242"))
        assert payment.client_id == both["b"].id
        assert reload(invoice).status == "paid"
        saved = models.GatewayToken.get(models.GatewayToken.last4 == "4242",
                                        models.GatewayToken.created_by_contact.is_null(False))
        assert saved.client_id == both["b"].id
        assert models.Contact.get_by_id(both["pat"].id).client_id == both["a"].id
    assert client.get(done.headers["Location"]).status_code == 200
    switch(client, both["a"].public_id)
    assert client.get(done.headers["Location"]).status_code == 404


def test_an_emailed_link_to_the_own_client_switches_back_to_it(app, client, both):
    with opened(app):
        invoice = models.Invoice.get(models.Invoice.public_id == both["ids"]["a"]["invoices"])
        key = models.Invitation.issue(both["pat"], 30, invoice=invoice)
    login(client)
    switch(client, both["b"].public_id)
    response = client.get(f"/client/invoice/{key}")
    assert response.status_code in (302, 303)
    assert acting(client) is None
    assert client.get(response.headers["Location"]).status_code == 200


def test_no_switcher_for_a_contact_of_one_client(app, client, both):
    login(client, "b1@beta.example")
    html = text(client, "/client/invoices")
    assert "client-switch" not in html and "Working for" not in html
    token = csrf_token(client, "/client/profile")
    response = client.post("/client/switch", data={"csrf_token": token,
                                                   "client": both["a"].public_id})
    assert response.status_code == 404 and acting(client) is None


def test_a_switched_request_costs_one_query_more_and_others_none(client, both):
    login(client)

    def count():
        with QueryCounter() as counter:
            assert hx(client, "/client/invoices").status_code == 200
        return counter.count

    home = count()
    switch(client, both["b"].public_id)
    count()  # the flash message is shown (and consumed) once
    assert count() == home + 1


# -- staff set it up ----------------------------------------------------------------------

@pytest.fixture
def staff_client(app, client):
    with opened(app):
        staff = factories.staff("desk@test.example")
    assert login_staff(client, staff.email).status_code == 302
    return client


def grant(client, client_id, email):
    token = csrf_token(client, f"/admin/clients/{client_id}")
    return client.post(f"/admin/clients/{client_id}/access",
                       data={"csrf_token": token, "email": email})


def test_staff_give_and_remove_access(app, staff_client, both):
    client, c = staff_client, both["c"]
    page = text(client, f"/admin/clients/{c.id}")
    assert "Give an existing contact access to this client" in page and "Nobody else" in page
    response = grant(client, c.id, "  PAT@both.example ")
    assert response.status_code == 303
    page = text(client, f"/admin/clients/{c.id}")
    assert PERSON in page and "Alpha Ltd" in page
    with opened(app):
        assert models.ClientAccess.select().where(
            models.ClientAccess.client == c.id).count() == 1
        assert models.Contact.get_by_id(both["pat"].id).other_clients == 2
        logged = models.Activity.get(models.Activity.action == "contact.access_granted",
                                     models.Activity.client == c.id)
        assert logged.staff_id is not None and logged.subject_id == both["pat"].id
    remove = f"/admin/clients/{c.id}/access/{both['pat'].id}/remove"
    confirm = text(client, remove)
    assert "Remove access" in confirm and PERSON in confirm
    token = CSRF_RE.search(confirm).group(1)
    assert client.post(remove, data={"csrf_token": token}).status_code == 303
    with opened(app):
        assert not models.ClientAccess.select().where(
            models.ClientAccess.client == c.id).exists()
        assert models.Contact.get_by_id(both["pat"].id).other_clients == 1
        assert models.Activity.select().where(
            models.Activity.action == "contact.access_removed").exists()
    # Removed already (or never there): not found.
    assert client.post(remove, data={"csrf_token": token}).status_code == 404
    assert client.get(remove).status_code == 404


@pytest.mark.parametrize("email, message", [
    ("nobody@nowhere.example", "No contact logs in with nobody@nowhere.example"),
    ("c1@gamma.example", "already a contact of this client"),
    ("", "Enter an e-mail address."),
    ("not-an-address", "is not a valid e-mail address"),
])
def test_staff_giving_access_refuses_bad_addresses(app, staff_client, both, email, message):
    client, c = staff_client, both["c"]
    csrf_token(client, f"/admin/clients/{c.id}")
    with opened(app):
        before = snapshot()
    response = grant(client, c.id, email)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in alert(response)
    assert 'aria-invalid="true"' in html and 'aria-describedby="f-email-error"' in html
    with opened(app):
        assert snapshot() == before


def test_staff_cannot_give_the_same_access_twice(app, staff_client, both):
    with opened(app):
        before = snapshot()
    response = grant(staff_client, both["b"].id, PERSON)
    assert response.status_code == 422 and "already has access" in alert(response)
    with opened(app):
        assert snapshot() == before


def test_contacts_cannot_give_access(client, both):
    login(client, "b1@beta.example")
    token = csrf_token(client, "/client/profile")
    response = client.post(f"/admin/clients/{both['b'].id}/access",
                           data={"csrf_token": token, "email": "c1@gamma.example"})
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_portal_init_adds_the_access_table_and_counter_to_an_existing_database(db):
    """A database from before one login could act for several clients is upgraded in
    place: the table appears, every contact counts no other client."""
    contact = factories.contact()
    models.db.drop_tables([models.ClientAccess])
    models.db.execute_sql('ALTER TABLE "contact" DROP COLUMN "other_clients"')
    models.create_tables()
    assert "other_clients" in {c.name for c in models.db.get_columns("contact")}
    assert models.Contact.get_by_id(contact.id).other_clients == 0
    assert client_access.clients_of(contact) == [contact.client]


def test_the_api_shows_who_else_acts_for_a_client(api, both):
    shown = api.get(f"clients/{both['b'].public_id}").json["data"]
    assert [c["email"] for c in shown["contacts"]] == ["b1@beta.example"]
    assert [c["email"] for c in shown["contacts_with_access"]] == [PERSON]
    assert api.get(f"clients/{both['c'].public_id}").json["data"]["contacts_with_access"] == []


def test_own_password_link_opens_while_acting_for_another_client(app, client, both):
    key = "reset-own-" + "x" * 40
    with opened(app):
        models.PasswordReset.create(contact=both["pat"], token_hash=models.hash_token(key),
                                    expires_at=models.utcnow().replace(year=2100))
    login(client)
    switch(client, both["b"].public_id)
    assert client.get(f"/client/password/reset/{key}").status_code == 200
    login_b1 = app.test_client()
    login(login_b1, "b1@beta.example")
    # Somebody else's link still never opens in a signed-in session of another client.
    assert login_b1.get(f"/client/password/reset/{key}").status_code == 404
