"""List queries: filters, search and sorting that stay cheap at any table size.

Every list goes through Listing (DESIGN.md §2): the scoped query with only the columns a row
shows, prepared once per shape, and its page of rows and total fetched in one statement.
The portal's tabs are defined here, each scoped to the contact's client; the back office's
lists, which see every client, in billing/admin_lists.py, with the same Listing, matching()
search and order_by_column() sort."""
import functools

from peewee import JOIN, OP, SQL, Expression, NodeList, Value, fn

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
    return order_by_column(query, getattr(model, field_name), model.id, descending)


def order_by_column(query, column, tiebreak, descending):
    """`column` (of the listed model or a joined one), then `tiebreak` (the listed model's
    id) the same way: the id breaks ties so pages never repeat or skip a row."""
    if descending:
        return query.order_by(column.desc(), tiebreak.desc())
    return query.order_by(column.asc(), tiebreak.asc())


# What a list row shows (and its status needs): turning 25 rows of every column into models
# costs more than the query itself.
LIST_COLUMNS = ("id", "public_id", "number", "status", "date", "due_date", "currency", "total",
                "balance")


def list_columns(model):
    return [model._meta.fields[name] for name in LIST_COLUMNS]


class Row:
    """One line of a list: the columns its query selected, as attributes. Building a model per
    row costs more than the query; a row class adds what a row means (its status words)."""

    def __init__(self, **columns):
        self.__dict__.update(columns)


class InvoiceRow(models.InvoiceStatus, Row):
    """One line of a contact's invoice list: the listed columns and what its status means
    on `today`."""

    @property
    def state(self):
        return self.display_status(self.today)

    @property
    def label(self):
        return self.STATUS_LABELS[self.state]


TOTAL = "listed_total"


def _count_of(query):
    return query.order_by().select(fn.COUNT(SQL("*")))


class Listing:
    """One list of rows: `build()` gives its Peewee query (the WHERE that scopes it, with
    slot()s for this request's values; the columns a row shows; the order), made into SQL
    once per `key` (prepared.py), so `key` names everything that changes the SQL.

    fetch() reads one page and the list's total in one statement: the COUNT of the same
    WHERE rides along as a subquery column, which both SQLite and PostgreSQL work out once
    per statement from the index, whatever the page. `total` skips it when the caller
    already knows the count (the invoices' kept counter)."""

    def __init__(self, key, build, values, *, row=Row, total=None):
        self.key, self.build, self.values, self.row, self.total = key, build, values, row, total

    def fetch(self, offset, limit):
        """(rows, total) of the page at `offset`; total is 0 when the page is empty."""
        counted = self.total is None

        def page_query():
            query = self.build()
            if counted:
                query = query.select_extend(_count_of(self.build()).alias(TOTAL))
            return query.limit(slot("limit")).offset(slot("offset"))

        rows = prepared(("list", self.key, counted), page_query).records(
            self.row, offset=offset, limit=limit, **self.values)
        if not counted:
            return rows, self.total
        total = getattr(rows[0], TOTAL) if rows else 0
        for row in rows:  # a row is its record's columns; the list's total is not one of them
            del row.__dict__[TOTAL]
        return rows, total

    def all(self):
        """Every row, for a short list that is never paged (payment methods)."""
        return prepared(("list-all", self.key), self.build).records(self.row, **self.values)

    def count(self):
        """The total alone: for a page past the end, which returns no row to carry it."""
        if self.total is not None:
            return self.total
        return prepared(("list-count", self.key), lambda: _count_of(self.build())).scalar(
            **self.values)


def like_pattern(text):
    """`text` anywhere in a LIKE, its wildcards escaped as Peewee's contains() does."""
    return "%" + text.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"


def matching(*columns):
    """`columns` of which any holds this request's search text (slot "pattern", filled
    from like_pattern()), case-insensitive on both engines: one slot for every column."""
    found = None
    for column in columns:
        holds = Expression(column, OP.ILIKE, NodeList(
            (slot("pattern"), SQL("ESCAPE"), Value("\\", converter=False))))
        found = holds if found is None else (found | holds)
    return found


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
        query = query.where(matching(Invoice.number, Invoice.po_number))
    return query


def _values(client_id, status, search, today):
    values = {"client": client_id}
    if status == "overdue":
        values["today"] = today or models.utcnow().date()
    if search:
        values["pattern"] = like_pattern(search)
    return values


