"""Invoice lifecycle through the staff back office and the services; invitation links."""
import datetime as dt
import re

import pytest

import models
from billing import DomainError, payments
from billing import invoices as invoice_service
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import alert, login_staff, opened, snapshot

TODAY = models.utcnow().date()
LINK_RE = re.compile(r"http://portal\.test(/client/invoice/([A-Za-z0-9_-]+))")


@pytest.fixture
def shop(app):
    """Client S with two contacts and a draft, a sent and a cancelled invoice; a staff user."""
    with opened(app):
        s = factories.client(name="Shop Ltd")
        c1 = factories.contact(s, email="c1@shop.example", first_name="Cleo")
        c2 = factories.contact(s, email="c2@shop.example", first_name="Cyd")
        factories.contact(s, email="gone@shop.example", is_active=False)
        due = TODAY + dt.timedelta(days=30)
        draft = factories.invoice(s, status="draft", due_date=due)
        sent = factories.invoice(s, status="draft", due_date=due,
                                 lines=[{"product": "A", "unit_cost": 25000}])
        invoice_service.mark_sent(sent)
        cancelled = factories.invoice(s, status="draft", due_date=due)
        invoice_service.mark_sent(cancelled)
        invoice_service.cancel(cancelled)
        staff = factories.staff(email="boss@shop.example")
    return {"client": s, "c1": c1, "c2": c2, "draft": draft, "sent": sent,
            "cancelled": cancelled, "staff": staff}


@pytest.fixture
def admin(app, shop):
    client = app.test_client()
    response = login_staff(client, "boss@shop.example")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/invoices")
    return client


def act(admin, invoice, action):
    token = csrf_token(admin, "/admin/invoices")
    response = admin.post(f"/admin/invoices/{invoice.id}/{action}",
                          data={"csrf_token": token, "next": "/admin/invoices?status="})
    assert response.status_code == 303
    return admin.get(response.headers["Location"]).get_data(as_text=True)


def fresh(record):
    return type(record).get_by_id(record.id)


def consistent(client_):
    """Client.balance and paid_to_date agree with the invoices and allocations."""
    client_ = fresh(client_)
    owed = sum(i.balance for i in client_.invoices
               if i.status not in ("draft", "cancelled", "void"))
    paid = sum(a.amount for p in client_.payments for a in p.allocations)
    assert (client_.balance, client_.paid_to_date) == (owed, paid)
    return client_


def test_back_office_needs_a_staff_login(app, client, auth, shop):
    assert client.get("/admin/invoices").status_code == 302
    auth.login("c1@shop.example")
    assert client.get("/admin/invoices").status_code == 302  # a contact is not staff
    bad = login_staff(app.test_client(), "boss@shop.example", "wrong-password")
    assert bad.status_code == 422 and "don&#39;t match a staff account" in alert(bad)


def test_staff_list_shows_actions_per_state(admin, shop):
    html = admin.get("/admin/invoices").get_data(as_text=True)
    for inv in (shop["draft"], shop["sent"], shop["cancelled"]):
        assert inv.number in html
    assert f"/admin/invoices/{shop['draft'].id}/mark_sent" in html
    assert f"/admin/invoices/{shop['sent'].id}/mark_sent" not in html
    assert f"/admin/invoices/{shop['cancelled'].id}/mark_paid" not in html
    drafts = admin.get("/admin/invoices?status=draft").get_data(as_text=True)
    assert shop["draft"].number in drafts and shop["sent"].number not in drafts


def test_email_invoice_sends_to_every_contact_and_marks_sent(app, admin, shop):
    html = act(admin, shop["draft"], "email")
    assert f"Invoice {shop['draft'].number} e-mailed and marked sent." in html
    with opened(app):
        invoice = fresh(shop["draft"])
        assert invoice.status == "sent" and invoice.sent_at is not None
        messages = list(models.EmailMessage.select().order_by(models.EmailMessage.to))
        assert [m.to for m in messages] == ["c1@shop.example", "c2@shop.example"]
        keys = {LINK_RE.search(m.body_text).group(2) for m in messages}
        assert len(keys) == 2  # a personal link each
        for m in messages:
            assert invoice.number in m.subject and m.status == "sent"
            assert LINK_RE.search(m.body_html).group(1) in m.body_html
        invitations = list(models.Invitation.select())
        assert {i.contact.email for i in invitations} == {"c1@shop.example", "c2@shop.example"}
        assert all(i.invoice_id == invoice.id for i in invitations)
        consistent(shop["client"])


