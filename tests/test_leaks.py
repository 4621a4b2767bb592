"""What a contact must not learn: records out of their sight, through documents, e-mailed
links, or an account whose client the business archived (issue 9, section 7)."""
import html

import pytest

import models
from billing import DomainError, accounts, checkout
from billing import invoices as invoice_service
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import alert, opened
from tests.payments_support import reload, save_card


def archive_client(app, client_):
    """As `DELETE /api/v1/clients/<id>` does: the client is archived, its rows stay."""
    with opened(app):
        models.Client.update(archived_at=models.utcnow()).where(
            models.Client.id == client_.id).execute()


def test_documents_never_name_or_reveal_records_the_contact_cannot_see(client, auth, world,
                                                                        app):
    a = world["a"]
    with opened(app):
        today = models.utcnow().date()
        draft_quote = models.Quote.create(client=a, number="QDRAFT-77", status="draft",
                                          date=today, currency="USD")
        archived = factories.invoice(a, status="sent")
        invoice_service.archive(archived)
    draft = world["invoices"]["draft"]
    visible = factories.document(app, a, "contract.pdf", invoice=world["invoices"]["sent"])
    hidden = [
        factories.document(app, a, "draft-timesheet.pdf", invoice=draft),
        factories.document(app, a, "draft-quote-spec.pdf", quote=draft_quote),
        factories.document(app, a, "archived-notes.pdf", invoice=archived),
        # Client A's file pointing at client B's invoice (a staff or API mistake).
        factories.document(app, a, "crossed.pdf", invoice=world["other"]),
    ]
    auth.login("a1@alpha.example")
    listing = client.get("/client/documents").get_data(as_text=True)
    assert "contract.pdf" in listing and world["invoices"]["sent"].number in listing
    for number in (draft.number, "QDRAFT-77", archived.number, world["other"].number):
        assert number not in listing
    for doc in hidden:
        assert doc.filename not in listing
        assert client.get(f"/client/documents/{doc.public_id}/download").status_code == 404
    assert client.get(f"/client/documents/{visible.public_id}/download").status_code == 200
    # Once the draft is sent, its file is the client's to see, number and all.
    with opened(app):
        invoice_service.mark_sent(draft)
    listing = client.get("/client/documents").get_data(as_text=True)
    assert "draft-timesheet.pdf" in listing and draft.number in listing


def issue_links(app, contact, **records):
    with opened(app):
        return {kind: models.Invitation.issue(contact, 30, **{kind: record})
                for kind, record in records.items()}


def logged_in(client):
    return client.get("/client/invoices").status_code == 200


@pytest.mark.parametrize("kind", ["invoice", "quote", "credit"])
def test_links_to_archived_records_die(client, world, app, kind):
    with opened(app):
        today = models.utcnow().date()
        record = {
            "invoice": lambda: reload(world["invoices"]["sent"]),
            "quote": lambda: models.Quote.create(client=world["a"], number="Q-1", status="sent",
                                                 date=today, currency="USD", total=100),
            "credit": lambda: models.Credit.create(client=world["a"], number="C-1",
                                                   status="sent", date=today, currency="USD",
                                                   total=100, balance=100),
        }[kind]()
    key = issue_links(app, world["a1"], **{kind: record})[kind]
    assert app.test_client().get(f"/client/{kind}/{key}").status_code == 302  # it works...
    with opened(app):
        if kind == "invoice":
            invoice_service.archive(record)
        else:
            type(record).update(archived_at=models.utcnow()).where(
                type(record).id == record.id).execute()
    response = client.get(f"/client/{kind}/{key}")  # ...until the record is archived
    assert response.status_code == 404
    assert not logged_in(client)


def test_links_to_deleted_records_die(client, world, app):
    sent = world["invoices"]["sent"]
    key = issue_links(app, world["a1"], invoice=sent)["invoice"]
    with opened(app):
        models.Invoice.delete_by_id(sent.id)
    assert client.get(f"/client/invoice/{key}").status_code == 404
    assert not logged_in(client)


def test_contacts_of_an_archived_client_cannot_log_in(client, auth, world, app):
    wrong = auth.login("a1@alpha.example", "not-the-password")
    archive_client(app, world["a"])
    refused = auth.login("a1@alpha.example")
    assert refused.status_code == wrong.status_code == 422
    # The same words as a wrong password: the page must not confirm the account exists.
    assert html.unescape(alert(refused)) == html.unescape(alert(wrong)) == accounts.BAD_LOGIN
    assert refused.get_data(as_text=True) == wrong.get_data(as_text=True).replace(
        csrf_of(wrong), csrf_of(refused))
    assert not logged_in(client)
    with opened(app):
        with pytest.raises(DomainError) as caught:
            accounts.authenticate("a2@alpha.example", factories.PASSWORD)
        assert caught.value.message == accounts.BAD_LOGIN
        # Nor does a password reset open a way in.
        outbox_before = models.EmailMessage.select().count()
        assert accounts.request_password_reset("a1@alpha.example", app.config) is None
        assert models.EmailMessage.select().count() == outbox_before
    # Client B is untouched.
    assert auth.login("b1@beta.example").status_code == 302


def csrf_of(response):
    from tests.conftest import CSRF_RE
    return CSRF_RE.search(response.get_data(as_text=True)).group(1)


def test_archiving_a_client_ends_its_sessions_and_links(client, auth, world, app):
    key = issue_links(app, world["a1"], invoice=world["invoices"]["sent"])["invoice"]
    auth.login("a1@alpha.example")
    assert logged_in(client)
    archive_client(app, world["a"])
    response = client.get("/client/invoices")
    assert response.status_code == 302 and "/client/login" in response.headers["Location"]
    other = app.test_client()
    assert other.get(f"/client/invoice/{key}").status_code == 404
    assert not logged_in(other)


def test_an_archived_client_cannot_pay(client, auth, world, app, demo_gateway, conn):
    auth.login("a1@alpha.example")
    assert save_card(client, demo_gateway).status_code == 303
    token = models.GatewayToken.get()
    sent = world["invoices"]["sent"]
    form_token = csrf_token(client, "/client/invoices")  # the form was open before...
    archive_client(app, world["a"])
    # ...and is submitted after: the session is gone, so it charges nothing.
    response = client.post("/client/invoices/payment", data={
        "csrf_token": form_token, "step": "pay", "key": "k" * 32,
        "invoices": sent.public_id, "method": f"token:{token.public_id}"})
    assert response.status_code in (302, 401)
    # Through the service itself, as any other caller would reach it.
    contact = models.Contact.with_client(world["a1"].id)
    with pytest.raises(DomainError):
        checkout.pay(contact, [(sent.public_id, None)], models.Company.current(),
                     idempotency_key="m" * 32, token=token)
    assert models.Payment.select().count() == 0
    assert reload(sent).balance == 10000


def test_impersonating_a_contact_of_an_archived_client_is_refused(client, world, app):
    from tests.core_support import login_staff
    with opened(app):
        factories.staff("boss@test.example")
    archive_client(app, world["a"])
    login_staff(client, "boss@test.example")
    token = csrf_token(client, "/admin/clients")
    response = client.post(f"/admin/contacts/{world['a1'].id}/impersonate",
                           data={"csrf_token": token})
    assert response.status_code == 404
    assert not logged_in(client)

