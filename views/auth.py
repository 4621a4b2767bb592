"""Contact login, logout, forgotten password and (when enabled) registration."""
from urllib.parse import urlparse

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

import models
from billing import DomainError, accounts
from portal import limiter
from views import company, service_config

bp = Blueprint("auth", __name__, url_prefix="/client")


def _email_key():
    return "login:" + request.form.get("email", "")[:254].strip().lower()


def safe_next(target):
    """Only same-site paths: a login link must not bounce a contact to another site."""
    if not target or len(target) > 2000:
        return None
    # Browsers read "/\\evil.example" as "//evil.example" and drop tabs and newlines.
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlparse(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def start_session(contact, **extra):
    """Log a contact in with a fresh session, so nothing set before login carries over."""
    session.clear()
    login_user(contact)
    session.update(extra)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute;50 per hour", methods=["POST"])
@limiter.limit("5 per minute;20 per hour", methods=["POST"], key_func=_email_key)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("invoices.index"))
    error = None
    email = request.form.get("email", "")[:254]
    if request.method == "POST":
        try:
            contact = accounts.authenticate(email, request.form.get("password", "")[:200])
        except DomainError as exc:
            error = exc.message
        else:
            start_session(contact)
            models.Activity.log("contact.login", contact, client=contact.client_id,
                                contact=contact, ip=request.remote_addr or "")
            return redirect(safe_next(request.args.get("next")) or url_for("invoices.index"))
    status = 422 if error else 200
    return render_template("auth/login.html", error=error, email=email), status


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You have logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password/reset", methods=["GET", "POST"])
@limiter.limit("5 per minute;20 per hour", methods=["POST"])
# Per address too: many machines must not be able to flood one person's mailbox.
@limiter.limit("3 per 10 minutes;10 per day", methods=["POST"], key_func=_email_key)
def reset_request():
    if request.method == "POST":
        email = request.form.get("email", "")[:254]
        accounts.request_password_reset(email, service_config())
        # The same answer whether or not the address is known: it must not reveal accounts.
        return render_template("auth/reset_sent.html", email=email)
    return render_template("auth/reset_request.html")


@bp.route("/password/reset/<key>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset_confirm(key):
    reset = accounts.find_reset(key)
    if reset is None:
        return render_template("auth/reset_invalid.html"), 404
    if current_user.is_authenticated and current_user.client_id != reset.contact.client_id:
        # As for invitations: never swap a signed-in session into another client's account.
        abort(404)
    error = None
    if request.method == "POST":
        try:
            contact = accounts.reset_password(key, request.form.get("password", "")[:201],
                                              request.form.get("confirm", "")[:201])
        except DomainError as exc:
            error = exc.message
        else:
            start_session(contact)
            flash("Your password is changed.", "success")
            return redirect(url_for("invoices.index"))
    return render_template("auth/reset_confirm.html", key=key, error=error), (
        422 if error else 200)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
def register():
    if not company().registration_enabled:
        abort(404)
    error, form = None, request.form
    if request.method == "POST":
        try:
            contact = accounts.register(
                client_name=form.get("client_name", "")[:200],
                first_name=form.get("first_name", "")[:100],
                last_name=form.get("last_name", "")[:100],
                email=form.get("email", "")[:254], password=form.get("password", "")[:201],
                confirm=form.get("confirm", "")[:201])
        except DomainError as exc:
            error = exc.message
        else:
            start_session(contact)
            return redirect(url_for("invoices.index"))
    return render_template("auth/register.html", error=error, form=form), (
        422 if error else 200)
