"""Sessions on the server's terms: who a session is, since when, and how it ends.

The session cookie is signed, so nobody can forge what it carries, but a copy of it stays
valid for as long as what it carries is. So every session also carries its owner's
`session_token`, checked against the database on each request: logout, a password change or a
deactivation changes or refuses it, and every copy of the cookie dies with it. Each session
also carries when it started, so it ends after a fixed lifetime however busy it is.
"""
import time

from flask import current_app, session
from flask_login import login_user, logout_user

import models


def _now():
    return int(time.time())


def _within(started, hours):
    return isinstance(started, int) and 0 <= _now() - started <= hours * 3600


def start_contact_session(contact, **extra):
    """Log a contact in with a fresh session, so nothing set before login carries over."""
    session.clear()
    login_user(contact)
    session["contact_since"] = _now()
    session.update(extra)


def renew_contact_login(contact):
    """Keep this session after the contact's token changed (their new password signed out
    every session). The rest of the session stays, CSRF token included: the page that sent
    the change keeps working, its Log out button too."""
    login_user(contact)


def contact_session_ok(contact):
    """Whether this request's session may act as `contact` (the user loader asks)."""
    if not _within(session.get("contact_since"), current_app.config["CONTACT_SESSION_HOURS"]):
        return False
    if "impersonator_id" in session:
        # Staff opened the portal as this contact: the staff session must still be good, so
        # a staff logout or deactivation also ends their portal view.
        return staff_from_session() is not None
    return True


def end_contact_session(contact):
    """Log out: the contact's token changes, so a copy of this cookie (or any other session
    of theirs) no longer logs anybody in."""
    if contact is not None:
        contact.end_sessions()
    logout_user()
    session.clear()


def start_staff_session(staff):
    session.clear()
    session.update(staff_id=staff.id, staff_token=staff.session_token, staff_since=_now())


def staff_session_fields():
    """What a staff session is made of, to carry it into (and back out of) impersonation."""
    return {key: session[key] for key in ("staff_id", "staff_token", "staff_since")
            if key in session}


def staff_from_session():
    """The staff member this session belongs to, or None when it ended or expired."""
    if not _within(session.get("staff_since"), current_app.config["STAFF_SESSION_HOURS"]):
        return None
    return models.StaffUser.for_session(session.get("staff_id"), session.get("staff_token"))


def end_staff_session(staff):
    if staff is not None:
        staff.end_sessions()
    session.clear()


# Between a right password and a right second-factor code: not a login yet, only a note of
# whose code the next form may take, bound to their session token (a password change or a
# logout elsewhere ends it) and short-lived.
SECOND_STEP_SECONDS = 300


def begin_second_step(kind, account, next_url="", **extra):
    """Park `account` (kind "contact" or "staff") until its code is entered. The session is
    cleared first, as a login clears it: whoever was signed in here is not any more."""
    session.clear()
    session["second_step"] = {"kind": kind, "id": account.id, "token": account.session_token,
                              "until": _now() + SECOND_STEP_SECONDS, "next": next_url or "",
                              "extra": extra}


def second_step(kind):
    """(account, next_url, extra) of the login parked in this session, or None when there is
    none of this kind or it expired or its owner's sessions were ended since."""
    pending = session.get("second_step")
    if not isinstance(pending, dict) or pending.get("kind") != kind:
        return None
    until, account_id = pending.get("until"), pending.get("id")
    if not isinstance(until, int) or until < _now() or not isinstance(account_id, int):
        return None
    if kind == "staff":
        account = models.StaffUser.for_session(account_id, pending.get("token"))
    else:
        account = models.Contact.with_client(account_id)
        if account is not None and (not account.may_sign_in
                                    or account.session_token != pending.get("token")):
            account = None
    if account is None:
        return None
    return account, pending.get("next") or "", dict(pending.get("extra") or {})


def second_step_key():
    """Whose code this request's form is about, for the per-account rate limit."""
    pending = session.get("second_step")
    if not isinstance(pending, dict):
        return ""
    return f"{pending.get('kind')}:{pending.get('id')}"


def end_second_step():
    session.pop("second_step", None)


def leave_impersonation():
    """Back to the back office: the contact view ends, the staff session goes on. The
    contact's token is left alone, so the contact's own sessions keep working.
    Returns (staff id, contact id) of the view that ended, or None if this was no such view."""
    staff_id = session.get("impersonator_id")
    contact_id = session.get("_user_id", "").partition(":")[0]
    staff = staff_session_fields()
    logout_user()
    session.clear()
    if staff_id is None:
        return None
    session.update(staff)
    return staff_id, int(contact_id) if contact_id.isdigit() else None


def activity_actor():
    """Who acts in this request, for the activity log (models.Activity.request_actor): an
    API token's owner, staff viewing the portal as a contact, or whoever the row names; and
    where from. Outside a request (the CLI, the scheduler, worker threads) nothing."""
    from flask import g, has_request_context, request
    if not has_request_context():
        return {}
    found = {"ip": (request.remote_addr or "")[:45]}
    if g.get("api_staff") is not None:
        found["actor"] = "api"
    elif session.get("impersonator_id"):
        found["actor"] = "staff_as_contact"
        contact_id = str(session.get("_user_id", "")).partition(":")[0]
        found["as_contact"] = int(contact_id) if contact_id.isdigit() else None
        found["staff"] = session["impersonator_id"]
    return found
