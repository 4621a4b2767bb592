"""A minimal staff back office: log in, invoices and their lifecycle, the outbox."""
import functools
from urllib.parse import urlparse

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

import models
from billing import DomainError
from billing import invoices as invoice_service
from views import limits
from views.admin.lists import list_page
from views.auth import safe_next
from views.current import service_config
from views.sessions import end_staff_session, staff_from_session, start_staff_session

bp = Blueprint("admin", __name__, url_prefix="/admin")
# views.tabs.render_tab(template, shell=SHELL): the back-office page around a fragment.
SHELL = "admin/page.html"


def current_staff():
    if "staff" not in g:
        g.staff = staff_from_session()
    return g.staff


def staff_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_staff() is None:
            if request.headers.get("HX-Request") == "true":
                # A login form swapped into the page would be wrong: send the browser there.
                # Back to the page it showed (not the fragment's URL) after logging in.
                shown = urlparse(request.headers.get("HX-Current-URL", ""))
                response = make_response("", 401)
                response.headers["HX-Redirect"] = url_for(
                    "admin.login", next=shown.path) if shown.netloc == request.host \
                    else url_for("admin.login")
                return response
            return redirect(url_for("admin.login", next=request.path))
        return view(*args, **kwargs)
    return wrapper


@bp.route("/login", methods=["GET", "POST"])
@limits.password_form(limits.posted_email, shared_as="staff-password")
def login():
    error = None
    if request.method == "POST":
        email = request.form.get("email", "")[:254].strip().lower()
        user = models.StaffUser.get_or_none(models.StaffUser.email == email)
        if user and user.is_active and user.check_password(request.form.get("password", "")[:200]):
            from views.two_factor import second_step_or_none
            code_step = second_step_or_none("staff", user, request.args.get("next"))
            if code_step is not None:
                return code_step
            start_staff_session(user)
            models.Activity.log("staff.login", user, staff=user, ip=request.remote_addr or "")
            return redirect(safe_next(request.args.get("next")) or url_for("admin.invoices"))
        error = "That e-mail address and password don't match a staff account."
    return render_template("admin/login.html", error=error), 422 if error else 200


@bp.post("/logout")
def logout():
    end_staff_session(current_staff())
    return redirect(url_for("admin.login"))


@bp.get("/")
@staff_required
def home():
    return redirect(url_for("admin.invoices"))


@bp.get("/invoices")
@staff_required
def invoices():
    return list_page("invoices", "admin/invoices.html")


ACTIONS = {
    "email": (lambda inv, staff: invoice_service.email_invoice(inv, service_config(), staff=staff),
              "Invoice {} e-mailed and marked sent."),
    "mark_sent": (lambda inv, staff: invoice_service.mark_sent(inv, staff=staff),
                  "Invoice {} marked sent."),
    "mark_paid": (lambda inv, staff: invoice_service.mark_paid(inv, staff=staff),
                  "Invoice {} marked paid."),
    "cancel": (lambda inv, staff: invoice_service.cancel(inv, staff=staff),
               "Invoice {} cancelled."),
    "archive": (lambda inv, staff: invoice_service.archive(inv, staff=staff),
                "Invoice {} archived."),
}
INVOICE_CONFIRM = {"cancel": "Cancel invoice {}? The client will no longer owe it.",
                   "archive": "Archive invoice {}? It leaves every list."}


def run_action(model, record_id, action, actions, back_to, confirm=None):
    """One back-office button: call the service, flash its outcome, go back to the list.

    A destructive action (in `confirm`) posted without confirmed=1 answers a page asking
    first: that is the confirmation without JavaScript (portal.js sets the flag after the
    browser's own dialog)."""
    if action not in actions:
        abort(404)
    record = model.get_or_none(model.id == record_id)
    if record is None:
        abort(404)
    if confirm and action in confirm and request.form.get("confirmed") != "1":
        return render_template("admin/confirm.html", message=confirm[action].format(
            record.number), next=request.form.get("next", ""), action=request.path)
    run, message = actions[action]
    try:
        run(record, current_staff())
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(message.format(record.number), "success")
    return redirect(safe_next(request.form.get("next")) or url_for(back_to), 303)


@bp.post("/invoices/<int:invoice_id>/<action>")
@staff_required
def invoice_action(invoice_id, action):
    return run_action(models.Invoice, invoice_id, action, ACTIONS, "admin.invoices",
                      confirm=INVOICE_CONFIRM)


@bp.get("/outbox")
@staff_required
def outbox():
    return list_page("outbox", "admin/outbox.html", smtp=bool(current_app.config["SMTP_URL"]))


@bp.get("/outbox/<int:message_id>")
@staff_required
def outbox_message(message_id):
    message = models.EmailMessage.get_or_none(models.EmailMessage.id == message_id)
    if message is None:
        abort(404)
    return render_template("admin/outbox_message.html", message=message)
