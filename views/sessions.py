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
