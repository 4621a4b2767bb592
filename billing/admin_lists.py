"""The back office's lists: every client's records, through the portal's Listing (listing.py).

A back-office list is not scoped to one client; otherwise it reads as a portal tab does:
the columns its rows show (the client's name joined in, for the lists of records), the
status filter and search text as slots, the sort the person chose, and its page with its
total in one statement. Each list's AdminList says what it may be searched, filtered and
sorted by, so one view helper (views/admin/lists.py) serves them all."""
from dataclasses import dataclass

from peewee import SQL, fn

import models
from billing.listing import (
    PAYMENTS_SHOWN,
    Listing,
    PaymentRow,
    QuoteRow,
    Row,
    like_pattern,
    matching,
    order_by_column,
)
from prepared import slot


@dataclass(frozen=True)
class AdminList:
    plural: str  # "invoices": the empty state's words
    make: object  # (search, status, archived, sort, descending) -> Listing
    sorts: tuple  # ((value, label), ...): "-date" is newest first
    search_label: str
    statuses: tuple = ()
    archivable: bool = False

    @property
    def default_sort(self):
        return self.sorts[0][0]

    @property
    def sort_keys(self):
        return {value.lstrip("-") for value, _ in self.sorts}


class ClientNamed:
    """A row of some client's record: that client's id and name came along."""

    @property
    def client(self):
        return Row(id=self.client_id, name=self.client_name)


class RecordRow(ClientNamed, Row):
    pass


class InvoiceRow(ClientNamed, models.InvoiceStatus, Row):
    pass


class AdminQuoteRow(ClientNamed, QuoteRow):
    pass


class AdminPaymentRow(ClientNamed, PaymentRow):
    pass


def _values(search, **values):
    if search:
        values["pattern"] = like_pattern(search)
    return values


def _records(key, model, columns, *, searched, sorts, search, status, sort, descending,
             where=None, archived=True, row=RecordRow):
    """Some kind of record of every client, with its client's name: `searched` are the
    columns the search text may be in, `sorts` the column of each sort key."""
    C = models.Client

    def build():
        query = model.select(model.id, model.client, *columns,
                             C.name.alias("client_name")).join(C)
        if where is not None:
            query = query.where(where)
        if archived:
            query = query.where(model.archived_at.is_null())
        if status:
            query = query.where(model.status == slot("status"))
        if search:
            query = query.where(matching(*searched))
        return order_by_column(query, sorts(model, C)[sort], model.id, descending)
    return Listing((key, bool(status), bool(search), sort, descending), build,
                   _values(search, status=status), row=row)


DOCUMENT_SORTS = (("-date", "Newest first"), ("date", "Oldest first"),
                  ("number", "Number"), ("client", "Client"), ("-total", "Largest total"))


def _document_sorts(model, client):
    return {"date": model.date, "number": model.number, "client": client.name,
            "total": model.total}


def invoices(search, status, archived, sort, descending):
    Inv = models.Invoice
    return _records("admin-invoices", Inv, (Inv.number, Inv.status, Inv.date, Inv.due_date,
                                            Inv.po_number, Inv.currency, Inv.total,
                                            Inv.balance),
                    searched=(Inv.number, Inv.po_number, models.Client.name,
                              models.Client.number),
                    sorts=lambda m, c: {**_document_sorts(m, c), "due_date": m.due_date,
                                        "balance": m.balance},
                    search=search, status=status, sort=sort, descending=descending,
                    row=InvoiceRow)


def quotes(search, status, archived, sort, descending):
    Q = models.Quote
    return _records("admin-quotes", Q, (Q.number, Q.status, Q.date, Q.valid_until,
                                        Q.currency, Q.total, Q.declined_reason, Q.invoice),
                    searched=(Q.number, models.Client.name, models.Client.number),
                    sorts=_document_sorts, search=search, status=status, sort=sort,
                    descending=descending, row=AdminQuoteRow)


def credits(search, status, archived, sort, descending):
    Cr = models.Credit
    return _records("admin-credits", Cr, (Cr.number, Cr.status, Cr.date, Cr.reason,
                                          Cr.currency, Cr.total, Cr.balance),
                    searched=(Cr.number, models.Client.name, models.Client.number),
                    sorts=_document_sorts, search=search, status=status, sort=sort,
                    descending=descending)


def recurring(search, status, archived, sort, descending):
    R = models.RecurringInvoice
    return _records("admin-recurring", R, (R.number, R.status, R.frequency,
                                           R.next_send_date, R.currency, R.total),
                    searched=(R.number, models.Client.name, models.Client.number),
                    sorts=lambda m, c: {"created": m.id, "next": m.next_send_date,
                                        "number": m.number, "client": c.name,
                                        "total": m.total},
                    search=search, status=status, sort=sort, descending=descending,
                    archived=False)


def payments(search, status, archived, sort, descending):
    P = models.Payment
    return _records("admin-payments", P, (P.number, P.date, P.amount, P.applied, P.refunded,
                                          P.currency, P.method, P.method_label, P.reference,
                                          P.gateway_reference, P.status, P.is_prepayment),
                    searched=(P.number, P.reference, P.gateway_reference,
                              models.Client.name, models.Client.number),
                    sorts=lambda m, c: {"date": m.date, "number": m.number,
                                        "client": c.name, "amount": m.amount},
                    where=P.status.in_(PAYMENTS_SHOWN), search=search, status=status,
                    sort=sort, descending=descending, archived=False, row=AdminPaymentRow)


