"""Back office: a client's contacts (portal logins): add, edit, deactivate, reactivate,
invite, revoke their links, and give contacts of other clients access to this one. The rules
are billing.clients', billing.accounts' and billing.client_access'."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

import models
from billing import DomainError, accounts, client_access
from billing import clients as client_service
from views.admin import current_staff, staff_required
from views.admin.clients import client_page, get_client
from views.current import service_config

bp = Blueprint("admin_contacts", __name__, url_prefix="/admin")

FORM_FIELDS = ("first_name", "last_name", "email", "phone")


def get_contact(contact_id):
    contact = models.Contact.get_or_none(models.Contact.id == contact_id)
    if contact is None:
        abort(404)
    return contact


def _values(form):
    values = {key: form.get(key, "")[:500] for key in FORM_FIELDS}
    values["is_primary"] = form.get("is_primary") == "1"
    return values


def _form(client, contact, values, error=None):
    errors = {(error.field or "form"): error.message} if error else {}
    return render_template("admin/contact_form.html", client=client, contact=contact,
                           values=values, errors=errors), 422 if error else 200


def _back(contact_or_client):
    client_id = getattr(contact_or_client, "client_id", None) or contact_or_client.id
    return redirect(url_for("admin_clients.show", client_id=client_id), 303)


@bp.route("/clients/<int:client_id>/contacts/new", methods=["GET", "POST"])
@staff_required
def new(client_id):
    client = get_client(client_id)
    if request.method == "GET":
        first = not client.contacts.exists()
        return _form(client, None, {"is_primary": first})
    values = _values(request.form)
    try:
        contact = client_service.add_contact(client, values, staff=current_staff())
    except DomainError as exc:
        return _form(client, None, values, exc)
    message = f"Contact {contact.name} added."
    if request.form.get("invite") == "1":
        try:
            accounts.invite_contact(contact, service_config(), staff=current_staff())
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            message = f"Contact {contact.name} added and invited by e-mail."
    flash(message, "success")
    return _back(client)


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(contact_id):
    contact = get_contact(contact_id)
    if request.method == "GET":
        values = {key: getattr(contact, key) for key in FORM_FIELDS}
        values["is_primary"] = contact.is_primary
        return _form(contact.client, contact, values)
    values = _values(request.form)
    try:
        client_service.update_contact(contact, values, staff=current_staff())
    except DomainError as exc:
        return _form(contact.client, get_contact(contact_id), values, exc)
    flash(f"Contact {contact.name} saved.", "success")
    return _back(contact)


def _confirm(contact, action, title, message, button):
    return render_template(
        "admin/confirm.html", title=title, message=message, button=button,
        action=url_for(f"admin_contacts.{action}", contact_id=contact.id),
        back=url_for("admin_clients.show", client_id=contact.client_id))


@bp.route("/contacts/<int:contact_id>/deactivate", methods=["GET", "POST"])
@staff_required
def deactivate(contact_id):
    """GET asks for confirmation (works without JavaScript); POST deactivates."""
    contact = get_contact(contact_id)
    if request.method == "GET":
        return _confirm(contact, "deactivate", f"Deactivate {contact.name}?",
                        f"{contact.email} can no longer log in: their open sessions end and "
                        "every link e-mailed to them stops working. You can reactivate them "
                        "later and send a new invitation.", "Deactivate contact")
    accounts.deactivate_contact(contact, staff=current_staff())
    flash(f"{contact.name} is deactivated.", "success")
    return _back(contact)


@bp.post("/contacts/<int:contact_id>/reactivate")
@staff_required
def reactivate(contact_id):
    contact = accounts.reactivate_contact(get_contact(contact_id), staff=current_staff())
    flash(f"{contact.name} can log in again. Links sent before stay dead: resend an "
          "invitation if they need one.", "success")
    return _back(contact)


@bp.post("/contacts/<int:contact_id>/invite")
@staff_required
def invite(contact_id):
    contact = get_contact(contact_id)
    try:
        accounts.invite_contact(contact, service_config(), staff=current_staff())
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Invitation e-mailed to {contact.email}.", "success")
    return _back(contact)


@bp.route("/contacts/<int:contact_id>/revoke", methods=["GET", "POST"])
@staff_required
def revoke(contact_id):
    """GET asks for confirmation; POST kills every link and session of the contact."""
    contact = get_contact(contact_id)
    if request.method == "GET":
        return _confirm(contact, "revoke", f"Revoke all of {contact.name}'s links?",
                        "Every invoice, quote and credit link and every password link "
                        f"e-mailed to {contact.email} stops working, and their open sessions "
                        "end. They can still log in with their password.", "Revoke all links")
    count = accounts.revoke_links(contact, staff=current_staff())
    flash(f"{count} links of {contact.name} revoked; their sessions ended.", "success")
    return _back(contact)


@bp.post("/clients/<int:client_id>/access")
@staff_required
def grant_access(client_id):
    """An existing contact (of another client) may act for this client too."""
    client = get_client(client_id)
    email = request.form.get("email", "")[:254]
    try:
        access = client_access.grant(client, email, staff=current_staff())
    except DomainError as exc:
        return client_page(client, access_error=exc.message, access_email=email)
    flash(f"{access.contact.name} can now act for {client.name}.", "success")
    return _back(client)


@bp.route("/clients/<int:client_id>/access/<int:contact_id>/remove", methods=["GET", "POST"])
@staff_required
def remove_access(client_id, contact_id):
    """GET asks for confirmation (works without JavaScript); POST removes the access."""
    client = get_client(client_id)
    contact = get_contact(contact_id)
    if all(other.id != contact.id for other in client_access.with_access(client)):
        abort(404)
    if request.method == "GET":
        return render_template(
            "admin/confirm.html", title=f"Remove {contact.name}'s access to {client.name}?",
            message=f"{contact.email} can no longer act for {client.name} in the portal; a "
                    f"session of theirs acting for it goes back to {contact.client.name}. "
                    "Their own login stays.",
            button="Remove access",
            action=url_for("admin_contacts.remove_access", client_id=client.id,
                           contact_id=contact.id),
            back=url_for("admin_clients.show", client_id=client.id))
    if client_access.revoke(client, contact.id, staff=current_staff()) is None:
        abort(404)
    flash(f"{contact.name} no longer acts for {client.name}.", "success")
    return _back(client)
