"""Back office: clients and their contacts, and opening the portal as a contact."""
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import logout_user

import models
from views import Page, page_number
from views.admin import current_staff, staff_required
from views.auth import start_session

bp = Blueprint("admin_clients", __name__, url_prefix="/admin")


@bp.get("/clients")
@staff_required
def index():
    C = models.Client
    query = C.select().where(C.archived_at.is_null())
    search = request.args.get("q", "").strip()[:100]
    if search:
        query = query.where(C.name.contains(search))
    total = query.count()
    page = Page(query.order_by(C.name, C.id), page_number(request.args.get("page")), 50, total)
    contacts = {}
    if page.items:
        for contact in models.Contact.select().where(
                models.Contact.client.in_([c.id for c in page.items])).order_by(models.Contact.id):
            contacts.setdefault(contact.client_id, []).append(contact)
    return render_template("admin/clients.html", page=page, q=search, contacts=contacts)


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
    start_session(contact, staff_id=staff.id, impersonator_id=staff.id)
    flash(f"You are viewing the portal as {contact.name}.", "info")
    return redirect(url_for("invoices.index"), 303)


@bp.post("/impersonate/stop")
def stop_impersonating():
    staff_id = session.get("impersonator_id")
    contact_id = session.get("_user_id", "").partition(":")[0]
    logout_user()
    session.clear()
    if staff_id is None:
        return redirect(url_for("auth.login"), 303)
    session["staff_id"] = staff_id
    models.Activity.log("staff.impersonation_ended", staff=staff_id,
                        contact=int(contact_id) if contact_id.isdigit() else None)
    return redirect(url_for("admin_clients.index"), 303)
