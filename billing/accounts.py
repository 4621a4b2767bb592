"""Contact logins: authenticate, reset a forgotten password."""
import datetime as dt
import logging
import os
import queue
import secrets
import threading
import time

from werkzeug.security import check_password_hash, generate_password_hash

import i18n
import mail
import models
from billing import DomainError, notifications, transaction, validation
from i18n import N_
from i18n import gettext as _

RESET_TTL_MINUTES = 60
MIN_PASSWORD = 8
MAX_PASSWORD = 200
BAD_LOGIN = N_("That e-mail address and password don't match an account.")
UNVERIFIED = N_("Confirm your e-mail address first: follow the link in the e-mail we sent "
                "when you registered, or ask for a new one below.")
# Checked against when the e-mail is unknown, so both failures cost the same time.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(8))


def authenticate(email, password):
    contact = (models.Contact.select(models.Contact, models.Client).join(models.Client)
               .where(models.Contact.email == (email or "").strip().lower()).first())
    # A closed account (inactive, or its client archived) fails exactly as an unknown one.
    if contact is None or not contact.may_sign_in or not contact.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        raise DomainError(_(BAD_LOGIN))
    if not contact.check_password(password or ""):
        raise DomainError(_(BAD_LOGIN))
    # Only someone who knows the password learns that the account waits for confirmation.
    if not contact.email_verified:
        raise DomainError(_(UNVERIFIED), "unverified")
    models.Contact.update(last_login_at=models.utcnow()).where(
        models.Contact.id == contact.id).execute()
    return contact


WORKER_DELAY = 0.25  # seconds
_resets = queue.Queue()
_worker_lock = threading.Lock()
_worker = None


def queue_password_reset(app, email, config):
    """Hand a reset request to this process's worker and return at once.

    The request that asks does the same small work whether or not the address is a contact's
    (a real account used to cost three inserts and a delivery, an unknown one a single
    select: 16 ms against 5.6 ms, which told anyone which addresses have accounts). Looking
    the address up, storing the link and delivering the mail happen in the worker. A reset
    lost with the process is asked for again; a message that was stored and not delivered
    is retried by `portal run-due`."""
    queue_account_work(app, request_password_reset, email, config)


def queue_account_work(app, job, *args):
    """Run job(*args) in this process's account worker, after the asking request answered:
    whatever must not show in a response's timing whether an address has an account
    (resets, registrations, new confirmation links)."""
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="account-mail", daemon=True)
            _worker.start()
    _resets.put((time.monotonic() + WORKER_DELAY, app, job, args))


def _forget_parents_worker():
    # A forked child (a pre-forking server, mutmut's test runs) keeps none of the parent's
    # threads but a copy of its queue: a job the parent's worker held at the fork would
    # never be marked done, and wait_for_queued_resets() would wait for it forever.
    global _resets, _worker_lock, _worker
    _resets, _worker_lock, _worker = queue.Queue(), threading.Lock(), None


os.register_at_fork(after_in_child=_forget_parents_worker)


def wait_for_queued_resets(timeout=10.0):
    """Block until every queued account job was handled (tests; a clean shutdown). A job
    takes well under a second: one still unhandled after `timeout` seconds raises
    TimeoutError, so a stuck worker fails the caller instead of stalling it for good."""
    queued = _resets  # as Queue.join() waits, with a deadline
    with queued.all_tasks_done:
        if not queued.all_tasks_done.wait_for(lambda: not queued.unfinished_tasks, timeout):
            raise TimeoutError(f"account jobs still unhandled after {timeout:g} s")


def _work():
    while True:
        due, app, job, args = _resets.get()
        # Start after the asking request has answered: work on the same interpreter while
        # it renders would slow that answer for real addresses only.
        time.sleep(max(0.0, due - time.monotonic()))
        try:
            with app.app_context():
                models.db.connect(reuse_if_open=True)
                try:
                    job(*args)
                finally:
                    models.db.close()
        except Exception:  # noqa: BLE001 - one failed request must not stop the worker
            logging.getLogger(__name__).exception("An account job (%s) failed.",
                                                  getattr(job, "__name__", job))
        finally:
            _resets.task_done()


