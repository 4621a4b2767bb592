"""Contact login, logout, forgotten password and (when enabled) registration."""
from urllib.parse import urlparse

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user

import i18n
import models
from billing import DomainError, FieldErrors, accounts, company_settings, registration
from views import limits
from views.current import company, service_config
from views.sessions import end_contact_session, start_contact_session

bp = Blueprint("auth", __name__, url_prefix="/client")


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


LOGIN_OFF = lazy_gettext("Logging in with a password is switched off for this portal. Open it "
                         "from the link in the latest e-mail you received from us.")


def _login_off(status_code):
    """The login page with no form: password logins, resets and registration are closed
    (billing.company_settings.save_portal_access); e-mailed links still open the portal."""
    return render_template("auth/login.html", login_off=LOGIN_OFF, error=None,
                           email=""), status_code


def _reset_account():
    reset = accounts.find_reset(request.view_args.get("key"))
    return reset.contact.email if reset else "unknown-reset-link"


@bp.after_app_request
def remember_language(response):
    """Keep a visitor's ?lang= pick (the login page's language links) for their next pages."""
    picked = request.args.get("lang")
    if picked in i18n.LANGUAGES and request.cookies.get(i18n.COOKIE) != picked:
        response.set_cookie(i18n.COOKIE, picked, max_age=365 * 24 * 3600, httponly=True,
                            samesite="Lax", secure=request.is_secure)
    return response


@bp.route("/login", methods=["GET", "POST"])
@limits.contact_password_form(limits.posted_email)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("invoices.index"))
    if not company().portal_login_enabled:
        return _login_off(403 if request.method == "POST" else 200)
    error = unverified = None
    email = request.form.get("email", "")[:254]
    if request.method == "POST":
        try:
            contact = accounts.authenticate(email, request.form.get("password", "")[:200])
        except DomainError as exc:
            error, unverified = exc.message, exc.field == "unverified"
        else:
            from views.two_factor import second_step_or_none
            code_step = second_step_or_none("contact", contact, request.args.get("next"))
            if code_step is not None:
                return code_step
            start_contact_session(contact)
            models.Activity.log("contact.login", contact, client=contact.client_id,
                                contact=contact, ip=request.remote_addr or "")
            return redirect(safe_next(request.args.get("next")) or url_for("invoices.index"))
    status = 422 if error else 200
    return render_template("auth/login.html", error=error, email=email,
                           unverified=unverified), status


@bp.post("/logout")
def logout():
    if "impersonator_id" in session:
        # Staff viewing the portal as a contact: end that view only, back to the back office.
        from views.admin.clients import back_to_back_office
        return back_to_back_office()
    end_contact_session(current_user._get_current_object()
                        if current_user.is_authenticated else None)
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password/reset", methods=["GET", "POST"])
@limits.password_form(limits.posted_email, per_ip=limits.RESET_PER_IP,
                      per_account=limits.RESET_PER_ACCOUNT)
def reset_request():
    if not company().portal_login_enabled:
        return _login_off(404)
    if request.method == "POST":
        email = request.form.get("email", "")[:254]
        # The same answer, and the same work in this request, whether or not the address is
        # known: neither the page nor its timing may reveal accounts.
        accounts.queue_password_reset(current_app._get_current_object(), email,
                                      service_config())
        return render_template("auth/reset_sent.html", email=email)
    return render_template("auth/reset_request.html")


@bp.route("/password/reset/<key>", methods=["GET", "POST"])
@limits.password_form(_reset_account)
def reset_confirm(key):
    if not company().portal_login_enabled:
        return _login_off(404)
    reset = accounts.find_reset(key)
    if reset is None:
        return render_template("auth/reset_invalid.html"), 404
    if (current_user.is_authenticated and current_user.id != reset.contact_id
            and current_user.client_id != reset.contact.client_id):
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
            # A new password is no second factor: with two-factor on, the code is still asked.
            from views.two_factor import second_step_or_none
            code_step = second_step_or_none("contact", contact)
            if code_step is None:
                start_contact_session(contact)
            flash(_("Your password is changed."), "success")
            return code_step or redirect(url_for("invoices.index"))
    return render_template("auth/reset_confirm.html", key=key, error=error), (
        422 if error else 200)


@bp.route("/register", methods=["GET", "POST"])
@limits.password_form(limits.posted_email, per_ip=limits.REGISTER_PER_IP,
                      per_account=limits.REGISTER_PER_ACCOUNT)
def register():
    if not company_settings.registration_open(company()):
        abort(404)
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            email = registration.register(
                current_app._get_current_object(), company(),
                {name: form.get(name, "")[:limit + 1]
                 for name, limit in REGISTRATION_INPUTS.items()}, service_config())
        except FieldErrors as exc:
            errors = exc.errors
        else:
            # The same page, status and work whether or not the address had an account.
            return render_template("auth/register_sent.html", email=email)
    return render_template("auth/register.html", errors=errors, form=form,
                           fields=company_settings.REGISTRATION_FIELDS,
                           rules=company_settings.registration_rules(company())), (
        422 if errors else 200)


REGISTRATION_INPUTS = {"client_name": 200, "first_name": 100, "last_name": 100, "phone": 50,
                       "address": 1000, "vat_number": 50, "email": 253, "password": 200,
                       "confirm": 200}


def _portal_login_or_404():
    if not company().portal_login_enabled:
        abort(404)


@bp.route("/register/verify/<key>", methods=["GET", "POST"])
@limits.password_form(lambda: request.view_args.get("key", ""))
def verify_email(key):
    """GET shows a button, POST confirms: a mail scanner that fetches the link must not use
    it up (nor be the one logged in)."""
    _portal_login_or_404()
    link = registration.find_link(key)
    if link is None:
        return render_template("auth/verify_invalid.html"), 404
    if (current_user.is_authenticated and current_user.id != link.contact_id
            and current_user.client_id != link.contact.client_id):
        # As for resets: never swap a signed-in session into another client's account.
        abort(404)
    if request.method == "POST":
        try:
            contact = registration.verify(key, service_config())
        except DomainError:
            return render_template("auth/verify_invalid.html"), 404
        from views.two_factor import second_step_or_none
        code_step = second_step_or_none("contact", contact)
        if code_step is not None:
            return code_step
        start_contact_session(contact)
        models.Activity.log("contact.login", contact, client=contact.client_id,
                            contact=contact, ip=request.remote_addr or "")
        flash(_("Your e-mail address is confirmed. Welcome!"), "success")
        return redirect(url_for("invoices.index"), 303)
    return render_template("auth/verify_confirm.html", key=key)


@bp.route("/register/resend", methods=["GET", "POST"])
@limits.password_form(limits.posted_email, per_ip=limits.RESET_PER_IP,
                      per_account=limits.RESET_PER_ACCOUNT)
def resend_verification():
    _portal_login_or_404()
    if request.method == "POST":
        email = request.form.get("email", "")[:254]
        accounts.queue_account_work(current_app._get_current_object(), registration.resend,
                                    email, service_config())
        return render_template("auth/verify_resent.html", email=email)
    return render_template("auth/verify_resend.html",
                           email=request.args.get("email", "")[:254])
