"""Two-factor sign-in pages, for contacts (/client/...) and staff (/admin/...) alike: the code
step of a login, and the settings page (set up, recovery codes, turn off).

One set of view functions serves both audiences; an Audience says what differs (who is
signed in, which page shell, where a finished login lands). The rules are billing.two_factor's.
"""
import functools
from dataclasses import dataclass

from flask import (
    Blueprint,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

import models
from billing import DomainError
from billing import two_factor as service
from i18n import gettext as _
from views import limits
from views.admin import current_staff, staff_required
from views.auth import safe_next
from views.current import company
from views.sessions import (
    begin_second_step,
    end_second_step,
    second_step,
    second_step_key,
    start_contact_session,
    start_staff_session,
)
from views.tabs import render_tab

bp = Blueprint("two_factor", __name__)


@bp.before_request
def staff_pages_speak_english():
    """The back office stays English (DESIGN.md §3), and this blueprint serves staff too:
    decided before anything asks for the locale (extensions.select_locale reads it)."""
    if request.path.startswith("/admin/"):
        g.user_locale = "en"


@dataclass(frozen=True)
class Audience:
    kind: str
    login_endpoint: str
    home_endpoint: str
    shell: str
    settings_endpoint: str


CONTACT = Audience("contact", "auth.login", "invoices.index", "page.html",
                   "two_factor.contact_settings")
STAFF = Audience("staff", "admin.login", "admin.invoices", "admin/page.html",
                 "two_factor.staff_settings")


# ---------------------------------------------------------------- the login's second step

def second_step_or_none(kind, account, next_url="", **extra):
    """After a right password: when the login has two-factor on, park it and answer the
    redirect to the code page; None when the caller should sign it in now."""
    if not service.is_enabled(account):
        return None
    begin_second_step(kind, account, safe_next(next_url) or "", **extra)
    audience = CONTACT if kind == "contact" else STAFF
    return redirect(url_for(f"two_factor.{audience.kind}_code"), 303)


def _sign_in(audience, account, extra):
    if audience is CONTACT:
        start_contact_session(account, **extra)
        models.Activity.log("contact.login", account, client=account.client_id,
                            contact=account, ip=request.remote_addr or "")
    else:
        start_staff_session(account)
        models.Activity.log("staff.login", account, staff=account, ip=request.remote_addr or "")


def _code_step(audience):
    pending = second_step(audience.kind)
    if pending is None:
        end_second_step()
        flash(_("Your sign-in took too long or has ended. Please log in again."), "info")
        return redirect(url_for(audience.login_endpoint), 303)
    account, next_url, extra = pending
    error = None
    if request.method == "POST":
        try:
            how = service.verify(account, request.form.get("code", "")[:40])
        except DomainError as exc:
            error = exc.message
        else:
            # A fresh session (start_*_session clears this one): its id rotates as a login's.
            _sign_in(audience, account, extra)
            if how == "recovery":
                left = service.remaining_recovery_codes(account)
                flash(_("You used a recovery code. Recovery codes left: %(left)s. Make new ones "
                        "on your two-factor sign-in page if you are running short.", left=left),
                      "info")
            return redirect(safe_next(next_url) or url_for(audience.home_endpoint), 303)
    response = make_response(render_template(
        "two_factor/code.html", audience=audience, error=error), 422 if error else 200)
    response.headers["Cache-Control"] = "no-store"
    return response


CODE_PER_IP = "10 per minute;50 per hour"
CODE_PER_ACCOUNT = "5 per minute;20 per hour"


def _code_limits(view):
    return limits.password_form(second_step_key, per_ip=CODE_PER_IP,
                                per_account=CODE_PER_ACCOUNT, shared_as="two-factor-code")(view)


@bp.route("/client/login/code", methods=["GET", "POST"])
@_code_limits
def contact_code():
    return _code_step(CONTACT)


@bp.route("/admin/login/code", methods=["GET", "POST"])
@_code_limits
def staff_code():
    return _code_step(STAFF)


# ---------------------------------------------------------------- required by the business

# What a contact who must set up two-factor first can still reach: that set-up, log out, and
# what the pages themselves load.
OPEN_WHILE_REQUIRED = {"two_factor.contact_settings", "two_factor.contact_start",
                       "two_factor.contact_confirm", "two_factor.contact_code", "auth.logout",
                       "auth.login", "brand_css", "company_logo", "static"}


@bp.before_app_request
def send_to_set_up():
    # The login comes first: loading it brings the company along (no query of its own).
    if (not request.path.startswith("/client/") or request.endpoint in OPEN_WHILE_REQUIRED
            or "impersonator_id" in session or not current_user.is_authenticated
            or not company().require_two_factor
            or not service.required_for(current_user._get_current_object(), company())):
        return None
    target = url_for(CONTACT.settings_endpoint)
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    flash(_("Please set up two-factor sign-in to continue: your account requires it."), "info")
    return redirect(target, 303)


# ---------------------------------------------------------------- the settings page

def _contact():
    return current_user._get_current_object()


def _account(audience):
    return _contact() if audience is CONTACT else current_staff()


def _settings_page(audience, *, error=None, status_code=200):
    account = _account(audience)
    enabled = service.enabled_row(account)
    pending = None if enabled else service.pending_row(account)
    context = {"audience": audience, "error": error, "enabled": enabled, "pending": pending,
               "required": service.required_for(account, company()),
               "remaining": service.remaining_recovery_codes(account) if enabled else 0,
               "read_only": audience is CONTACT and "impersonator_id" in session,
               "has_password": bool(account.password_hash)}
    if pending is not None:
        uri = service.provisioning_uri(pending, account, company().name)
        context.update(qr=service.qr_svg(uri, "QR code to scan with your authenticator app"),
                       secret=service.grouped_secret(pending.secret))
    response = render_tab("two_factor/settings.html", status_code, shell=audience.shell,
                          **context)
    # The secret and the QR code are on this page: keep it out of every cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _codes_page(audience, codes, turned_on):
    response = render_tab("two_factor/codes.html", shell=audience.shell, audience=audience,
                          codes=codes, turned_on=turned_on)
    response.headers["Cache-Control"] = "no-store"
    return response


def _changes(audience):
    """Decorate a POST that changes two-factor sign-in: staff viewing the portal as a
    contact may look, not change it (it is the contact's second factor, not theirs)."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if audience is CONTACT and "impersonator_id" in session:
                flash("Only the contact can change their two-factor sign-in.", "error")
                return redirect(url_for(audience.settings_endpoint), 303)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def _start(audience):
    try:
        service.start_enrolment(_account(audience))
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for(audience.settings_endpoint), 303)


def _confirm(audience):
    try:
        codes = service.confirm_enrolment(_account(audience),
                                          request.form.get("code", "")[:40])
    except DomainError as exc:
        return _settings_page(audience, error=exc, status_code=422)
    return _codes_page(audience, codes, True)


def _disable(audience):
    try:
        service.disable(_account(audience), password=request.form.get("password", "")[:201],
                        code=request.form.get("code", "")[:40])
    except DomainError as exc:
        return _settings_page(audience, error=exc, status_code=422)
    flash(_("Two-factor sign-in is off."), "success")
    return redirect(url_for(audience.settings_endpoint), 303)


def _regenerate(audience):
    try:
        codes = service.regenerate_recovery_codes(
            _account(audience), password=request.form.get("password", "")[:201],
            code=request.form.get("code", "")[:40])
    except DomainError as exc:
        return _settings_page(audience, error=exc, status_code=422)
    return _codes_page(audience, codes, False)


ACTIONS = {"start": _start, "confirm": _confirm, "disable": _disable,
           "recovery_codes": _regenerate}


def _is_guess():
    """A POST that checks a password or a code draws on the password budget."""
    return bool(request.form.get("password") or request.form.get("code"))


@bp.get("/client/profile/two-factor")
@login_required
def contact_settings():
    return _settings_page(CONTACT)


@bp.get("/admin/account")
@staff_required
def staff_settings():
    return _settings_page(STAFF)


@bp.route("/admin/contacts/<int:contact_id>/two-factor/reset", methods=["GET", "POST"])
@staff_required
def reset_contact(contact_id):
    """For a contact who lost their phone and their recovery codes. GET asks first."""
    from views.admin.contacts import get_contact
    contact = get_contact(contact_id)
    back = url_for("admin_clients.show", client_id=contact.client_id)
    if request.method == "GET":
        return render_template(
            "admin/confirm.html", title=f"Reset {contact.name}'s two-factor sign-in?",
            message=f"{contact.email} will log in with their password alone until they set "
                    "two-factor sign-in up again (at once, if your settings require it). Do "
                    "this only when you are sure who asked: it removes a lock on their account.",
            button="Reset two-factor sign-in",
            action=url_for("two_factor.reset_contact", contact_id=contact.id), back=back)
    if service.reset_by_staff(contact, current_staff()):
        # Sessions end too: whoever holds one may be the reason for the reset.
        contact.end_sessions()
        flash(f"Two-factor sign-in of {contact.name} is reset.", "success")
    else:
        flash(f"{contact.name} had no two-factor sign-in.", "info")
    return redirect(back, 303)


def _contact_action(run):
    @limits.contact_password_form(lambda: getattr(current_user, "email", ""),
                                  only_when=_is_guess)
    @login_required
    @_changes(CONTACT)
    def view():
        return run(CONTACT)
    return view


def _staff_action(run):
    @limits.password_form(lambda: getattr(current_staff(), "email", ""),
                          shared_as="staff-password", only_when=_is_guess)
    @staff_required
    def view():
        return run(STAFF)
    return view


# One fixed path per action (no <action> argument: every portal path argument is an id that
# the cross-client walk in tests/test_security.py checks).
for _name, _run in ACTIONS.items():
    _path = _name.replace("_", "-")
    bp.add_url_rule(f"/client/profile/two-factor/{_path}", f"contact_{_name}",
                    _contact_action(_run), methods=["POST"])
    bp.add_url_rule(f"/admin/account/two-factor/{_path}", f"staff_{_name}",
                    _staff_action(_run), methods=["POST"])