def test_mark_sent_makes_it_visible_as_unpaid(app, admin, auth, client, shop):
    auth.login("c1@shop.example")
    assert shop["draft"].number not in client.get("/client/invoices").get_data(as_text=True)
    html = act(admin, shop["draft"], "mark_sent")
    assert f"Invoice {shop['draft'].number} marked sent." in html
    unpaid = client.get("/client/invoices?status=unpaid").get_data(as_text=True)
    assert shop["draft"].number in unpaid
    row = unpaid[unpaid.index(shop["draft"].number):]
    assert re.match(r'.*?<span class="status status-sent">Unpaid</span>', row, re.S)
    with opened(app):
        assert models.EmailMessage.select().count() == 0
        assert fresh(shop["draft"]).status == "sent"
        client_ = consistent(shop["client"])
        assert client_.balance == fresh(shop["draft"]).total + fresh(shop["sent"]).total


def test_mark_paid_records_a_payment_for_the_balance(app, admin, shop):
    with opened(app):
        inv = fresh(shop["sent"])
        payments.record_payment(inv.client, 5000, "USD", [(inv, 5000)], method="cash")
        assert fresh(inv).status == "partial"
    html = act(admin, shop["sent"], "mark_paid")
    assert f"Invoice {shop['sent'].number} marked paid." in html
    with opened(app):
        inv = fresh(shop["sent"])
        assert (inv.status, inv.balance) == ("paid", 0)
        payment = models.Payment.select().order_by(models.Payment.id.desc()).first()
        assert payment.amount == inv.total - 5000 and payment.status == "completed"
        assert [(a.invoice_id, a.amount) for a in payment.allocations] == [(inv.id, 20000)]
        client_ = consistent(shop["client"])
        assert client_.paid_to_date == inv.total


def test_a_marked_paid_payment_reads_as_recorded_to_the_client(app, admin, shop, client,
                                                                auth):
    act(admin, shop["sent"], "mark_paid")
    auth.login("c1@shop.example")
    with opened(app):
        payment = models.Payment.get(models.Payment.method == "manual")
        assert payment.method_label == "Marked paid"  # the staff's note stays on the record
    for path in ("/client/payments", f"/client/payments/{payment.public_id}"):
        html = client.get(path).get_data(as_text=True)
        assert "Payment recorded" in html and "Marked paid" not in html, path


@pytest.mark.parametrize("method,label,shown", [
    ("card", "Visa •••• 4242", "Visa •••• 4242"), ("bank_transfer", "", "Bank transfer"),
    ("manual", "Marked paid", "Payment recorded"), ("wire_x", "", "Wire x")])
def test_method_names_a_client_reads(method, label, shown):
    assert models.Payment(method=method, method_label=label).method_name == shown


def test_mark_paid_on_a_draft_sends_and_pays(app, admin, shop):
    act(admin, shop["draft"], "mark_paid")
    with opened(app):
        assert fresh(shop["draft"]).status == "paid"
        consistent(shop["client"])


@pytest.mark.parametrize("which,action,message", [
    ("cancelled", "mark_paid", "is cancelled: it cannot be marked paid."),
    ("cancelled", "email", "A cancelled invoice cannot be e-mailed."),
    ("cancelled", "mark_sent", "A cancelled invoice cannot be sent."),
    ("paid", "mark_paid", "is already paid."),
])
def test_refused_actions_say_why_and_change_nothing(app, admin, shop, which, action, message):
    invoice = shop["cancelled"]
    if which == "paid":
        with opened(app):
            invoice_service.mark_paid(shop["sent"])
        invoice = shop["sent"]
    with opened(app):
        before = snapshot()
    html = act(admin, invoice, action)
    assert message in html and 'flash-error' in html
    with opened(app):
        assert snapshot() == before
        consistent(shop["client"])


def test_unknown_action_or_invoice_is_404(admin, shop):
    token = csrf_token(admin, "/admin/invoices")
    assert admin.post(f"/admin/invoices/{shop['sent'].id}/delete",
                      data={"csrf_token": token}).status_code == 404
    assert admin.post("/admin/invoices/999999/mark_paid",
                      data={"csrf_token": token}).status_code == 404


def test_services_refuse_with_domain_errors(app, shop):
    with opened(app):
        with pytest.raises(DomainError):
            invoice_service.cancel(shop["cancelled"])
        lonely = factories.client(name="No Contacts")
        inv = factories.invoice(lonely, status="draft")
        with pytest.raises(DomainError, match="no contact"):
            invoice_service.email_invoice(inv, {**app.config})
        assert fresh(inv).status == "draft"


# ------------------------------------------------------------------ invitation links

def emailed_keys(app, invoice):
    with opened(app):
        invoice_service.email_invoice(fresh(invoice), dict(app.config))
        return {m.to: LINK_RE.search(m.body_text).group(2)
                for m in models.EmailMessage.select()}


