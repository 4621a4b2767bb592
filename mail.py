"""Outgoing e-mail: stored first, then delivered by SMTP or written to the outbox folder.

A message is a row before it is anything else, so a failed delivery is retried by
`portal run-due` with back-off instead of being lost.
"""
import datetime as dt
import email.errors
import json
import logging
import os
import smtplib
import ssl
from email.message import EmailMessage as MimeMessage
from email.utils import formataddr, make_msgid
from urllib.parse import unquote, urlparse

from peewee import DoesNotExist

import instance_files
import models

MAX_ATTEMPTS = 8
log = logging.getLogger("portal.mail")


def queue(to, subject, body_text, body_html="", attachments=()):
    """Store a message; attachments: [(kind, record id)] of PDFs pdf.attachment can make."""
    # Cut to the columns (PostgreSQL refuses longer text); a long client name is not a reason
    # to lose the message.
    return models.EmailMessage.create(
        to=to[:254], subject=subject[:255], body_text=body_text, body_html=body_html,
        attachments=json.dumps([[kind, int(record_id)] for kind, record_id in attachments])
        if attachments else "")


def render_attachments(message):
    """[(filename, PDF bytes)] for the row, made now from the records as they stand."""
    wanted = json.loads(message.attachments or "[]")
    if not wanted:
        return []
    import pdf  # WeasyPrint is heavy: loaded by the first message that needs it
    return [pdf.attachment(kind, record_id) for kind, record_id in wanted]


def to_mime(message, sender, attachments=()):
    mime = MimeMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Message-ID"] = make_msgid(domain="portal.local")
    mime.set_content(message.body_text)
    if message.body_html:
        mime.add_alternative(message.body_html, subtype="html")
    for filename, data in attachments:
        mime.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    return mime


def sender_address(config):
    company = models.Company.current()
    name = company.name if company else "Client Portal"
    address = (company.email if company and company.email else "") or config.get(
        "MAIL_FROM", "portal@localhost")
    return formataddr((name, address))


def send_smtp(url, mime, ca_file=None):
    """Deliver over smtp://, smtps:// (TLS from the first byte) or smtp+starttls://; a
    user and password in the URL log in. The server's certificate is verified against the
    system's CAs, or only against ca_file (PORTAL_SMTP_CA_FILE) when one is given:
    smtplib's own default checks nothing, which would hand the password to anyone between."""
    parts = urlparse(url)
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    tls = ssl.create_default_context(cafile=ca_file or None)
    if parts.scheme == "smtps":
        connection = smtplib.SMTP_SSL(parts.hostname, port, timeout=15, context=tls)
    else:
        connection = smtplib.SMTP(parts.hostname, port, timeout=15)
    with connection as smtp:
        if parts.scheme == "smtp+starttls":
            smtp.starttls(context=tls)
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(mime)


def write_outbox(path, message, mime):
    # Owner-only: a message holds live reset and invitation links.
    instance_files.private_dir(path)
    name = f"{message.created_at:%Y%m%dT%H%M%S}-{message.id:06d}.eml"
    tmp = os.path.join(path, "." + name)
    with instance_files.open_private(tmp) as f:
        f.write(mime.as_bytes())
    os.replace(tmp, os.path.join(path, name))


def deliver(message, config):
    """Try one message once; record the outcome on the row. Returns True when delivered.

    Never raises for one message's problem: it is sent from loops over many recipients and
    after a saved action (an approved quote, an e-mailed invoice), which must stand.
    """
    try:
        attachments = render_attachments(message)
    except DoesNotExist as exc:
        # The record was deleted since: the message cannot be made as it was meant.
        return _failed(message, exc, permanent=True)
    except Exception as exc:  # noqa: BLE001 - a PDF that failed to render may render later
        log.exception("e-mail %s: its attachment could not be made", message.id)
        return _failed(message, exc)
    try:
        mime = to_mime(message, sender_address(config), attachments)
    except (ValueError, TypeError, email.errors.MessageError) as exc:
        # The row itself cannot become a message (a line break in an address or subject,
        # e.g. legacy data): retrying cannot help, so it fails now, with the reason.
        return _failed(message, exc, permanent=True)
    try:
        if config.get("SMTP_URL"):
            send_smtp(config["SMTP_URL"], mime, config.get("SMTP_CA_FILE"))
        else:
            write_outbox(config["OUTBOX_PATH"], message, mime)
    except (OSError, smtplib.SMTPException) as exc:
        return _failed(message, exc)
    except Exception as exc:  # noqa: BLE001 - one odd message must not stop the others
        log.exception("e-mail %s could not be delivered", message.id)
        return _failed(message, exc)
    message.attempts += 1
    message.status, message.sent_at, message.last_error = "sent", models.utcnow(), ""
    message.save()
    return True


def _failed(message, exc, permanent=False):
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:500]
    delay = dt.timedelta(minutes=2 ** min(message.attempts, 10))
    message.next_attempt_at = models.utcnow() + delay
    message.status = "failed" if permanent or message.attempts >= MAX_ATTEMPTS else "queued"
    message.save()
    log.warning("e-mail %s to %r %s: %s", message.id, message.to,
                "failed" if message.status == "failed" else "will be retried",
                message.last_error)
    return False


def claim(message_id):
    """Take a queued message for this worker: several cron runs must not send it twice."""
    retry_at = models.utcnow() + dt.timedelta(minutes=5)
    E = models.EmailMessage
    taken = (E.update(next_attempt_at=retry_at)
             .where((E.id == message_id) & (E.status == "queued")
                    & (E.next_attempt_at <= models.utcnow()))
             .execute())
    return taken == 1


def deliver_due(config, limit=100):
    E = models.EmailMessage
    due = (E.select(E.id).where((E.status == "queued") & (E.next_attempt_at <= models.utcnow()))
           .order_by(E.id).limit(limit))
    sent = failed = 0
    # Read the ids before writing: an open read on SQLite pins a snapshot that another
    # writer makes stale, and the claim below would then fail with "database is locked".
    for (message_id,) in list(due.tuples()):
        if not claim(message_id):
            continue
        if deliver(E.get_by_id(message_id), config):
            sent += 1
        else:
            failed += 1
    return sent, failed


def send_now(messages, config):
    """Deliver just-queued messages after their transaction committed; failures stay queued."""
    for message in messages:
        if claim(message.id):
            deliver(models.EmailMessage.get_by_id(message.id), config)
