"""E-mails about quotes: the contact's invitation, and staff notices of an answer.

Queued inside the caller's transaction; the caller delivers them after it commits.
"""
from flask import render_template

import mail
import models
from billing import notifications


def quote_email(quote, contact, config):
    return notifications.invitation_email("quote", quote, contact, config)


def _who(contact):
    return f"{contact.name} <{contact.email}>" if contact is not None else "Staff"


def staff_approved_email(company, contact, invoices, config):
    """One notice for everything approved together; none when the business has no address."""
    if not company.email or not invoices:
        return []
    quotes = [models.Quote.get(models.Quote.invoice == invoice) for invoice in invoices]
    client = invoices[0].client
    subject = (f"Quote {quotes[0].number} approved by {client.name}" if len(quotes) == 1
               else f"{len(quotes)} quotes approved by {client.name}")
    context = {"who": _who(contact), "client": client,
               "pairs": list(zip(quotes, invoices, strict=True)),
               "base_url": config.get("BASE_URL", "")}
    return [mail.queue(company.email, subject,
                       render_template("email/quote_approved_staff.txt", **context))]


def staff_declined_email(company, contact, quote, config):
    if not company.email:
        return []
    context = {"who": _who(contact), "client": quote.client, "quote": quote,
               "base_url": config.get("BASE_URL", "")}
    return [mail.queue(company.email, f"Quote {quote.number} declined by {quote.client.name}",
                       render_template("email/quote_declined_staff.txt", **context))]