def session_email(client):
    with client.session_transaction() as session:
        user_id = session.get("_user_id")
    if not user_id:
        return None
    with opened(client.application):
        return models.Contact.get_by_id(int(user_id.split(":")[0])).email


def test_invitation_logs_the_contact_in_and_records_the_view(app, client, shop):
    keys = emailed_keys(app, shop["sent"])
    response = client.get(f"/client/invoice/{keys['c2@shop.example']}")
    target = f"/client/invoices/{shop['sent'].public_id}"
    assert response.status_code == 302 and response.headers["Location"] == target
    assert session_email(client) == "c2@shop.example"
    page = client.get(target).get_data(as_text=True)
    assert shop["sent"].number in page and "Welcome, Cyd" in page
    client.get(f"/client/invoice/{keys['c2@shop.example']}")  # a second visit
    with opened(app):
        assert fresh(shop["sent"]).viewed_at is not None
        views = models.Activity.select().where(models.Activity.action == "invoice.viewed")
        assert [(a.contact.email, a.subject_id) for a in views] == [
            ("c2@shop.example", shop["sent"].id)]
        invitation = models.Invitation.get(models.Invitation.key_hash == models.hash_token(
            keys["c2@shop.example"]))
        assert invitation.viewed_at is not None


def test_invitation_of_a_colleague_switches_within_the_client(app, client, auth, shop):
    keys = emailed_keys(app, shop["sent"])
    auth.login("c1@shop.example")
    assert client.get(f"/client/invoice/{keys['c2@shop.example']}").status_code == 302
    assert session_email(client) == "c2@shop.example"


def test_invitation_password_when_the_business_requires_it(app, client, shop):
    keys = emailed_keys(app, shop["sent"])
    with opened(app):
        factories.company(require_invitation_password=True)
    link = f"/client/invoice/{keys['c1@shop.example']}"
    form = client.get(link)
    assert form.status_code == 200 and "Enter your password" in form.get_data(as_text=True)
    assert session_email(client) is None
    token = csrf_token(client, link)
    wrong = client.post(link, data={"password": "wrong-password", "csrf_token": token})
    assert wrong.status_code == 422 and "don&#39;t match" in alert(wrong)
    assert session_email(client) is None
    assert client.get("/client/invoices").status_code == 302
    with opened(app):
        assert fresh(shop["sent"]).viewed_at is None
    right = client.post(link, data={"password": factories.PASSWORD, "csrf_token": token})
    assert right.status_code == 302
    assert right.headers["Location"] == f"/client/invoices/{shop['sent'].public_id}"
    assert session_email(client) == "c1@shop.example"
    # Signed in as that contact, the link no longer asks.
    assert client.get(link).status_code == 302


def test_bad_invitation_keys_are_404(app, client, shop):
    keys = emailed_keys(app, shop["sent"])
    key = keys["c1@shop.example"]
    tampered = key[:-1] + ("a" if key[-1] != "a" else "b")
    with opened(app):
        draft_key = models.Invitation.issue(shop["c1"], 30, invoice=shop["draft"])
        inactive = models.Contact.get(models.Contact.email == "gone@shop.example")
        inactive_key = models.Invitation.issue(inactive, 30, invoice=fresh(shop["sent"]))
        expired_key = models.Invitation.issue(shop["c2"], 30, invoice=fresh(shop["sent"]))
        models.Invitation.update(expires_at=models.utcnow() - dt.timedelta(seconds=1)).where(
            models.Invitation.key_hash == models.hash_token(expired_key)).execute()
    for bad in (tampered, key + "x" * 200, key[:20], expired_key, draft_key, inactive_key,
                "%00", "..%2F"):
        response = client.get(f"/client/invoice/{bad}")
        assert response.status_code == 404, bad
        assert session_email(client) is None
    with opened(app):
        assert fresh(shop["sent"]).viewed_at is None
        assert fresh(shop["draft"]).viewed_at is None


def test_numbers_are_gap_free_even_when_a_create_fails(app, shop):
    with opened(app):
        first = invoice_service.create_invoice(shop["client"], [{"unit_cost": 100}])
        with pytest.raises(DomainError, match="deposit"):
            invoice_service.create_invoice(shop["client"], [{"unit_cost": 100}], partial=500)
        with pytest.raises(DomainError):
            invoice_service.create_invoice(shop["client"], [{"quantity": "x"}])
        second = invoice_service.create_invoice(shop["client"], [{"unit_cost": 100}])
        prefix, n = first.number.split("-")
        assert second.number == f"{prefix}-{int(n) + 1:05d}"
        assert models.Invoice.select().where(models.Invoice.total == 100).count() == 2
