"""Portal list queries: filters, search and sorting that stay cheap at any table size."""
import models


def parse_sort(value, allowed, default):
    value = (value or default)[:20]
    descending = value.startswith("-")
    key = value.lstrip("-")
    if key not in allowed:
        key, descending = default.lstrip("-"), default.startswith("-")
    return key, descending


def order(query, model, field_name, descending):
    field = getattr(model, field_name)
    # id breaks ties so pages never repeat or skip a row.
    if descending:
        return query.order_by(field.desc(), model.id.desc())
    return query.order_by(field.asc(), model.id.asc())


def list_columns(model):
    """A list row's columns: notes, terms and the like are never shown in a list, and
    turning 25 rows of every column into models costs more than the query."""
    omit = {"notes", "terms", "footer", "recurring", "po_number", "sent_at", "viewed_at",
            "created_at"}
    return [f for name, f in model._meta.fields.items() if name not in omit]


def invoice_query(client_id, *, status="all", search="", today=None):
    Invoice = models.Invoice
    today = today or models.utcnow().date()
    query = Invoice.for_client(client_id).select(*list_columns(Invoice))
    if status == "unpaid":
        query = query.where(Invoice.status.in_(("sent", "partial")))
    elif status == "paid":
        query = query.where(Invoice.status == "paid")
    elif status == "overdue":
        query = query.where(Invoice.status.in_(("sent", "partial")) & (Invoice.balance > 0)
                            & (Invoice.due_date < today))
    if search:
        query = query.where(Invoice.number.contains(search))
    return query
