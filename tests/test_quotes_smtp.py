"""Staff notices of an approval travel through a real SMTP server (aiosmtpd on loopback)."""

import pytest

import models
from billing import quotes as quote_service
from tests import factories
from tests.core_support import HeldPort, start_smtp_server
from tests.quotes_support import quote


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf8", "replace")))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = start_smtp_server(inbox, HeldPort())
    yield f"smtp://127.0.0.1:{controller.port}", inbox
    controller.stop()


def test_approval_and_decline_notices_reach_staff_over_smtp(db, smtp, tmp_path):
    url, inbox = smtp
    config = {"BASE_URL": "http://portal.test", "SMTP_URL": url,
              "OUTBOX_PATH": str(tmp_path / "unused")}
    client = factories.client(name="Delta AG")
    contact = factories.contact(client)
    approved, declined = quote(client), quote(client)
    invoice = quote_service.approve(contact, approved, "192.0.2.4", config=config)
    quote_service.decline(contact, declined, "Not this year", config=config)
    assert [to for to, _ in inbox.messages] == [["billing@test.example"]] * 2
    approval, refusal = (body for _, body in inbox.messages)
    assert f"Subject: Quote {approved.number} approved by Delta AG" in approval
    assert invoice.number in approval
    assert f"Subject: Quote {declined.number} declined by Delta AG" in refusal
    assert "Not this year" in refusal
    assert models.EmailMessage.select().where(models.EmailMessage.status == "sent").count() == 2