def invoices(client_id, *, status="all", search="", sort="date", descending=True, today=None,
             listed=None):
    """A contact's invoice list, as InvoiceRow with `state` and `label`. `listed` is the
    client's kept counter of listed invoices (Client.listed_invoices, loaded with the
    session): the plain list's total, so its page needs no COUNT at all."""
    Invoice = models.Invoice
    today = today or models.utcnow().date()

    def build():
        query = _visible(Invoice, status, bool(search)).select(*list_columns(Invoice))
        return order(query, Invoice, sort, descending)

    plain = status == "all" and not search
    return Listing(("invoices", status, bool(search), sort, descending), build,
                   _values(client_id, status, search, today),
                   row=functools.partial(InvoiceRow, today=today),
                   total=listed if plain and listed is not None else None)


# -- the other portal tabs: each a Listing of the columns its rows show ----------------------

def _by_client(model):
    return model.client == slot("client")


def recurring(client_id):
    """The client's schedules: active ones first, soonest next invoice first."""
    R = models.RecurringInvoice

    def build():
        return (R.select(R.id, R.public_id, R.number, R.frequency, R.start_date,
                         R.next_send_date, R.remaining_cycles, R.total, R.currency, R.status)
                .where(_by_client(R) & (R.status != "draft"))
                .order_by(R.status != "active", R.next_send_date.asc(nulls="LAST"), R.id.desc()))
    return Listing("recurring", build, {"client": client_id})


PAYMENTS_SHOWN = ("pending", "completed", "refunded", "partially_refunded")


class PaymentRow(Row):
    """A payments list line; what its amounts and method mean is the model's own reading."""
    METHOD_NAMES = models.Payment.METHOD_NAMES
    unapplied = models.Payment.unapplied
    method_name = models.Payment.method_name
    has_unapplied = models.Payment.has_unapplied


def payments(client_id, search=""):
    """The client's payments, newest first; `search` finds a number or a reference (the
    client's own, or the gateway's)."""
    P = models.Payment

    def build():
        query = P.select(P.id, P.public_id, P.number, P.date, P.amount, P.applied, P.refunded,
                         P.currency, P.method, P.method_label, P.reference,
                         P.gateway_reference, P.status, P.is_prepayment).where(
            _by_client(P) & P.status.in_(PAYMENTS_SHOWN))
        if search:
            query = query.where(matching(P.number, P.reference, P.gateway_reference))
        return order(query, P, "date", True)
    values = {"client": client_id}
    if search:
        values["pattern"] = like_pattern(search)
    return Listing(("payments", bool(search)), build, values, row=PaymentRow)


class AllocationRow(Row):
    """What a payment went to: the invoice's or credit's public id and number came along."""

    @property
    def invoice(self):
        return Row(public_id=self.invoice_public_id, number=self.invoice_number)

    @property
    def credit(self):
        return Row(public_id=self.credit_public_id, number=self.credit_number)


def allocations_of(payment_ids):
    """{payment id: [AllocationRow]} for the payments a list shows, in one query: each with
    the number and public id of the invoice or credit it went to, and nothing more. Its SQL
    is prepared per number of payments (a page holds at most PAGE_SIZE)."""
    ids = list(payment_ids)
    if not ids:
        return {}
    A, Inv, C = models.PaymentAllocation, models.Invoice, models.Credit

    def build():
        return (A.select(A.id, A.payment, A.invoice, A.credit,
                         Inv.public_id.alias("invoice_public_id"),
                         Inv.number.alias("invoice_number"),
                         C.public_id.alias("credit_public_id"), C.number.alias("credit_number"))
                .join(Inv, JOIN.LEFT_OUTER, on=(A.invoice == Inv.id))
                .switch(A).join(C, JOIN.LEFT_OUTER, on=(A.credit == C.id))
                .where(A.payment.in_([slot(f"p{n}") for n in range(len(ids))])).order_by(A.id))
    rows = prepared(("allocations", len(ids)), build).records(
        AllocationRow, **{f"p{n}": payment_id for n, payment_id in enumerate(ids)})
    result = {}
    for row in rows:
        result.setdefault(row.payment_id, []).append(row)
    return result


class QuoteRow(Row):
    is_expired = models.Quote.is_expired
    display_status = models.Quote.display_status


