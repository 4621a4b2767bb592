"""A contact changes their login e-mail: a link to the new address confirms it, and the old
address is told (so a stolen session cannot quietly take the account). Until the link is
followed nothing changes: the contact still logs in with the old address."""
import datetime as dt

from flask import render_template

import i18n
import mail
import models
from billing import DomainError, accounts, transaction, validation
from i18n import N_
from i18n import gettext as _

TTL_HOURS = 24
PURPOSE = "email"
LINK_DEAD = N_("This confirmation link has expired or was already used. Ask for a new one "
               "from your details page.")
TAKEN = N_("That address now belongs to another account, so it cannot be used.")


def request_change(contact, new_email, current_password, config):
    """Check the password and the address, then e-mail the confirmation link and the notice.

    Returns the messages sent. An address that already has an account gets no link, and the
    answer is the same (an account's existence is never confirmed to whoever asks)."""
    new_email = validation.email_address(new_email, "new_email", N_("New e-mail address"),
                                         N_("Enter your new e-mail address."))
    if not contact.check_password((current_password or "")[:200]):
        raise DomainError(_("Your current password is not right."), "email_password")
    if new_email == contact.email:
        raise DomainError(_("That is already your e-mail address."), "new_email")
    taken = models.Contact.select().where(models.Contact.email == new_email).exists()
    with transaction():
        # A newer request replaces any earlier one: only the last address asked for counts.
        _retire_links(contact.id)
        models.Contact.update(pending_email="" if taken else new_email).where(
            models.Contact.id == contact.id).execute()
        notice = _compose(contact, contact.email, "email/email_change_notice.txt",
                          N_("Your %(company)s portal e-mail address is being changed"), config,
                          new_email=new_email)
        models.Activity.log("contact.email_change_requested", contact,
                            client=contact.client_id, contact=contact, detail=new_email)
    mail.send_now([notice], config)
    if taken:
        return [notice]
    contact.pending_email = new_email
    link = accounts._email_password_link(
        contact, config, dt.timedelta(hours=TTL_HOURS),
        lambda key: _compose(contact, new_email, "email/email_change_verify.txt",
                             N_("Confirm your new e-mail address for %(company)s portal"), config,
                             new_email=new_email, path=f"/client/profile/email/{key}"),
        "contact.email_change_link", purpose=PURPOSE, contact=contact)
    return [notice, link]


def confirm(key, config):
    """Follow the link: the pending address becomes the login. Returns the contact; a
    DomainError when the link is dead or the address was taken meanwhile."""
    with transaction():
        link = accounts.find_reset(key, purpose=PURPOSE)
        if link is None:
            raise DomainError(_(LINK_DEAD))
        claimed = models.PasswordReset.update(used_at=models.utcnow()).where(
            (models.PasswordReset.id == link.id) & models.PasswordReset.used_at.is_null()
        ).execute()
        contact = models.Contact.get_by_id(link.contact_id)
        if claimed != 1 or not contact.pending_email:
            raise DomainError(_(LINK_DEAD))
        new_email, old_email = contact.pending_email, contact.email
        if models.Contact.select().where(models.Contact.email == new_email).exists():
            raise DomainError(_(TAKEN))
        models.Contact.update(email=new_email, pending_email="", email_verified=True).where(
            models.Contact.id == contact.id).execute()
        contact = models.Contact.get_by_id(contact.id)
        done = _compose(contact, old_email, "email/email_change_done.txt",
                        N_("Your %(company)s portal e-mail address was changed"), config,
                        new_email=new_email)
        models.Activity.log("contact.email_changed", contact, client=contact.client_id,
                            contact=contact, detail=f"{old_email} -> {new_email}")
    mail.send_now([done], config)
    return contact


def _retire_links(contact_id):
    PR = models.PasswordReset
    PR.update(used_at=models.utcnow()).where(
        (PR.contact == contact_id) & (PR.purpose == PURPOSE) & PR.used_at.is_null()).execute()


def _compose(contact, to, template, subject, config, *, new_email, path=""):
    company = models.Company.current()
    base = config.get("BASE_URL", "")
    context = {"contact": contact, "company": company, "new_email": new_email,
               "link": f"{base}{path}", "ttl_hours": TTL_HOURS}
    with i18n.for_contact(contact, company):
        return mail.queue(to, _(subject, company=company.name),
                          render_template(template, **context))
