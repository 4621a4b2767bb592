"""Names and addresses: control characters and bad e-mail addresses are refused, and a
message that cannot be built (legacy data) never stops the others or undoes a saved action."""
import os

import pytest

import models
import portal
from billing import DomainError, accounts, clients, invoices, recurring, registration
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened

BAD_ADDRESS = "victim@alpha.example\nBcc: everyone@evil.example"


@pytest.mark.parametrize("data,message", [
    ({"name": "Acme\nBcc: x@evil.example"}, "line breaks or control characters"),
    ({"name": "Acme\r"}, "line breaks or control characters"),
    ({"name": "Acme\x07"}, "line breaks or control characters"),
    ({"name": "Acme\u2028Ltd"}, "line breaks or control characters"),
    ({"name": "Acme", "number": "C-1\n"}, "line breaks or control characters"),
    ({"name": "Acme", "email": "billing@acme.example\r\nBcc: x@evil.example"},
     "line breaks or control characters"),
    ({"name": "Acme", "email": "not-an-address"}, "not a valid e-mail address"),
    ({"name": "Acme", "currency": "XYZ"}, "ISO 4217"),
    ({"name": "Acme", "address": "1 Road\x1b[31m"}, "control characters"),
])
def test_client_fields_are_checked(app, data, message):
    with opened(app):
        before = models.Client.select().count()
        with pytest.raises(DomainError, match=message):
            clients.create_client(data)
        existing = factories.client(name="Kept")
        with pytest.raises(DomainError, match=message):
            clients.update_client(existing, data)
        assert models.Client.get_by_id(existing.id).name == "Kept"
        assert models.Client.select().count() == before + 1


@pytest.mark.parametrize("contact,message", [
    ({"email": BAD_ADDRESS}, "valid e-mail address"),
    ({"email": "a@b"}, "valid e-mail address"),
    ({"email": "two@alpha.example, three@alpha.example"}, "valid e-mail address"),
    ({"email": "someone@portal.test"}, "valid e-mail address"),
    ({"email": "ok@alpha.example", "first_name": "Pat\nBcc: x@evil.example"},
     "line breaks or control characters"),
    ({"email": "ok@alpha.example", "last_name": "Lee\x00"}, "line breaks or control characters"),
    ({"email": "ok@alpha.example", "phone": "555\r\n"}, "line breaks or control characters"),
])
def test_contact_fields_are_checked(app, contact, message):
    with opened(app):
        with pytest.raises(DomainError, match=message):
            clients.create_client({"name": "Acme"}, [contact])
        assert not models.Client.select().where(models.Client.name == "Acme").exists()


def test_good_contact_address_is_normalised(app):
    with opened(app):
        client = clients.create_client({"name": "Acme", "currency": "eur"},
                                       [{"email": " Ana.Lee@Acme.Example ", "first_name": "Ana"}])
        assert client.currency == "EUR"
        assert client.contacts.get().email == "ana.lee@acme.example"


def test_registration_and_profile_refuse_control_characters(app):
    with opened(app):
        company = models.Company.current()
        form = {"client_name": "Acme", "first_name": "A", "last_name": "B",
                "password": factories.PASSWORD, "confirm": factories.PASSWORD}
        with pytest.raises(DomainError, match="E-mail address cannot contain line breaks"):
            registration.check(company, {**form, "email": BAD_ADDRESS})
        with pytest.raises(DomainError, match="line breaks"):
            registration.check(company, {**form, "client_name": "Acme\nLtd",
                                         "email": "new@acme.example"})
        contact = factories.contact()
        with pytest.raises(DomainError, match="line breaks"):
            accounts.update_profile(contact, first_name="Pat\r\nX", last_name="", phone="")
        assert models.Contact.get_by_id(contact.id).first_name == "Pat"


