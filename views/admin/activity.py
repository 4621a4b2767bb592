"""Back office: the activity log: who (contact, staff, staff as a contact, the API) did what
to which record, when and from where; filtered by client and by record."""
import re

from flask import Blueprint, render_template, request

import models
from views.admin import staff_required
from views.ids import row_id
from views.paging import Page, page_number

bp = Blueprint("admin_activity", __name__, url_prefix="/admin")

PER_PAGE = 50
SUBJECT_TYPE = re.compile(r"[a-z_]{1,32}")
# subject_type (Activity.log: the model's name in lower case) -> model and how to name a row.
SUBJECTS = {
    "invoice": (models.Invoice, lambda r: f"Invoice {r.number}"),
    "quote": (models.Quote, lambda r: f"Quote {r.number}"),
    "credit": (models.Credit, lambda r: f"Credit {r.number}"),
    "recurringinvoice": (models.RecurringInvoice, lambda r: f"Recurring invoice {r.number}"),
    "payment": (models.Payment, lambda r: f"Payment {r.number or r.public_id}"),
    "client": (models.Client, lambda r: f"Client {r.name}"),
    "contact": (models.Contact, lambda r: f"Contact {r.name}"),
    "gatewaytoken": (models.GatewayToken, lambda r: f"Card {r.brand.title()} •••• {r.last4}"),
    "document": (models.Document, lambda r: f"Document {r.filename}"),
    "staffuser": (models.StaffUser, lambda r: f"Staff {r.email}"),
    "gatewayconfig": (models.GatewayConfig, lambda r: f"Gateway {r.label or r.kind}"),
}


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
    query, filters = filtered(request.args)
    total = query.count()
    page = Page(lambda offset, limit: activity_rows(query, limit, offset),
                page_number(request.args.get("page")), PER_PAGE, total)
    C = models.Client
    clients = list(C.select(C.id, C.name).order_by(C.name, C.id).tuples())
    return render_template("admin/activity.html", page=page, filters=filters,
                           clients=clients, subject_types=sorted(SUBJECTS),
                           pager_args={k: v for k, v in filters.items() if v})