def quotes(client_id, status, today, search=""):
    Q = models.Quote

    def build():
        query = Q.select(Q.id, Q.public_id, Q.number, Q.date, Q.valid_until, Q.total,
                         Q.currency, Q.status).where(
            _by_client(Q) & (Q.status != "draft") & Q.archived_at.is_null())
        live = Q.valid_until.is_null() | (Q.valid_until >= slot("today", Q.valid_until))
        if status == "sent":
            query = query.where((Q.status == "sent") & live)
        elif status == "approved":
            query = query.where(Q.status.in_(("approved", "converted")))
        elif status == "declined":
            query = query.where(Q.status == "declined")
        elif status == "expired":
            query = query.where((Q.status == "expired") | ((Q.status == "sent") & ~live))
        if search:
            query = query.where(matching(Q.number))
        return order(query, Q, "date", True)
    values = {"client": client_id}
    if status in ("sent", "expired"):
        values["today"] = today
    if search:
        values["pattern"] = like_pattern(search)
    return Listing(("quotes", status, bool(search)), build, values, row=QuoteRow)


CREDITS_AVAILABLE = ("sent", "partial")  # billing.credits.AVAILABLE


def credits(client_id, status):
    C = models.Credit

    def build():
        query = C.select(C.id, C.public_id, C.number, C.date, C.reason, C.total, C.balance,
                         C.currency, C.status).where(
            _by_client(C) & (C.status != "draft") & C.archived_at.is_null())
        available = C.status.in_(CREDITS_AVAILABLE) & (C.balance > 0)
        if status == "available":
            query = query.where(available)
        elif status == "applied":
            query = query.where(~available)
        return order(query, C, "date", True)
    return Listing(("credits", status), build, {"client": client_id})


class DocumentRow(Row):
    """A shared file's line: the number of the invoice or quote it belongs to came along."""

    @property
    def invoice(self):
        return Row(number=self.invoice_number)

    @property
    def quote(self):
        return Row(number=self.quote_number)


def documents(client_id, search=""):
    """The client's shared files (as models.Document.for_client), newest first; `search`
    finds a file name. A file of an invoice or quote shows only while its record is visible:
    read through the same joins that name the record, rather than an IN over all the
    client's invoices."""
    D, Inv, Q = models.Document, models.Invoice, models.Quote

    def visible(model):
        return ((model.client == slot("client")) & (model.status != "draft")
                & model.archived_at.is_null())

    def build():
        query = (D.select(D.id, D.public_id, D.filename, D.size, D.created_at, D.invoice,
                          D.quote, Inv.number.alias("invoice_number"),
                          Q.number.alias("quote_number"))
                 .join(Inv, JOIN.LEFT_OUTER, on=(D.invoice == Inv.id)).switch(D)
                 .join(Q, JOIN.LEFT_OUTER, on=(D.quote == Q.id))
                 .where(_by_client(D) & (D.is_public == True)  # noqa: E712
                        & (D.invoice.is_null() | visible(Inv))
                        & (D.quote.is_null() | visible(Q))))
        if search:
            query = query.where(matching(D.filename))
        return query.order_by(D.created_at.desc(), D.id.desc())
    values = {"client": client_id}
    if search:
        values["pattern"] = like_pattern(search)
    return Listing(("documents", bool(search)), build, values, row=DocumentRow)


class SubscriptionRow(Row):
    """A subscription's line with its plan's name, currency, frequency and price."""
    STATUS_LABELS = models.Subscription.STATUS_LABELS
    price = models.Subscription.price
    amount = models.Subscription.amount
    in_trial = models.Subscription.in_trial
    display_status = models.Subscription.display_status
    billing_continues = models.Subscription.billing_continues

    @property
    def plan(self):
        return Row(name=self.plan_name, currency=self.plan_currency,
                   frequency=self.plan_frequency, price=self.plan_price)


def subscriptions(client_id):
    """As billing.subscriptions.for_client orders them: live ones first, newest first."""
    S, P = models.Subscription, models.Plan

    def build():
        return (S.select(S.id, S.public_id, S.status, S.quantity, S.unit_price,
                         S.trial_ends_on, S.current_period_end, S.next_billing_date,
                         S.cancel_at_period_end, S.ends_on, P.name.alias("plan_name"),
                         P.currency.alias("plan_currency"), P.frequency.alias("plan_frequency"),
                         P.price.alias("plan_price"))
                .join(P).where(_by_client(S))
                .order_by(S.status.not_in(("active", "past_due")), S.started_at.desc(),
                          S.id.desc()))
    return Listing("subscriptions", build, {"client": client_id}, row=SubscriptionRow)


def payment_methods(client_id):
    """The client's saved methods, the default first: a short list, never paged."""
    T = models.GatewayToken

    def build():
        return (T.select(T.id, T.public_id, T.brand, T.method_type, T.last4, T.exp_month,
                         T.exp_year, T.is_default, T.created_by_staff)
                .where(_by_client(T) & T.deleted_at.is_null())
                .order_by(T.is_default.desc(), T.id.desc()))
    return Listing("payment_methods", build, {"client": client_id})
