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


# What a list row shows (and its status needs): turning 25 rows of every column into models
# costs more than the query itself.
LIST_COLUMNS = ("id", "public_id", "number", "status", "date", "due_date", "currency", "total",
                "balance")


def list_columns(model):
    return [model._meta.fields[name] for name in LIST_COLUMNS]


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


def count_invoices(client_id, query, *, status="all", search=""):
    """The pager's total: the client's kept counter for the plain list, else a COUNT."""
    if status == "all" and not search:
        Client = models.Client
        return Client.select(Client.listed_invoices).where(Client.id == client_id).scalar()
    return query.count()
