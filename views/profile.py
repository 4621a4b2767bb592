"""The contact's own details, password, language and login e-mail, and (where the business
allows) their client's billing details."""
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

import i18n
import models
import views.current
from billing import DomainError, accounts, email_change, two_factor
from views import limits
from views.current import service_config
from views.sessions import renew_contact_login
from views.tabs import render_tab

bp = Blueprint("profile", __name__, url_prefix="/client")
BILLING_FIELDS = ("address", "shipping_address", "vat_number")


def _edits_billing():
    return models.Company.current().contacts_edit_billing_details


@bp.route("/profile", methods=["GET", "POST"])
@limits.contact_password_form(lambda: getattr(current_user, "email", ""),
                              only_when=lambda: bool(request.form.get("current_password")
                                                     or request.form.get("new_password")))
@login_required
def index():
    error = None
    if request.method == "POST":
        form = request.form
        contact = current_user._get_current_object()
        billing = ({field: form.get(field, "") for field in BILLING_FIELDS}
                   if _edits_billing() else None)
        try:
            accounts.update_profile(
                contact, first_name=form.get("first_name", ""),
                last_name=form.get("last_name", ""), phone=form.get("phone", ""),
                current_password=form.get("current_password", ""),
                new_password=form.get("new_password", ""), confirm=form.get("confirm", ""),
                billing=billing, locale=form.get("locale"))
        except DomainError as exc:
            error = exc
        else:
            if form.get("new_password"):
                # The new password signed out every session; keep this one.
                renew_contact_login(contact)
            # Said in the language just chosen: the next page speaks it.
            g.pop("user_locale", None)
            with i18n.using(views.current.user_locale()):
                flash(_("Your details are saved."), "success")
            return redirect(url_for("profile.index"), 303)
    return _page(error=error)


def _page(error=None, email_error=None):
    return render_tab("profile.html", error=error, email_error=email_error,
                      edits_billing=_edits_billing(),
                      two_factor_on=two_factor.is_enabled(current_user._get_current_object()),
                      status_code=422 if error or email_error else 200)


@bp.post("/profile/email")
@limits.contact_password_form(lambda: getattr(current_user, "email", ""),
                              per_ip=limits.RESET_PER_IP, per_account=limits.RESET_PER_ACCOUNT)
@login_required
def change_email():
    """Ask for a new login address: nothing changes until the link sent there is followed."""
    contact = current_user._get_current_object()
    try:
        email_change.request_change(contact, request.form.get("new_email", ""),
                                    request.form.get("email_password", ""), service_config())
    except DomainError as exc:
        return _page(email_error=exc)
    flash(_("We sent a link to %(email)s: follow it to confirm the new address. Until then "
            "you log in with the current one.", email=request.form.get("new_email", "").strip()),
          "success")
    return redirect(url_for("profile.index"), 303)


@bp.route("/profile/email/<key>", methods=["GET", "POST"])
@limits.password_form(lambda: request.view_args.get("key", ""))
def confirm_email(key):
    """GET shows a button, POST confirms: a mail scanner fetching the link must not use it."""
    link = accounts.find_reset(key, purpose=email_change.PURPOSE)
    if link is None:
        return render_template("auth/email_change_invalid.html",
                               message=_(email_change.LINK_DEAD)), 404
    if current_user.is_authenticated and current_user.id != link.contact_id:
        abort(404)  # a signed-in session never acts on another account
    if request.method == "POST":
        try:
            contact = email_change.confirm(key, service_config())
        except DomainError as exc:
            return render_template("auth/email_change_invalid.html", message=exc.message), 404
        flash(_("Your login e-mail address is now %(email)s.", email=contact.email), "success")
        if current_user.is_authenticated and current_user.id == contact.id:
            return redirect(url_for("profile.index"), 303)
        return redirect(url_for("auth.login"), 303)
    return render_template("auth/email_change_confirm.html")
