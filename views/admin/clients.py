"""Back office: clients (list, page, create, edit, archive) and opening the portal as a contact.

Contacts have their own module (views/admin/contacts.py). Every change goes through
billing.clients, as the API's does.
"""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

import models
from billing import DomainError, admin_lists
from billing import clients as client_service
from views.admin import current_staff, staff_required
from views.admin.lists import list_page
from views.sessions import leave_impersonation, staff_session_fields, start_contact_session

bp = Blueprint("admin_clients", __name__, url_prefix="/admin")

FORM_FIELDS = client_service.CLIENT_FIELDS


def get_client(client_id):
    client = models.Client.get_or_none(models.Client.id == client_id)
    if client is None:
        abort(404)
    return client


@bp.get("/clients")
@staff_required
def index():
    return list_page("clients", "admin/clients.html", with_rows=lambda rows: {
        "contacts": admin_lists.contacts_of(c.id for c in rows)})


def _form_values(form):
    return {key: form.get(key, "")[:5000] for key in FORM_FIELDS}


def _client_form(client, error=None, values=None):
    """The create/edit form; 422 with the refused field marked when `error` is given."""
    if values is None:
        source = client or models.Client(currency=_company_currency())
        values = {key: getattr(source, key) or "" for key in FORM_FIELDS}
    errors = {(error.field or "form"): error.message} if error else {}
    return render_template("admin/client_form.html", client=client, values=values,
                           errors=errors), 422 if error else 200


def _company_currency():
    company = models.Company.current()
    return company.currency if company else "USD"


@bp.route("/clients/new", methods=["GET", "POST"])
@staff_required
def new():
    if request.method == "GET":
        return _client_form(None)
    values = _form_values(request.form)
    try:
        client = client_service.create_client(values, staff=current_staff())
    except DomainError as exc:
        return _client_form(None, exc, values)
    flash(f"Client {client.name} created. Add a contact so they can use the portal.",
          "success")
    return redirect(url_for("admin_clients.show", client_id=client.id), 303)


@bp.get("/clients/<int:client_id>")
@staff_required
def show(client_id):
    return client_page(get_client(client_id))


def client_page(client, access_error=None, access_email=""):
    """The client's page; with `access_error`, 422 and the access form showing it."""
    from billing.client_access import with_access
    contacts = list(client.contacts.order_by(models.Contact.is_primary.desc(),
                                             models.Contact.id))
    from views.admin.activity import activity_rows
    recent = activity_rows(models.Activity.select().where(
        models.Activity.client == client.id), limit=10)
    from billing.subscriptions import for_client as subscriptions_of
    from billing.two_factor import contacts_with_it
    return render_template("admin/client.html", client=client, contacts=contacts,
                           recent=recent, subscriptions=list(subscriptions_of(client.id)),
                           today=models.utcnow().date(),
                           two_factor_on=contacts_with_it(c.id for c in contacts),
                           with_access=with_access(client), access_email=access_email,
                           access_errors={"email": access_error} if access_error else {}
                           ), 422 if access_error else 200


@bp.route("/clients/<int:client_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(client_id):
    client = get_client(client_id)
    if request.method == "GET":
        return _client_form(client)
    values = _form_values(request.form)
    try:
        client_service.update_client(client, values, staff=current_staff())
    except DomainError as exc:
        return _client_form(get_client(client_id), exc, values)
    flash(f"Client {client.name} saved.", "success")
    return redirect(url_for("admin_clients.show", client_id=client.id), 303)


@bp.route("/clients/<int:client_id>/archive", methods=["GET", "POST"])
@staff_required
def archive(client_id):
    """GET asks for confirmation (works without JavaScript); POST archives."""
    client = get_client(client_id)
    if request.method == "GET":
        return render_template(
            "admin/confirm.html", title=f"Archive {client.name}?",
            action=url_for("admin_clients.archive", client_id=client.id),
            back=url_for("admin_clients.show", client_id=client.id), button="Archive client",
            message="The client leaves the lists and its portal closes: its contacts can no "
                    "longer log in and their e-mailed links stop working. Nothing is deleted; "
                    "you can unarchive it later.")
    client_service.archive_client(client, staff=current_staff())
    flash(f"Client {client.name} archived.", "success")
    return redirect(url_for("admin_clients.show", client_id=client.id), 303)


@bp.post("/clients/<int:client_id>/unarchive")
@staff_required
def unarchive(client_id):
    client = client_service.unarchive_client(get_client(client_id), staff=current_staff())
    flash(f"Client {client.name} is active again.", "success")
    return redirect(url_for("admin_clients.show", client_id=client.id), 303)


@bp.post("/contacts/<int:contact_id>/impersonate")
@staff_required
def impersonate(contact_id):
    """Open the portal as this contact; the session remembers who the staff member is."""
    contact = models.Contact.get_or_none(models.Contact.id == contact_id)
    # Only a contact who could log in: an archived client's portal is closed to staff too.
    if contact is None or not contact.may_sign_in:
        abort(404)
    staff = current_staff()
    models.Activity.log("staff.impersonation_started", contact, client=contact.client_id,
                        contact=contact, staff=staff, ip=request.remote_addr or "")
    # The staff session rides along: the portal view lasts only as long as it does.
    start_contact_session(contact, impersonator_id=staff.id, **staff_session_fields())
    flash(f"You are viewing the portal as {contact.name}.", "info")
    return redirect(url_for("invoices.index"), 303)


@bp.post("/impersonate/stop")
def stop_impersonating():
    return back_to_back_office()


def back_to_back_office():
    """End a staff member's portal view (also what the portal's Log out does in one)."""
    ended = leave_impersonation()
    if ended is None:
        return redirect(url_for("auth.login"), 303)
    staff_id, contact_id = ended
    models.Activity.log("staff.impersonation_ended", staff=staff_id, contact=contact_id)
    return redirect(url_for("admin_clients.index"), 303)