def test_staff_create_refuses_a_bad_address(app):
    result = app.test_cli_runner().invoke(portal.cli, ["staff", "create", "boss@"],
                                          input="long-enough-pw\n")
    assert result.exit_code != 0 and "not a valid e-mail address" in result.output
    with opened(app):
        assert not models.StaffUser.select().exists()


# -- legacy bad data already in the database -------------------------------------------

def _legacy_bad_contact(client_):
    """A contact whose address has a line break, written as old data would be."""
    bad = factories.contact(client_, email="legacy@alpha.example")
    models.Contact.update(email=BAD_ADDRESS).where(models.Contact.id == bad.id).execute()
    return bad


def _outbox(app):
    path = app.config["OUTBOX_PATH"]
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def test_invoice_email_survives_one_bad_recipient(app, client):
    with opened(app):
        people = factories.two_clients()
        _legacy_bad_contact(people["a"])
        invoice = factories.invoice(people["a"], status="draft")
        staff = factories.staff()
    login_staff(client, staff.email)
    token = csrf_token(client, "/admin/invoices")
    response = client.post(f"/admin/invoices/{invoice.id}/email", data={"csrf_token": token})
    assert response.status_code == 303
    with opened(app):
        assert models.Invoice.get_by_id(invoice.id).status == "sent"
        E = models.EmailMessage
        bad = E.get(E.to == BAD_ADDRESS)
        assert bad.status == "failed" and "linefeed" in bad.last_error
        good = E.select().where(E.to != BAD_ADDRESS)
        assert sorted(m.to for m in good) == ["a1@alpha.example", "a2@alpha.example"]
        assert all(m.status == "sent" for m in good)
    assert len(_outbox(app)) == 2


def test_quote_answers_stand_when_the_staff_notice_cannot_be_built(app, client, auth, qworld):
    models.Client.update(name="Alpha\nBcc: everyone@evil.example").where(
        models.Client.id == qworld["a"].id).execute()
    auth.login("a1@alpha.example")
    before = models.EmailMessage.select().count()  # qworld's own, never delivered
    sent = qworld["quotes"]["sent"]
    path = f"/client/quotes/{sent.public_id}"
    approved = client.post(path + "/approve", data={"csrf_token": csrf_token(client, path)})
    assert approved.status_code == 303
    assert models.Quote.get_by_id(sent.id).status == "converted"
    other = quote_for(qworld["a"])
    path = f"/client/quotes/{other.public_id}"
    declined = client.post(path + "/decline", data={"csrf_token": csrf_token(client, path)})
    assert declined.status_code == 303
    assert models.Quote.get_by_id(other.id).status == "declined"
    E = models.EmailMessage
    notices = list(E.select().order_by(E.id).offset(before))
    assert len(notices) == 2 and all(m.status == "failed" for m in notices)
    assert all("linefeed" in m.last_error for m in notices)


def quote_for(client_):
    from tests.quotes_support import quote
    return quote(client_, "sent")


def test_run_due_carries_on_past_a_bad_message(app):
    with opened(app):
        people = factories.two_clients()
        _legacy_bad_contact(people["a"])
        today = models.utcnow().date()
        recurring.create_recurring(people["a"], [{"product": "Retainer", "unit_cost": 5000}],
                                   start_date=today)
        invoices.email_invoice(factories.invoice(people["b"], status="draft"), app.config)
        # A message queued earlier, then one that cannot be built, then a good one.
        E = models.EmailMessage
        E.update(status="queued", next_attempt_at=models.utcnow()).execute()
    result = app.test_cli_runner().invoke(portal.cli, ["run-due"])
    assert result.exit_code == 0, result.output
    assert "recurring invoices: 1 issued" in result.output
    with opened(app):
        E = models.EmailMessage
        assert E.get(E.to == BAD_ADDRESS).status == "failed"
        assert all(m.status == "sent" for m in E.select().where(E.to != BAD_ADDRESS))
        assert E.select().where(E.to == "b1@beta.example").count() == 1
        assert E.select().where(E.to == "a1@alpha.example").count() == 1
