"""Back office: clients and their contacts, and opening the portal as a contact."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

import models
from views import Page, page_number
from views.admin import current_staff, staff_required
from views.sessions import leave_impersonation, staff_session_fields, start_contact_session

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