def request_password_reset(email, config):
    """E-mail a single-use link when the address is a contact's; silent otherwise."""
    contact = models.Contact.get_or_none(models.Contact.email == (email or "").strip().lower())
    if contact is None or not contact.may_sign_in:
        return None
    return _email_password_link(
        contact, config, dt.timedelta(minutes=RESET_TTL_MINUTES),
        lambda key: notifications.password_reset_email(contact, key, config, RESET_TTL_MINUTES),
        "contact.password_reset_requested", contact=contact)


def _email_password_link(person, config, lifetime, compose, action, purpose="password",
                         **log):
    """Store a single-use link to choose a password (its key hashed), living `lifetime`, and
    e-mail it: a reset and an invitation are the same link in different words, and a
    registration's confirmation link is the same link for another purpose."""
    key = secrets.token_urlsafe(32)
    with transaction():
        models.PasswordReset.create(contact=person, token_hash=models.hash_token(key),
                                    expires_at=models.utcnow() + lifetime, purpose=purpose)
        message = compose(key)
        models.Activity.log(action, person, client=person.client_id, **log)
    mail.send_now([message], config)
    return message


def find_reset(key, purpose="password"):
    if not key or len(key) > 100:
        return None
    reset = models.PasswordReset.get_or_none(
        (models.PasswordReset.token_hash == models.hash_token(key))
        & (models.PasswordReset.purpose == purpose))
    if reset is None or reset.used_at is not None or reset.expires_at < models.utcnow():
        return None
    if not reset.contact.may_sign_in:  # a link mailed before the account was closed
        return None
    return reset


def validate_password(password, confirm):
    if len(password or "") < MIN_PASSWORD:
        raise DomainError(_("Choose a password of at least %(count)s characters.",
                            count=MIN_PASSWORD), "password")
    if len(password) > MAX_PASSWORD:
        raise DomainError(_("That password is too long."), "password")
    if password != confirm:
        raise DomainError(_("The two passwords are not the same."), "confirm")


def reset_password(key, password, confirm):
    validate_password(password, confirm)
    with transaction():
        reset = find_reset(key)
        if reset is None:
            raise DomainError(_("This reset link has expired or was already used. "
                                "Ask for a new one."))
        # Claim the link atomically: a second use of the same link changes nothing.
        claimed = models.PasswordReset.update(used_at=models.utcnow()).where(
            (models.PasswordReset.id == reset.id) & models.PasswordReset.used_at.is_null()
        ).execute()
        if claimed != 1:
            raise DomainError(_("This reset link was already used. Ask for a new one."))
        # Any other link still in the mailbox dies with this one.
        models.PasswordReset.update(used_at=models.utcnow()).where(
            (models.PasswordReset.contact == reset.contact_id)
            & models.PasswordReset.used_at.is_null()).execute()
        contact = reset.contact
        contact.set_password(password)
        contact.save()
        models.Activity.log("contact.password_reset", contact, client=contact.client_id,
                            contact=contact)
        if not contact.email_verified:
            # The link came to their mailbox: that confirms a self-registered address too.
            from billing import registration
            registration.mark_verified(contact)
    return contact


