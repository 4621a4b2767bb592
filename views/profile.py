"""The contact's own details and password."""
from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required

from billing import DomainError, accounts, two_factor
from views import limits
from views.sessions import renew_contact_login
from views.tabs import render_tab

bp = Blueprint("profile", __name__, url_prefix="/client")


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
        try:
            accounts.update_profile(
                contact, first_name=form.get("first_name", ""),
                last_name=form.get("last_name", ""), phone=form.get("phone", ""),
                current_password=form.get("current_password", ""),
                new_password=form.get("new_password", ""), confirm=form.get("confirm", ""))
        except DomainError as exc:
            error = exc
        else:
            if form.get("new_password"):
                # The new password signed out every session; keep this one.
                renew_contact_login(contact)
            flash("Your details are saved.", "success")
            return redirect(url_for("profile.index"), 303)
    return render_tab("profile.html", error=error, status_code=422 if error else 200,
                      two_factor_on=two_factor.is_enabled(current_user._get_current_object()))
