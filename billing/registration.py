"""Self-registration (when the business turns it on): a new client and its first contact,
who must confirm their e-mail address before they can log in.

The answer to a registration never says whether the address already has an account: the
request only checks what was typed and hashes the password (the costly part, for every
address alike), then hands the rest to the account worker (billing.accounts), which either
creates the account and e-mails a confirmation link, or e-mails the address's owner that
someone tried to register with it.
"""
import datetime as dt

from flask import render_template
from peewee import IntegrityError
from werkzeug.security import generate_password_hash

import i18n
import mail
import models
from billing import DomainError, FieldErrors, accounts, transaction, validation
from billing.company_settings import registration_rules
from i18n import N_
from i18n import gettext as _

VERIFY_TTL_HOURS = 24
LINK_DEAD = N_("This confirmation link has expired or was already used. Ask for a new one.")

MISSING = {
    "client_name": N_("Enter your company or your name."),
    "first_name": N_("Enter your first name."),
    "last_name": N_("Enter your last name."),
    "phone": N_("Enter your phone number."),
    "address": N_("Enter your address."),
    "vat_number": N_("Enter your VAT or tax number."),
}


def check(company, form):
    """What a registration form holds, cleaned and checked against the business's field
    rules: {field: value} plus email and password, or FieldErrors naming every bad field."""
    rules = registration_rules(company)
    readers = {
        "client_name": lambda v: validation.single_line(v, "Your company or name",
                                                        "client_name"),
        "first_name": lambda v: validation.single_line(v, "First name", "first_name", 100),
        "last_name": lambda v: validation.single_line(v, "Last name", "last_name", 100),
        "phone": lambda v: validation.single_line(v, "Phone", "phone", 50),
        "address": lambda v: validation.multi_line(v, "Address", "address", 1000),
        "vat_number": lambda v: validation.single_line(v, "VAT or tax number", "vat_number",
                                                       50),
        "email": lambda v: validation.email_address(v, "email"),
    }
    given, errors = {}, {}
    for field, read in readers.items():
        if rules.get(field) == "hidden":
            given[field] = ""  # a field the business does not ask is ignored, whatever came
            continue
        try:
            given[field] = (read(form.get(field, "")) or "").strip()
        except DomainError as exc:
            errors[exc.field] = exc.message
            continue
        if rules.get(field) == "required" and not given[field]:
            errors[field] = _(MISSING[field])
    try:
        accounts.validate_password(form.get("password", ""), form.get("confirm", ""))
    except DomainError as exc:
        errors[exc.field] = exc.message
    if errors:
        raise FieldErrors(errors)
    given["password"] = form.get("password", "")
    return given


def register(app, company, form, config):
    """Check the form (FieldErrors on bad input, nothing stored) and queue the rest.

    Returns the cleaned e-mail address. Both outcomes cost this request the same: the
    password is hashed here whether or not the address has an account."""
    details = check(company, form)
    password_hash = generate_password_hash(details.pop("password"))
    accounts.queue_account_work(app, finish, details, password_hash, config)
    return details["email"]


def finish(details, password_hash, config):
    """The worker's half: a new unconfirmed account and its confirmation link, or a notice
    to the owner of an address that already has one."""
    try:
        return _create(details, password_hash, config)
    except IntegrityError:  # the address has an account (maybe made a moment ago elsewhere)
        existing = models.Contact.get(models.Contact.email == details["email"])
    return _notify_owner(existing, config)


def _create(details, password_hash, config):
    company = models.Company.current()
    email = details["email"]
    name = (details["client_name"] or f"{details['first_name']} {details['last_name']}".strip()
            or email)[:200]
    with transaction():
        client = models.Client.create(name=name, email=email, address=details["address"],
                                      vat_number=details["vat_number"],
                                      currency=company.currency)
        contact = models.Contact.create(
            client=client, first_name=details["first_name"], last_name=details["last_name"],
            phone=details["phone"], email=email, is_primary=True, email_verified=False,
            password_hash=password_hash)
    _email_confirmation(contact, config, "contact.registered")
    return contact