def documents(search, status, archived, sort, descending):
    D = models.Document
    return _records("admin-documents", D, (D.filename, D.size, D.is_public, D.created_at),
                    searched=(D.filename, models.Client.name, models.Client.number),
                    sorts=lambda m, c: {"created": m.created_at, "filename": m.filename,
                                        "client": c.name, "size": m.size},
                    search=search, status=status, sort=sort, descending=descending,
                    archived=False)


def clients(search, status, archived, sort, descending):
    """Clients by name, number or e-mail, or a contact's name or e-mail; archived ones only
    when asked for (then alongside the others)."""
    C, P = models.Client, models.Contact
    sorts = {"name": C.name, "number": C.number, "balance": C.balance,
             "created": C.created_at}

    def build():
        query = C.select(C.id, C.name, C.number, C.email, C.currency, C.balance,
                         C.paid_to_date, C.archived_at)
        if not archived:
            query = query.where(C.archived_at.is_null())
        if search:
            by_contact = P.select(P.client).where(matching(P.email, P.first_name,
                                                           P.last_name))
            query = query.where(matching(C.name, C.number, C.email) | C.id.in_(by_contact))
        return order_by_column(query, sorts[sort], C.id, descending)
    return Listing(("admin-clients", archived, bool(search), sort, descending), build,
                   _values(search))


def contacts_of(client_ids):
    """{client id: [contact]} for the clients a page shows, in one query."""
    ids = list(client_ids)
    if not ids:
        return {}
    P = models.Contact
    found = {}
    for contact in (P.select(P.id, P.client, P.first_name, P.last_name, P.email,
                             P.is_active).where(P.client.in_(ids)).order_by(P.id)):
        found.setdefault(contact.client_id, []).append(contact)
    return found


def _catalogue(key, model, columns, searched, sorts, search, archived, sort, descending):
    """Products or plans: the current ones, or (archived) only those taken off sale."""
    def build():
        query = model.select(model.id, *columns).where(
            model.archived_at.is_null(not archived))
        if search:
            query = query.where(matching(*searched))
        return order_by_column(query, sorts[sort], model.id, descending)
    return Listing((key, archived, bool(search), sort, descending), build, _values(search))


def products(search, status, archived, sort, descending):
    P = models.Product
    return _catalogue("admin-products", P, (P.name, P.description, P.price, P.tax_name,
                                            P.tax_rate),
                      (P.name, P.description), {"name": P.name, "price": P.price},
                      search, archived, sort, descending)


LIVE_SUBSCRIPTIONS = ("active", "past_due")


def plans(search, status, archived, sort, descending):
    """Plans with their count of live subscribers, counted in the same statement."""
    P, S = models.Plan, models.Subscription
    subscribers = (S.select(fn.COUNT(SQL("*"))).where(
        (S.plan == P.id) & S.status.in_(LIVE_SUBSCRIPTIONS)))
    return _catalogue("admin-plans", P, (P.public_id, P.name, P.price, P.currency,
                                         P.setup_fee, P.frequency, P.trial_days,
                                         P.plan_group, subscribers.alias("subscribers")),
                      (P.name, P.plan_group), {"name": P.name, "price": P.price},
                      search, archived, sort, descending)


def outbox(search, status, archived, sort, descending):
    E = models.EmailMessage
    sorts = {"created": E.id, "to": E.to, "subject": E.subject}

    def build():
        query = E.select(E.id, E.to, E.subject, E.status, E.attempts, E.last_error,
                         E.created_at)
        if status:
            query = query.where(E.status == slot("status"))
        if search:
            query = query.where(matching(E.to, E.subject))
        return order_by_column(query, sorts[sort], E.id, descending)
    return Listing(("admin-outbox", bool(status), bool(search), sort, descending), build,
                   _values(search, status=status))


CATALOGUE_SORTS = (("name", "Name"), ("-price", "Highest price"), ("price", "Lowest price"))

LISTS = {
    "invoices": AdminList("invoices", invoices, DOCUMENT_SORTS[:4] + (
        ("due_date", "Due soonest"), ("-balance", "Largest balance"), DOCUMENT_SORTS[4]),
        "Search number, PO number or client", models.Invoice.STATUSES),
    "quotes": AdminList("quotes", quotes, DOCUMENT_SORTS, "Search number or client",
                        models.Quote.STATUSES),
    "credits": AdminList("credits", credits, DOCUMENT_SORTS, "Search number or client",
                         models.Credit.STATUSES),
    "recurring": AdminList("recurring invoices", recurring, (
        ("-created", "Newest first"), ("next", "Next invoice soonest"), ("number", "Number"),
        ("client", "Client"), ("-total", "Largest total")), "Search number or client",
        ("draft", "active", "paused", "completed")),
    "payments": AdminList("payments", payments, (
        ("-date", "Newest first"), ("date", "Oldest first"), ("number", "Number"),
        ("client", "Client"), ("-amount", "Largest amount")),
        "Search number, reference or client"),
    "documents": AdminList("documents", documents, (
        ("-created", "Newest first"), ("filename", "File name"), ("client", "Client"),
        ("-size", "Largest")), "Search file name or client"),
    "clients": AdminList("clients", clients, (
        ("name", "Name"), ("number", "Number"), ("-balance", "Largest balance"),
        ("-created", "Newest first")), "Search name, number or e-mail", archivable=True),
    "products": AdminList("products", products, CATALOGUE_SORTS,
                          "Search name or description", archivable=True),
    "plans": AdminList("plans", plans, CATALOGUE_SORTS, "Search name or group",
                       archivable=True),
    "outbox": AdminList("messages", outbox, (
        ("-created", "Newest first"), ("created", "Oldest first"), ("to", "Recipient"),
        ("subject", "Subject")), "Search recipient or subject", ("queued", "sent", "failed")),
}
