"""Portal list queries: filters, search and sorting that stay cheap at any table size."""
from peewee import OP, SQL, Expression, NodeList, Value, fn

import models
from prepared import prepared, slot


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


class InvoiceRow(models.InvoiceStatus):
    """One line of a contact's invoice list: the listed columns and what its status means."""

    def __init__(self, **columns):
        self.__dict__.update(columns)


def like_pattern(text):
    """`text` anywhere in a LIKE, its wildcards escaped as Peewee's contains() does."""
    return "%" + text.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"


def _visible(Invoice, status, searching):
    """The WHERE of a contact's invoice list, with slots for this request's values."""
    query = Invoice.select().where((Invoice.client == slot("client")) & (Invoice.status != "draft")
                                   & Invoice.archived_at.is_null())
    if status == "unpaid":
        query = query.where(Invoice.status.in_(("sent", "partial")))
    elif status == "paid":
        query = query.where(Invoice.status == "paid")
    elif status == "overdue":
        query = query.where(Invoice.status.in_(("sent", "partial")) & (Invoice.balance > 0)
                            & (Invoice.due_date < slot("today", Invoice.due_date)))
    if searching:
        query = query.where(Expression(Invoice.number, OP.ILIKE, NodeList(
            (slot("pattern"), SQL("ESCAPE"), Value("\\", converter=False)))))
    return query


def _values(client_id, status, search, today):
    values = {"client": client_id}
    if status == "overdue":
        values["today"] = today or models.utcnow().date()
    if search:
        values["pattern"] = like_pattern(search)
    return values


def count_invoices(client_id, *, status="all", search="", today=None):
    """The pager's total: the client's kept counter for the plain list, else a COUNT."""
    if status == "all" and not search:
        Client = models.Client
        return prepared("listed-invoices", lambda: Client.select(Client.listed_invoices).where(
            Client.id == slot("client"))).scalar(client=client_id)
    Invoice = models.Invoice
    query = prepared(("invoice-count", status, bool(search)), lambda: _visible(
        Invoice, status, bool(search)).select(fn.COUNT(Invoice.id)))
    return query.scalar(**_values(client_id, status, search, today))


def invoice_rows(client_id, *, status="all", search="", sort="date", descending=True,
                 offset=0, limit=25, today=None):
    """One page of a contact's invoice list, as InvoiceRow with `state` and `label` set."""
    Invoice = models.Invoice

    def build():
        query = _visible(Invoice, status, bool(search)).select(*list_columns(Invoice))
        return order(query, Invoice, sort, descending).limit(slot("limit")).offset(
            slot("offset"))

    today = today or models.utcnow().date()
    query = prepared(("invoice-rows", status, bool(search), sort, descending), build)
    rows = query.records(InvoiceRow, limit=limit, offset=offset,
                         **_values(client_id, status, search, today))
    for row in rows:
        row.state = row.display_status(today)
        row.label = row.STATUS_LABELS[row.state]
    return rows