def _email_confirmation(contact, config, action):
    return accounts._email_password_link(
        contact, config, dt.timedelta(hours=VERIFY_TTL_HOURS),
        lambda key: _compose(contact, "email/registration_verify.txt",
                             N_("Confirm your e-mail address for %(company)s portal"),
                             config, f"/client/register/verify/{key}"),
        action, purpose="verify", contact=contact)


def _compose(contact, template, subject, config, path=""):
    company = models.Company.current()
    base = config.get("BASE_URL", "")
    context = {"contact": contact, "company": company, "link": f"{base}{path}",
               "login_link": f"{base}/client/login",
               "reset_link": f"{base}/client/password/reset",
               "ttl_hours": VERIFY_TTL_HOURS}
    with i18n.for_contact(contact, company):
        return mail.queue(contact.email, _(subject, company=company.name),
                          render_template(template, **context))


def _notify_owner(contact, config):
    """Someone registered with an address that has an account: tell its owner, nobody else.
    An account still waiting for confirmation gets a link to choose the password instead
    (not the one just typed: whoever registered first may not own the mailbox)."""
    if not contact.may_sign_in:
        return None
    if not contact.email_verified:
        return accounts._email_password_link(
            contact, config, dt.timedelta(hours=VERIFY_TTL_HOURS),
            lambda key: _compose(contact, "email/registration_pending.txt",
                                 N_("Your %(company)s portal account"), config,
                                 f"/client/password/reset/{key}"),
            "contact.registration_repeated", contact=contact)
    with transaction():
        message = _compose(contact, "email/registration_exists.txt",
                           N_("Someone tried to register with your address at %(company)s"), config)
        models.Activity.log("contact.registration_repeated", contact,
                            client=contact.client_id, contact=contact)
    mail.send_now([message], config)
    return message


def resend(email, config):
    """A new confirmation link when the address has an account waiting for one; silent
    otherwise (the worker runs it: the asking request answers the same for any address)."""
    contact = models.Contact.get_or_none(models.Contact.email == (email or "").strip().lower())
    if contact is None or contact.email_verified or not contact.may_sign_in:
        return None
    return _email_confirmation(contact, config, "contact.verification_resent")


def find_link(key):
    """The live confirmation link for an e-mailed key, or None."""
    return accounts.find_reset(key, purpose="verify")


def verify(key, config):
    """Follow a confirmation link: the address is confirmed, the link and any other
    confirmation link of this contact die, staff hear of the new client. Returns the contact
    to log in; DomainError when the link is unknown, expired or already used."""
    with transaction():
        link = find_link(key)
        if link is None:
            raise DomainError(_(LINK_DEAD))
        # Claim it atomically: two clicks on one link confirm (and log in) once.
        now = models.utcnow()
        claimed = models.PasswordReset.update(used_at=now).where(
            (models.PasswordReset.id == link.id) & models.PasswordReset.used_at.is_null()
        ).execute()
        if claimed != 1:
            raise DomainError(_(LINK_DEAD))
        models.PasswordReset.update(used_at=now).where(
            (models.PasswordReset.contact == link.contact_id)
            & (models.PasswordReset.purpose == "verify")
            & models.PasswordReset.used_at.is_null()).execute()
        contact = link.contact
        messages = [] if contact.email_verified else mark_verified(contact)
    mail.send_now(messages, config)
    return contact


def mark_verified(contact):
    """Inside the caller's transaction: the contact's address is confirmed; staff are told
    (an activity row, and an e-mail to the business address when it has one). Returns the
    queued messages for the caller to send once committed."""
    models.Contact.update(email_verified=True).where(models.Contact.id == contact.id).execute()
    contact.email_verified = True
    models.Activity.log("client.registered", contact.client, client=contact.client_id,
                        contact=contact)
    company = models.Company.current()
    if not company.email:
        return []
    context = {"contact": contact, "client": contact.client, "company": company}
    return [mail.queue(company.email, f"New client registered: {contact.client.name}",
                       render_template("email/registration_staff.txt", **context))]
