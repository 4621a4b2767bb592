"""E-mails the business sends: built from templates, queued in the caller's transaction."""
from flask import render_template

import mail
import models


def invoice_email(invoice, contact, config):
    company = models.Company.current()
    key = models.Invitation.issue(contact, company.invitation_ttl_days, invoice=invoice)
    link = f"{config['BASE_URL']}/client/invoice/{key}"
    context = {"invoice": invoice, "contact": contact, "company": company, "link": link}
    return mail.queue(
        contact.email, f"Invoice {invoice.number} from {company.name}",
        render_template("email/invoice.txt", **context),
        render_template("email/invoice.html", **context))


def password_reset_email(contact, key, config, ttl_minutes):
    company = models.Company.current()
    link = f"{config['BASE_URL']}/client/password/reset/{key}"
    context = {"contact": contact, "company": company, "link": link,
               "ttl_minutes": ttl_minutes}
    return mail.queue(contact.email, f"Reset your {company.name} portal password",
                      render_template("email/password_reset.txt", **context))
