"""E-mailed links: /client/invoice/<key> (and quote, credit) log the contact in to one record."""
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

import models
from billing import DomainError, accounts, unless_busy
from billing.invoices import mark_viewed
from extensions import limiter
from views import limits
from views.current import company
from views.sessions import start_contact_session
from views.tabs import tab_enabled

bp = Blueprint("invitations", __name__, url_prefix="/client")

TARGETS = {
    "invoice": ("invoices.show", "invoice", "invoices"),
    "quote": ("quotes.show", "quote", "quotes"),
    "credit": ("credits.show", "credit", "credits"),
}


def _open(kind, key):
    endpoint, field, module = TARGETS[kind]
    if not tab_enabled(module):
        abort(404)
    # find() answers only links whose record and contact the portal still shows.
    invitation = models.Invitation.find(key)
    record = getattr(invitation, field, None) if invitation else None
    if record is None:
        abort(404)
    contact = invitation.contact
    if current_user.is_authenticated and current_user.id == contact.id:
        # The same person, acting for another of their clients: the link is for their own.
        session.pop("client_id", None)
    elif current_user.is_authenticated and current_user.client_id != contact.client_id:
        # Someone signed in for another client: a link must not silently swap their session
        # into a different account (login CSRF), nor confirm that the record exists.
        abort(404)
    target = url_for(endpoint, public_id=record.public_id)
    already_in = current_user.is_authenticated and current_user.id == contact.id
    if not already_in and company().require_invitation_password:
        if request.method == "POST":
            try:
                accounts.authenticate(contact.email, request.form.get("password", "")[:200])
            except DomainError as exc:
                return render_template("auth/invitation_password.html", contact=contact,
                                       error=exc.message), 422
        else:
            return render_template("auth/invitation_password.html", contact=contact)
    if not already_in:
        # An e-mailed link stands in for the password, not for the second factor.
        from views.two_factor import second_step_or_none
        code_step = second_step_or_none("contact", contact, target, via_invitation=True)
        if code_step is not None:
            return code_step
        start_contact_session(contact, via_invitation=True)
    with unless_busy():
        models.Invitation.update(viewed_at=models.utcnow()).where(
            (models.Invitation.id == invitation.id)
            & models.Invitation.viewed_at.is_null()).execute()
        if kind == "invoice":
            mark_viewed(record, contact)
        else:
            models.Activity.log(f"{kind}.viewed", record, client=record.client_id,
                                contact=contact)
    if not already_in:
        flash(_("Welcome, %(name)s.", name=contact.name), "info")
    return redirect(target)


def _link_account():
    """Whose password an invitation link's form checks: the link's contact."""
    invitation = models.Invitation.find(request.view_args.get("key"))
    return invitation.contact.email if invitation else "unknown-link"


@bp.route("/invoice/<key>", methods=["GET", "POST"])
@limiter.limit("20 per minute")
@limits.contact_password_form(_link_account)
def invoice(key):
    return _open("invoice", key)


@bp.route("/quote/<key>", methods=["GET", "POST"])
@limiter.limit("20 per minute")
@limits.contact_password_form(_link_account)
def quote(key):
    return _open("quote", key)


@bp.route("/credit/<key>", methods=["GET", "POST"])
@limiter.limit("20 per minute")
@limits.contact_password_form(_link_account)
def credit(key):
    return _open("credit", key)
