"""Back office: the activity log: who (contact, staff, staff as a contact, the API) did what
to which record, when and from where; filtered by client and by record."""
import re

from flask import Blueprint, request

import models
from billing import admin_lists
from views.admin import staff_required
from views.admin.lists import list_page
from views.ids import row_id

bp = Blueprint("admin_activity", __name__, url_prefix="/admin")

SUBJECT_TYPE = re.compile(r"[a-z_]{1,32}")
# subject_type -> model and how to name a row: the list's own (billing.admin_lists), read
# here for the few rows a client's page shows.
SUBJECTS = {kind: (model, name) for kind, (model, _, name) in admin_lists.SUBJECTS.items()}


def _names(model, ids, name):
    if not ids:
        return {}
    return {row.id: name(row) for row in model.select().where(model.id.in_(list(ids)))}


def activity_rows(query, limit, offset=0):
    """A page of activity, newest first, with who and what each row is about resolved in a
    few queries (one per kind of record on the page, not one per row)."""
    A = models.Activity
    rows = list(query.order_by(A.created_at.desc(), A.id.desc()).limit(limit).offset(offset))
    contact_ids = {r.contact_id for r in rows} | {r.as_contact_id for r in rows}
    contacts = _names(models.Contact, contact_ids - {None}, lambda c: c.name)
    staff = _names(models.StaffUser, {r.staff_id for r in rows} - {None},
                   lambda s: s.name or s.email)
    clients = _names(models.Client, {r.client_id for r in rows} - {None}, lambda c: c.name)
    subjects = {}
    for kind, (model, name) in SUBJECTS.items():
        ids = {r.subject_id for r in rows if r.subject_type == kind and r.subject_id}
        subjects.update({(kind, i): label for i, label in _names(model, ids, name).items()})
    for row in rows:
        row.client_name = clients.get(row.client_id, "")
        row.who = _who(row, contacts, staff)
        row.subject_label = subjects.get((row.subject_type, row.subject_id)) or (
            f"{row.subject_type} #{row.subject_id}" if row.subject_type else "")
    return rows


def _who(row, contacts, staff):
    staff_name = staff.get(row.staff_id, "")
    if row.actor == "staff_as_contact":
        return f"{staff_name} as {contacts.get(row.as_contact_id, 'a contact')}"
    if row.actor == "api":
        return f"API token of {staff_name}" if staff_name else "API"
    if row.staff_id:
        return staff_name
    return contacts.get(row.contact_id, "")


def filtered(args):
    """The activity query for the page's filters, and the filters as understood."""
    A = models.Activity
    query = A.select()
    filters = {"client": row_id(args.get("client")) or "",
               "subject_type": args.get("subject_type", "")[:32],
               "subject_id": row_id(args.get("subject_id")) or ""}
    if not SUBJECT_TYPE.fullmatch(filters["subject_type"]):
        filters["subject_type"] = ""
    if filters["client"]:
        query = query.where(A.client == filters["client"])
    if filters["subject_type"]:
        query = query.where(A.subject_type == filters["subject_type"])
        if filters["subject_id"]:
            query = query.where(A.subject_id == filters["subject_id"])
    else:
        filters["subject_id"] = ""
    return query, filters


@bp.get("/activity")
@staff_required
def index():
    _, filters = filtered(request.args)
    C = models.Client
    clients = list(C.select(C.id, C.name).order_by(C.name, C.id).tuples())
    return list_page("activity", "admin/activity.html", filters=filters,
                     clients=clients, subject_types=sorted(SUBJECTS))
