"""The profile: billing details where the business allows them, and a login e-mail change
confirmed from the new mailbox with a notice to the old one."""
import re

import pytest

import models
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import snapshot


def allow_billing(allowed=True):
    models.Company.update(contacts_edit_billing_details=allowed).execute()


def post(client, path, data, token_from="/client/profile"):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, token_from)})


def details(**extra):
    return {"first_name": "Ann", "last_name": "Alpha", "phone": "", **extra}


def test_billing_details_are_saved_for_the_client_when_the_business_allows(client, auth,
                                                                          world):
    allow_billing()
    auth.login("a1@alpha.example")
    assert "Billing address" in client.get("/client/profile").get_data(as_text=True)
    response = post(client, "/client/profile", details(
        address="1 Main St\nSpringfield", shipping_address="Dock 4", vat_number="GB123"))
    assert response.status_code == 303
    alpha = models.Client.get_by_id(world["a"].id)
    assert (alpha.address, alpha.shipping_address, alpha.vat_number) == (
        "1 Main St\nSpringfield", "Dock 4", "GB123")
    assert models.Client.get_by_id(world["b"].id).vat_number != "GB123"


def test_billing_details_are_neither_shown_nor_saved_when_the_business_does_not_allow(
        client, auth, world):
    auth.login("a1@alpha.example")
    assert "Billing address" not in client.get("/client/profile").get_data(as_text=True)
    before = models.Client.get_by_id(world["a"].id).vat_number
    assert post(client, "/client/profile", details(vat_number="FORGED")).status_code == 303
    assert models.Client.get_by_id(world["a"].id).vat_number == before


def test_a_bad_billing_detail_is_refused_and_changes_nothing(client, auth, world):
    allow_billing()
    auth.login("a1@alpha.example")
    before = snapshot()
    response = post(client, "/client/profile", details(vat_number="x" * 51, address="Here"))
    assert response.status_code == 422
    assert "VAT number can have at most 50 characters" in response.get_data(as_text=True)
    assert snapshot() == before


def test_new_pdfs_carry_the_new_billing_details(client, auth, world):
    from tests.core_support import pdf_text
    allow_billing()
    auth.login("a1@alpha.example")
    post(client, "/client/profile", details(address="77 New Road", vat_number="DE999"))
    invoice = world["invoices"]["sent"]
    text = pdf_text(client.get(f"/client/invoices/{invoice.public_id}/pdf").data)
    assert "77 New Road" in text and "DE999" in text


def outbox(to):
    return list(models.EmailMessage.select().where(models.EmailMessage.to == to)
                .order_by(models.EmailMessage.id))


def ask(client, email="ann.new@alpha.example", password=factories.PASSWORD):
    return post(client, "/client/profile/email", {"new_email": email,
                                                  "email_password": password})


def link_in(message):
    return re.search(r"/client/profile/email/\S+", message.body_text).group(0)


def test_changing_the_login_email_needs_the_link_sent_to_the_new_address(client, auth, world):
    auth.login("a1@alpha.example")
    assert ask(client).status_code == 303
    contact = models.Contact.get_by_id(world["a1"].id)
    assert (contact.email, contact.pending_email) == ("a1@alpha.example",
                                                      "ann.new@alpha.example")
    notice, = outbox("a1@alpha.example")
    assert "ann.new@alpha.example" in notice.body_text and "/client/" not in notice.body_text
    link = link_in(outbox("ann.new@alpha.example")[0])
    # Following it: GET only asks (a mail scanner must not use it up), POST confirms.
    assert client.get(link).status_code == 200
    assert models.Contact.get_by_id(contact.id).email == "a1@alpha.example"
    assert post(client, link, {}).status_code == 303
    contact = models.Contact.get_by_id(contact.id)
    assert (contact.email, contact.pending_email) == ("ann.new@alpha.example", "")
    assert "now logs in with ann.new@alpha.example" in outbox("a1@alpha.example")[-1].body_text
    # Used once only.
    assert post(client, link, {}).status_code == 404
    auth.logout()
    assert auth.login("ann.new@alpha.example").status_code in (302, 303)


@pytest.mark.parametrize("email,password,message", [
    ("not-an-address", factories.PASSWORD, "is not a valid e-mail address"),
    ("ann.new@alpha.example", "wrong-password", "current password is not right"),
    ("a1@alpha.example", factories.PASSWORD, "already your e-mail address"),
    ("", factories.PASSWORD, "Enter your new e-mail address."),
])
def test_a_refused_email_change_says_why_and_changes_nothing(client, auth, world, email,
                                                             password, message):
    auth.login("a1@alpha.example")
    before = snapshot()
    response = ask(client, email, password)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert snapshot() == before


def test_an_address_with_an_account_gets_no_link_and_the_answer_does_not_say_so(client, auth,
                                                                              world):
    auth.login("a1@alpha.example")
    taken = ask(client, "b1@beta.example")
    free = ask(client, "nobody@alpha.example")
    assert taken.status_code == free.status_code == 303
    assert outbox("b1@beta.example") == []
    assert models.Contact.get_by_id(world["b1"].id).email == "b1@beta.example"


def test_an_address_taken_before_the_link_is_followed_is_refused(client, auth, world):
    auth.login("a1@alpha.example")
    ask(client)
    link = link_in(outbox("ann.new@alpha.example")[0])
    models.Contact.update(email="ann.new@alpha.example").where(
        models.Contact.id == world["a2"].id).execute()
    response = post(client, link, {})
    assert response.status_code == 404 and "another account" in response.get_data(as_text=True)
    assert models.Contact.get_by_id(world["a1"].id).email == "a1@alpha.example"


def test_a_second_request_replaces_the_first_link(client, auth, world):
    auth.login("a1@alpha.example")
    ask(client, "first@alpha.example")
    first = link_in(outbox("first@alpha.example")[0])
    ask(client, "second@alpha.example")
    assert post(client, first, {}).status_code == 404
    assert models.Contact.get_by_id(world["a1"].id).email == "a1@alpha.example"
