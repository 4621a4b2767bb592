"""Mail against a real SMTP server (aiosmtpd on loopback), retries, and the outbox folder."""
import datetime as dt
import email
import os
import re

import pytest

import mail
import models
import portal
from billing import invoices as invoice_service
from tests import factories
from tests.conftest import make_app
from tests.core_support import HeldPort, login_staff, opened, start_smtp_server

LINK_RE = re.compile(r"http://portal\.test/client/invoice/[A-Za-z0-9_-]{40,}")


class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 Message accepted"


def start_smtp(port):
    inbox = Inbox()
    return start_smtp_server(inbox, port), inbox


def text_of(message):
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    return ""


def seed(app):
    with opened(app):
        c = factories.client(name="Mail Co")
        factories.contact(c, email="m1@mail.example")
        factories.contact(c, email="m2@mail.example")
        return factories.invoice(c, status="draft", due_date=models.utcnow().date())


@pytest.fixture
def smtp_port():
    port = HeldPort()
    yield port
    port.release()


def test_email_invoice_is_delivered_by_smtp(tmp_path, smtp_port):
    controller, inbox = start_smtp(smtp_port)
    try:
        app = make_app(tmp_path, SMTP_URL=f"smtp://127.0.0.1:{smtp_port}")
        invoice = seed(app)
        with opened(app):
            invoice_service.email_invoice(invoice, dict(app.config))
            rows = list(models.EmailMessage.select())
        assert [r.status for r in rows] == ["sent", "sent"]
        assert sorted(rcpt for rcpts, _ in inbox.messages for rcpt in rcpts) == [
            "m1@mail.example", "m2@mail.example"]
        for _, message in inbox.messages:
            assert message["Subject"] == f"Invoice {invoice.number} from Test Studio"
            assert "Test Studio" in message["From"]
            body = text_of(message)
            link = LINK_RE.search(body).group(0)
            # The link in the delivered body really opens the invoice.
            response = app.test_client().get(link.replace("http://portal.test", ""))
            assert response.status_code == 302
            assert response.headers["Location"] == f"/client/invoices/{invoice.public_id}"
        assert not os.path.exists(app.config["OUTBOX_PATH"])
    finally:
        controller.stop()


def test_smtp_down_keeps_the_message_and_run_due_delivers_it_once(tmp_path, smtp_port):
    app = make_app(tmp_path, SMTP_URL=f"smtp://127.0.0.1:{smtp_port}")
    invoice = seed(app)
    with opened(app):
        invoice_service.email_invoice(invoice, dict(app.config))
        rows = list(models.EmailMessage.select())
        assert models.Invoice.get_by_id(invoice.id).status == "sent"
    assert len(rows) == 2
    for row in rows:
        assert row.status == "queued" and row.attempts == 1
        assert "ConnectionRefusedError" in row.last_error
        assert row.next_attempt_at > models.utcnow()  # backs off before the next try
    runner = app.test_cli_runner()
    controller, inbox = start_smtp(smtp_port)
    try:
        early = runner.invoke(portal.cli, ["run-due"])
        assert early.exit_code == 0 and "e-mail: 0 delivered" in early.output
        with opened(app):
            models.EmailMessage.update(
                next_attempt_at=models.utcnow() - dt.timedelta(seconds=1)).execute()
        first = runner.invoke(portal.cli, ["run-due"])
        assert first.exit_code == 0, first.output
        assert "e-mail: 2 delivered, 0 to retry" in first.output
        second = runner.invoke(portal.cli, ["run-due"])
        assert "e-mail: 0 delivered, 0 to retry" in second.output
        assert len(inbox.messages) == 2
        with opened(app):
            rows = list(models.EmailMessage.select())
        assert all(r.status == "sent" and r.attempts == 2 and r.last_error == "" for r in rows)
    finally:
        controller.stop()


def test_two_overlapping_ticks_send_once(tmp_path, smtp_port):
    """A message claimed by one worker is not taken by another (cron on several machines)."""
    app = make_app(tmp_path, SMTP_URL=f"smtp://127.0.0.1:{smtp_port}")
    with opened(app):
        message = mail.queue("x@mail.example", "Hello", "Body")
        assert mail.claim(message.id) is True
        assert mail.claim(message.id) is False
        assert mail.deliver_due(app.config) == (0, 0)


def test_delivery_gives_up_after_max_attempts(tmp_path, smtp_port):
    app = make_app(tmp_path, SMTP_URL=f"smtp://127.0.0.1:{smtp_port}")
    with opened(app):
        message = mail.queue("x@mail.example", "Hello", "Body")
        for _ in range(mail.MAX_ATTEMPTS):
            mail.deliver(models.EmailMessage.get_by_id(message.id), app.config)
        message = models.EmailMessage.get_by_id(message.id)
        assert (message.status, message.attempts) == ("failed", mail.MAX_ATTEMPTS)
        assert mail.deliver_due(app.config) == (0, 0)


def test_without_smtp_mail_lands_in_the_outbox(app, shop_staff):
    invoice = seed(app)
    with opened(app):
        invoice_service.email_invoice(invoice, dict(app.config))
        rows = list(models.EmailMessage.select())
    assert [r.status for r in rows] == ["sent", "sent"]
    files = sorted(os.listdir(app.config["OUTBOX_PATH"]))
    assert len(files) == 2 and all(f.endswith(".eml") for f in files)
    with open(os.path.join(app.config["OUTBOX_PATH"], files[0]), "rb") as f:
        message = email.message_from_binary_file(f)
    assert message["To"] in ("m1@mail.example", "m2@mail.example")
    assert LINK_RE.search(text_of(message))
    staff = app.test_client()
    login_staff(staff, shop_staff)
    outbox = staff.get("/admin/outbox").get_data(as_text=True)
    assert "No SMTP server is configured" in outbox
    assert "m1@mail.example" in outbox and "m2@mail.example" in outbox
    shown = staff.get(f"/admin/outbox/{rows[0].id}").get_data(as_text=True)
    assert LINK_RE.search(shown)
    assert staff.get("/admin/outbox/999999").status_code == 404
    assert app.test_client().get("/admin/outbox").status_code == 302


@pytest.fixture
def shop_staff(app):
    with opened(app):
        return factories.staff(email="mailroom@test.example").email