def update_profile(contact, *, first_name, last_name, phone, current_password="",
                   new_password="", confirm="", locale=None, billing=None):
    """Save the contact's own details; `billing` ({address, shipping_address, vat_number})
    also saves their client's, which only a business that allows it lets contacts edit.
    locale: "" (automatic) or one of i18n.LANGUAGES; None leaves the choice as it is."""
    if locale is not None and locale not in ("", *i18n.LANGUAGES):
        raise DomainError(_("Choose a language from the list."), "locale")
    first_name = validation.single_line(first_name, "First name", "first_name", 100)
    if not first_name:
        raise DomainError(_("Enter your first name."), "first_name")
    last_name = validation.single_line(last_name, "Last name", "last_name", 100)
    phone = validation.single_line(phone, "Phone", "phone", 50)
    client_fields = _billing_details(billing) if billing is not None else None
    if client_fields is not None and not models.Company.current().contacts_edit_billing_details:
        raise DomainError(_("Your billing details can only be changed by us: reply to one of "
                            "our e-mails."), "address")
    with transaction():
        contact.first_name, contact.last_name, contact.phone = (
            first_name.strip(), last_name.strip(), phone.strip())
        if locale is not None:
            contact.locale = locale
        if new_password:
            # No password is longer, and hashing whatever was typed would cost without end.
            if (len(current_password) > MAX_PASSWORD
                    or not contact.check_password(current_password)):
                raise DomainError(_("Your current password is not right."), "current_password")
            validate_password(new_password, confirm)
            contact.set_password(new_password)
        contact.save()
        if client_fields is not None:
            models.Client.update(**client_fields).where(
                models.Client.id == contact.client_id).execute()
            models.Activity.log("client.details_changed", contact.client, contact=contact,
                                client=contact.client_id)
    return contact


def _billing_details(billing):
    return {"address": validation.multi_line(billing.get("address", ""), N_("Billing address"),
                                             "address", 1000),
            "shipping_address": validation.multi_line(billing.get("shipping_address", ""),
                                                      N_("Shipping address"), "shipping_address",
                                                      1000),
            "vat_number": validation.single_line(billing.get("vat_number", ""), N_("VAT number"),
                                                 "vat_number", 50)}


def revoke_links(contact, staff=None, *, log=True):
    """Every e-mailed link of this contact stops working (invitations to records, password
    and set-password links) and every session of theirs ends. Returns how many links died."""
    now = models.utcnow()
    with transaction():
        invitations = models.Invitation.update(expires_at=now).where(
            (models.Invitation.contact == contact.id) & (models.Invitation.expires_at > now)
        ).execute()
        resets = models.PasswordReset.update(used_at=now).where(
            (models.PasswordReset.contact == contact.id)
            & models.PasswordReset.used_at.is_null()).execute()
        contact.end_sessions()
        if log:
            models.Activity.log("contact.links_revoked", contact, client=contact.client_id,
                                staff=staff, detail=f"{invitations + resets} links")
    return invitations + resets


def deactivate_contact(contact, staff=None):
    """The contact can no longer log in; their links and sessions die now and stay dead
    when they are reactivated (send a fresh invitation then)."""
    with transaction():
        models.Contact.update(is_active=False).where(models.Contact.id == contact.id).execute()
        contact.is_active = False
        revoke_links(contact, log=False)
        models.Activity.log("contact.deactivated", contact, client=contact.client_id,
                            staff=staff)
    return contact


def reactivate_contact(contact, staff=None):
    with transaction():
        models.Contact.update(is_active=True).where(models.Contact.id == contact.id).execute()
        contact.is_active = True
        models.Activity.log("contact.reactivated", contact, client=contact.client_id,
                            staff=staff)
    return contact


def invite_contact(contact, config, staff=None):
    """E-mail the contact a fresh link to choose a password and log in. It lives as long as
    the company's invitation links; links sent before stay valid until used or revoked."""
    if not contact.is_active:
        raise DomainError(_("Reactivate this contact before inviting them."))
    if contact.client.archived_at is not None:
        raise DomainError(_("This client is archived: unarchive it before inviting a contact."))
    company = models.Company.current()
    ttl_days = max(1, company.invitation_ttl_days or 1)
    return _email_password_link(
        contact, config, dt.timedelta(days=ttl_days),
        lambda key: notifications.contact_invitation_email(contact, key, config, ttl_days),
        "contact.invited", staff=staff)
