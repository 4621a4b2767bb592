"""Receipts: an e-mail with the receipt PDF for each completed payment.

queue() is called inside the transaction that completes the payment, by the code path that
actually completed it (checkout.finalize, a credit-only payment, a staff-recorded payment
when the staff member asks for one). A second, concurrent finalize finds the payment already
completed and queues nothing, so each payment is receipted once; and a rolled-back
completion rolls its receipt back with it.
"""
import logging

from flask import current_app, has_app_context, render_template

import i18n
import mail
import models
from billing import notifications
from i18n import gettext as _

log = logging.getLogger("portal.receipts")


def queue(payments, config=None):
    """Queue one receipt per recipient for payments completed together (a card payment and
    the credit it spent). Returns the queued messages: deliver() them after the commit."""
    payments = [p for p in payments if p is not None and p.status == "completed"]
    company = models.Company.current()
    if not payments or company is None or not company.send_receipts:
        return []
    if not has_app_context():
        # E-mails are made from the app's templates; the portal, webhooks and run-due all
        # run inside it, so only a bare script that completes a payment gets here.
        log.warning("no receipt for payment %s: completed outside the app", payments[0].id)
        return []
    config = config if config is not None else _config()
    client = models.Client.get_by_id(payments[0].client_id)
    first = payments[0]
    numbers = ", ".join(p.number for p in payments)
    base = config.get("BASE_URL", "")
    messages = []
    for contact in notifications.recipients(client):
        context = {"contact": contact, "company": company, "payments": payments,
                   "link": f"{base}/client/payments/{first.public_id}"}
        with i18n.for_contact(contact, company):
            messages.append(mail.queue(
                contact.email,
                _("Receipt %(numbers)s from %(company)s", numbers=numbers, company=company.name),
                render_template("email/receipt.txt", **context),
                render_template("email/receipt.html", **context),
                attachments=[("receipt", p.id) for p in payments]))
    return messages


def deliver(messages, config=None):
    """Try the queued receipts now; what fails stays queued for `portal run-due`."""
    if messages:
        mail.send_now(messages, config if config is not None else _config())


def _config():
    # Payments complete in a request, a webhook or run-due: all inside the app's context.
    return current_app.config if has_app_context() else {}
