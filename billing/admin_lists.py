"""The back office's lists: every client's records, through the portal's Listing (listing.py).

A back-office list is not scoped to one client; otherwise it reads as a portal tab does:
the columns its rows show (the client's name joined in, for the lists of records), the
status filter and search text as slots, the sort the person chose, and its page with its
total in one statement. Each list's AdminList says what it may be searched, filtered and
sorted by, so one view helper (views/admin/lists.py) serves them all."""
from dataclasses import dataclass

from peewee import JOIN, SQL, fn

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


# -- the activity log: who did what to which record, named in the same statement -----------

def _person(first, last, email):
    return f"{first or ''} {last or ''}".strip() or email or ""


# subject_type (Activity.log: the model's name in lower case) -> its model, the columns its
# name needs, and its name from them.
SUBJECTS = {
    "invoice": (models.Invoice, ("number",), lambda r: f"Invoice {r.number}"),
    "quote": (models.Quote, ("number",), lambda r: f"Quote {r.number}"),
    "credit": (models.Credit, ("number",), lambda r: f"Credit {r.number}"),
    "recurringinvoice": (models.RecurringInvoice, ("number",),
                         lambda r: f"Recurring invoice {r.number}"),
    "payment": (models.Payment, ("number", "public_id"),
                lambda r: f"Payment {r.number or r.public_id}"),
    "client": (models.Client, ("name",), lambda r: f"Client {r.name}"),
    "contact": (models.Contact, ("first_name", "last_name", "email"),
                lambda r: f"Contact {_person(r.first_name, r.last_name, r.email)}"),
    "gatewaytoken": (models.GatewayToken, ("brand", "last4"),
                     lambda r: f"Card {r.brand.title()} •••• {r.last4}"),
    "document": (models.Document, ("filename",), lambda r: f"Document {r.filename}"),
    "staffuser": (models.StaffUser, ("email",), lambda r: f"Staff {r.email}"),
    "gatewayconfig": (models.GatewayConfig, ("label", "kind"),
                      lambda r: f"Gateway {r.label or r.kind}"),
}


class ActivityRow(Row):
    """A line of the log: who (a contact, staff, staff as a contact, the API) and what
    record, from the names its statement joined in."""
    ACTORS = models.Activity.ACTORS
    actor_label = models.Activity.actor_label

    @property
    def who(self):
        staff_name = self.staff_name or self.staff_email or ""
        if self.actor == "staff_as_contact":
            as_contact = _person(self.as_first_name, self.as_last_name, self.as_email)
            return f"{staff_name} as {as_contact or 'a contact'}"
        if self.actor == "api":
            return f"API token of {staff_name}" if staff_name else "API"
        if self.staff_id:
            return staff_name
        return _person(self.contact_first_name, self.contact_last_name, self.contact_email)

    @property
    def subject_label(self):
        if not self.subject_type:
            return ""
        known = SUBJECTS.get(self.subject_type)
        if known and getattr(self, f"s_{self.subject_type}_id") is not None:
            model, columns, name = known
            return name(Row(**{c: getattr(self, f"s_{self.subject_type}_{c}")
                               for c in columns}))
        return f"{self.subject_type} #{self.subject_id}"


def activity(search, status, archived, sort, descending, *, client="", subject_type="",
             subject_id=""):
    """The log, newest first, filtered by client and by record (views/admin/activity.py
    checks the filters); each row's people and record named by LEFT JOINs, not a query each."""
    A, C, S = models.Activity, models.Client, models.StaffUser
    Who, AsWho = models.Contact.alias("who"), models.Contact.alias("as_who")

    def build():
        columns = [A.id, A.created_at, A.actor, A.action, A.detail, A.ip, A.subject_type,
                   A.subject_id, A.client, A.staff, A.contact, A.as_contact,
                   C.name.alias("client_name"), S.name.alias("staff_name"),
                   S.email.alias("staff_email"), Who.first_name.alias("contact_first_name"),
                   Who.last_name.alias("contact_last_name"), Who.email.alias("contact_email"),
                   AsWho.first_name.alias("as_first_name"),
                   AsWho.last_name.alias("as_last_name"), AsWho.email.alias("as_email")]
        joins = []
        for kind, (model, names, _) in SUBJECTS.items():
            subject = model.alias(f"s_{kind}")
            # s_: the subject's columns never take the name of the row's own (client_id).
            columns += [subject.id.alias(f"s_{kind}_id")] + [
                getattr(subject, name).alias(f"s_{kind}_{name}") for name in names]
            joins.append((subject, (A.subject_type == kind) & (A.subject_id == subject.id)))
        query = (A.select(*columns)
                 .join_from(A, C, JOIN.LEFT_OUTER, on=(A.client == C.id))
                 .join_from(A, S, JOIN.LEFT_OUTER, on=(A.staff == S.id))
                 .join_from(A, Who, JOIN.LEFT_OUTER, on=(A.contact == Who.id))
                 .join_from(A, AsWho, JOIN.LEFT_OUTER, on=(A.as_contact == AsWho.id)))
        for subject, on in joins:
            query = query.join_from(A, subject, JOIN.LEFT_OUTER, on=on)
        if client:
            query = query.where(A.client == slot("client"))
        if subject_type:
            query = query.where(A.subject_type == slot("subject_type"))
            if subject_id:
                query = query.where(A.subject_id == slot("subject_id"))
        return order_by_column(query, A.created_at, A.id, descending)
    return Listing(("admin-activity", bool(client), bool(subject_type), bool(subject_id),
                    descending), build,
                   {"client": client, "subject_type": subject_type, "subject_id": subject_id},
                   row=ActivityRow)


LISTS["activity"] = AdminList("activity", activity, (("-created", "Newest first"),
                                                     ("created", "Oldest first")), "")
