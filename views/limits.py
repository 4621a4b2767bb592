"""Rate limits of the forms that take a password (or send a reset link): each form per IP,
and per account, each per minute and per hour.

The per-account limits hold however many addresses an attacker spreads the guesses over; the
per-IP limits hold however many accounts one machine tries. A contact's password can be
checked by three forms (login, an invitation link's password, the profile's password change):
they draw on one budget per contact, so three forms do not triple the guesses.
"""
from flask import request
from flask_limiter.util import get_remote_address

from extensions import limiter

PER_IP = "10 per minute;50 per hour"
PER_ACCOUNT = "5 per minute;20 per hour"
# Asking for reset links sends mail: fewer, so nobody can flood a mailbox.
RESET_PER_IP = "5 per minute;20 per hour"
RESET_PER_ACCOUNT = "3 per minute;6 per hour;10 per day"
REGISTER_PER_IP = "5 per minute;20 per hour"
REGISTER_PER_ACCOUNT = "3 per minute;10 per hour"


def posted_email():
    return request.form.get("email", "")


def _account_key(account):
    def key():
        return "account:" + (account() or "").strip().lower()[:254]
    return key


def password_form(account, *, per_ip=PER_IP, per_account=PER_ACCOUNT, shared_as=None,
                  only_when=None):
    """Both limits of one form, counted on POST. `account` names the account the request is
    about (an e-mail address); `shared_as` names the budget several forms share; the limits
    apply only when `only_when()` is true (a profile save without a new password is no
    guess)."""
    exempt = (lambda: not only_when()) if only_when else None
    if shared_as:
        by_account = limiter.shared_limit(per_account, shared_as, key_func=_account_key(account),
                                          methods=["POST"], exempt_when=exempt)
    else:
        by_account = limiter.limit(per_account, key_func=_account_key(account),
                                   methods=["POST"], exempt_when=exempt)
    by_ip = limiter.limit(per_ip, key_func=get_remote_address, methods=["POST"],
                          exempt_when=exempt)

    def decorate(view):
        return by_ip(by_account(view))
    return decorate


def contact_password_form(account, **kw):
    """A form that checks a contact's password: their budget is shared by every such form."""
    return password_form(account, shared_as="contact-password", **kw)
