"""An aiosmtpd server on loopback that keeps what it receives, and helpers to read it."""
import email

import pytest
from aiosmtpd.controller import Controller

import models
from tests.core_support import HeldPort


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 Message accepted"

    def to(self, address):
        return [m for rcpts, m in self.messages if address in rcpts]


@pytest.fixture
def smtp():
    """(SMTP URL, inbox) of a real SMTP server for this test."""
    inbox = Inbox()
    port = HeldPort()
    port.release()  # held until this moment, so no other worker took it meanwhile
    controller = Controller(inbox, hostname="127.0.0.1", port=int(port))
    controller.start()
    yield f"smtp://127.0.0.1:{controller.port}", inbox
    controller.stop()


def text_of(message):
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            return part.get_payload(decode=True).decode()
    return ""


def pdfs(message):
    """[(file name, bytes)] of the message's PDF attachments."""
    return [(part.get_filename(), part.get_payload(decode=True)) for part in message.walk()
            if part.get_content_type() == "application/pdf"]


def mails(word):
    """Who the stored e-mails whose subject holds `word` went to, sorted."""
    E = models.EmailMessage
    return sorted(m.to for m in E.select().where(E.subject.contains(word)))
