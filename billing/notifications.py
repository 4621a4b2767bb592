"""E-mails the business sends: built from templates, queued in the caller's transaction."""
from flask import render_template

import i18n
import mail
import models
from i18n import gettext as _


def recipients(client):
    """The client's contacts that e-mails about its records go to: those with an address
    who may sign in (a deactivated contact or an archived client's get nothing)."""
    return [c for c in client.contacts if c.email and c.may_sign_in]


def invitation_email(kind, record, contact, config, *, template=None, subject=None,
                     **extra):
    """A document ("invoice" or "quote") sent to one contact with a personal link.

    template and subject let another e-mail about the document (a reminder) share the link,
    logo and attachment; the PDF rides along when the business attaches PDFs.
    """
    company = models.Company.current()
    key = models.Invitation.issue(contact, company.invitation_ttl_days, **{kind: record})
    link = f"{config.get('BASE_URL', '')}/client/{kind}/{key}"
    # Mail clients fetch images from the public address, never the request's Host.
    logo = (f"{config.get('BASE_URL', '')}/client/logo?v={company.logo_file}"
            if company.logo_file else "")
    context = {kind: record, "contact": contact, "company": company, "link": link,
               "logo_link": logo, **extra}
    template = template or f"email/{kind}"
    attachments = [(kind, record.id)] if company.attach_pdf_to_emails else []
    with i18n.for_contact(contact, company):
        if not subject:
            subject = (_("Invoice %(number)s from %(company)s", number=record.number,
                         company=company.name) if kind == "invoice"
                       else _("Quote %(number)s from %(company)s", number=record.number,
                              company=company.name))
        return mail.queue(
            contact.email, subject, render_template(f"{template}.txt", **context),
            render_template(f"{template}.html", **context), attachments=attachments)


def invoice_email(invoice, contact, config):
    return invitation_email("invoice", invoice, contact, config)


def password_reset_email(contact, key, config, ttl_minutes):
    company = models.Company.current()
    link = f"{config['BASE_URL']}/client/password/reset/{key}"
    context = {"contact": contact, "company": company, "link": link,
               "ttl_minutes": ttl_minutes}
    with i18n.for_contact(contact, company):
        return mail.queue(contact.email,
                          _("Reset your %(company)s portal password", company=company.name),
                          render_template("email/password_reset.txt", **context))


def contact_invitation_email(contact, key, config, ttl_days):
    """An invitation to the portal: a single-use link to choose a password."""
    company = models.Company.current()
    link = f"{config['BASE_URL']}/client/password/reset/{key}"
    context = {"contact": contact, "company": company, "link": link, "ttl_days": ttl_days}
    with i18n.for_contact(contact, company):
        return mail.queue(contact.email,
                          _("Your %(company)s client portal login", company=company.name),
                          render_template("email/contact_invitation.txt", **context))


def prepayment_failed_emails(schedule, message, paused):
    """A scheduled pre-payment was not taken: the contact and the business both hear of it."""
    from billing.schedule import FREQUENCIES
    company = models.Company.current()
    context = {"schedule": schedule, "company": company, "message": message,
               "paused": paused, "frequency": FREQUENCIES.get(schedule.frequency, "")}
    sent = []
    contact = schedule.contact
    if contact is not None and contact.email:
        with i18n.for_contact(contact, company):
            sent.append(mail.queue(
                contact.email, _("Your pre-payment to %(company)s failed", company=company.name),
                render_template("email/prepayment_failed.txt", audience="contact", **context)))
    if company.email:
        sent.append(mail.queue(company.email,
                               f"Pre-payment failed: {schedule.client.name}",
                               render_template("email/prepayment_failed.txt",
                                               audience="business", **context)))
    return sent


def subscription_cancellation_email(subscription, reason="", comment="", *, undone=False):
    """Tell the business a client cancelled a subscription (or took the cancellation back),
    at the company's address; nothing when the business gave none."""
    company = models.Company.current()
    if company is None or not company.email:
        return None
    client = subscription.client
    plan = subscription.plan
    subject = (f"Cancellation withdrawn: {client.name}, {plan.name}" if undone
               else f"Subscription cancelled: {client.name}, {plan.name}")
    context = {"subscription": subscription, "client": client, "plan": plan,
               "company": company, "reason": reason, "comment": comment, "undone": undone}
    return mail.queue(company.email, subject,
                      render_template("email/subscription_cancellation.txt", **context))
