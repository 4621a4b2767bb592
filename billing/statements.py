"""Account statements: what was invoiced and paid in a period, with running balance and ageing."""
import datetime as dt
from dataclasses import dataclass, field

from peewee import SQL, Case, Cast, Value, fn

import models
from billing import DomainError
from i18n import gettext
from prepared import prepared, slot

MAX_DAYS = 366 * 5
AGEING = (("Current", None, 0), ("1–30 days", 1, 30), ("31–60 days", 31, 60),
          ("61–90 days", 61, 90), ("Over 90 days", 91, None))


@dataclass
class Statement:
    client: object
    currency: str
    start: dt.date
    end: dt.date
    opening: int = 0
    rows: list = field(default_factory=list)  # (date, kind, reference, charge, payment, balance)
    invoiced: int = 0
    paid: int = 0
    closing: int = 0
    ageing: list = field(default_factory=list)  # (label, amount)
    unused: int = 0  # credit and payments no invoice has taken: the ageing's other side
    status: str = "all"  # which invoices: all (with money in), unpaid or paid only
    first_date: dt.date = None  # of the client's first invoice or payment (first_date())

    def digest(self):
        """What the statement shows, for generated.fingerprint: any change makes a new PDF."""
        return [self.client.id, self.currency, self.start, self.end, self.status, self.opening,
                self.rows, self.invoiced, self.paid, self.closing, self.ageing, self.unused]

    @property
    def net_owed(self):
        """The ageing's total less unused credit: on a statement ending today, the closing
        balance. Without the unused line a prepaid client's ageing would not add up."""
        return sum(amount for _, amount in self.ageing) - self.unused


STATUSES = (("all", "All activity"), ("unpaid", "Unpaid invoices"), ("paid", "Paid invoices"))
RANGES = (("this_month", "This month"), ("last_month", "Last month"),
          ("this_quarter", "This quarter"), ("this_year", "This year"),
          ("last_year", "Last year"), ("all_time", "All time"))


def quick_range(name, today, first_date=None):
    """The (start, end) of a named period ending no later than today; None for an unknown name.

    "All time" starts at the client's first record, but never more than MAX_DAYS back."""
    if name == "this_month":
        return today.replace(day=1), today
    if name == "last_month":
        end = today.replace(day=1) - dt.timedelta(days=1)
        return end.replace(day=1), end
    if name == "this_quarter":
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1), today
    if name == "this_year":
        return today.replace(month=1, day=1), today
    if name == "last_year":
        return dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)
    if name == "all_time":
        earliest = today - dt.timedelta(days=MAX_DAYS)
        return max(first_date or today, earliest), today
    return None


def first_date(client):
    """The date of the client's first invoice or payment, or None."""
    Inv, P = models.Invoice, models.Payment
    dates = [Inv.select(fn.MIN(Inv.date)).where(Inv.client == client).scalar(),
             P.select(fn.MIN(P.date)).where(P.client == client).scalar()]
    dates = [dt.date.fromisoformat(str(d)[:10]) for d in dates if d]
    return min(dates) if dates else None


def parse_period(start_text, end_text, today=None):
    today = today or models.utcnow().date()
    try:
        start = dt.date.fromisoformat(start_text) if start_text else today.replace(day=1)
        end = dt.date.fromisoformat(end_text) if end_text else today
    except ValueError:
        raise DomainError(gettext("Enter dates as YYYY-MM-DD."), "start_date") from None
    if start > end:
        raise DomainError(gettext("The start date must be on or before the end date."),
                          "start_date")
    if (end - start).days > MAX_DAYS:
        raise DomainError(gettext("A statement can cover at most five years."), "end_date")
    return start, end


def build(client, start, end, status="all"):
    """What the client owes over a period, in the client's currency.

    Charges are invoices (not draft, void or cancelled); money in is completed payments and
    the refund/adjustment credits issued. Spending credit on an invoice moves no money, so
    "credit" payments are left out, and an over-payment's credit is already in its payment.
    "unpaid" and "paid" list only those invoices of the period, each with its own balance in
    the last column; the totals, opening, closing and ageing stay those of the whole account.

    Two queries whatever the account's size: the sums (opening, the period's totals, the
    ageing, the first date) worked out by the database, and the period's rows.
    """
    st = Statement(client=client, currency=client.currency, start=start, end=end,
                   status=status if status in dict(STATUSES) else "all")
    sums = _sums(client, st.currency, start, end)
    st.first_date = sums["first_date"]
    st.opening = sums["opening"]
    st.invoiced, st.paid = sums["invoiced"], sums["paid"]
    st.closing = st.opening + st.invoiced - st.paid
    st.ageing = [(label, sums["ageing"][index]) for index, (label, _, _) in enumerate(AGEING)]
    if st.status == "all":
        balance = st.opening
        for date, kind, reference, charge, paid in _events(client, st.currency, start, end):
            balance += charge - paid
            st.rows.append((date, kind, reference, charge, paid, balance))
    else:
        Inv = models.Invoice
        owing = (Inv.balance > 0) if st.status == "unpaid" else (Inv.balance <= 0)
        st.rows = [(_as_date(date), "Invoice", number, total, 0, balance)
                   for date, number, total, balance in _charges(client, st.currency).where(
                       (Inv.date >= start) & (Inv.date <= end) & owing)
                   .select(Inv.date, Inv.number, Inv.total, Inv.balance)
                   .order_by(Inv.date, Inv.id).tuples()]
    st.unused = sums["unused"]
    return st



def _charges(client, currency):
    Inv = models.Invoice
    return Inv.select().where((Inv.client == client) & (Inv.currency == currency)
                              & Inv.status.not_in(("draft", "cancelled", "void")))


def _money_in(client, currency):
    """(payments, credits): which of each count as money in, as WHERE conditions."""
    P, Cr = models.Payment, models.Credit
    payments = ((P.client == client) & (P.currency == currency) & (P.method != "credit")
                & P.status.in_(("completed", "partially_refunded", "refunded")))
    credits = ((Cr.client == client) & (Cr.currency == currency)
               & Cr.status.not_in(("draft", "void")) & (Cr.reason != "overpayment"))
    return payments, credits


def _sum_if(condition, value):
    return fn.COALESCE(fn.SUM(Case(None, [(condition, value)], 0)), 0)


def _sums(client, currency, start, end):
    """Opening balance, the period's charges and money in, the ageing on `end`, and the date
    of the client's first invoice or payment (first_date()), in one statement (its SQL made
    once: prepared.py)."""
    values = {"client": client.id, "currency": currency, "start": start, "end": end}
    for _, low, high in AGEING:
        for days in (low, high):
            if days:
                values[f"end_less_{days}"] = end - dt.timedelta(days=days)
    rows = {row[0]: row[1:] for row in prepared(("statement-sums",), _sums_query).tuples(
        **values)}
    amount = {label: int(row[1]) for label, row in rows.items()}
    dates = [_as_date(rows[label][0]) for label in ("first_invoice", "first_payment")
             if rows[label][0]]
    return {"opening": amount["invoiced_before"] - amount["paid_before"]
            - amount["credited_before"],
            "invoiced": amount["invoiced"], "paid": amount["paid"] + amount["credited"],
            "ageing": [int(value) for value in rows["ageing"][1:]],
            "unused": amount["unused_credit"] + amount["unapplied"],
            "first_date": min(dates) if dates else None}


def _sums_query():
    Inv, P, Cr = models.Invoice, models.Payment, models.Credit
    client, currency = slot("client"), slot("currency")
    start, end = slot("start", Inv.date), slot("end", Inv.date)
    # Every row is (label, a date, one amount per ageing bucket); the other rows use the
    # first amount, and only the first-date rows the date. PostgreSQL types a union's column
    # by its first rows, so a missing date is a typed NULL.
    no_date = Cast(Value(None), "DATE")

    def row(label, query, *amounts, date=no_date):
        padding = [Value(0)] * (len(AGEING) - len(amounts))
        return query.select(Value(label), date, *amounts, *padding)

    def before_and_during(label, query, date, amount):
        """Two sums, each over a date range of an index led by (client, currency, date): the
        opening reads what came before the period, the period only its own rows, and no row
        is tested twice (a sum of CASEs over the whole account tests each row for both)."""
        total = fn.COALESCE(fn.SUM(amount), 0)
        return (row(f"{label}_before", query, total).where(date < start)
                + row(label, query, total).where((date >= start) & (date <= end)))

    # Days late on `end` as due-date bounds, so no date arithmetic differs between databases.
    due = fn.COALESCE(Inv.due_date, Inv.date)
    buckets = []
    for _, low, high in AGEING:
        if low is None:
            late = due >= end
        else:
            late = due <= slot(f"end_less_{low}", Inv.date)
            if high is not None:
                late &= due >= slot(f"end_less_{high}", Inv.date)
        buckets.append(_sum_if(late, Inv.balance))
    # The ageing reads only what is owed: the buckets' tests run on those rows alone.
    ageing = row("ageing", _charges(client, currency), *buckets).where(
        (Inv.balance > 0) & (Inv.date <= end))
    payments, credits = _money_in(client, currency)
    # The first dates come from the (client, date) indexes, one entry each.
    first = (row("first_invoice", Inv.select(), date=fn.MIN(Inv.date)).where(
        Inv.client == client)
        + row("first_payment", P.select(), date=fn.MIN(P.date)).where(P.client == client))
    # Money no invoice has taken, dated by `end`, at its balance now (as the ageing's invoice
    # balances are): open credit, over-payments' included, and unapplied payments.
    open_credit = row("unused_credit", Cr.select(), fn.COALESCE(fn.SUM(Cr.balance), 0)).where(
        (Cr.client == client) & (Cr.currency == currency) & Cr.status.in_(("sent", "partial"))
        & (Cr.balance > 0) & Cr.archived_at.is_null() & (Cr.date <= end))
    left = models.PAYMENT_UNAPPLIED
    unapplied = row("unapplied", P.select(), fn.COALESCE(fn.SUM(left), 0)).where(
        (P.client == client) & (P.currency == currency) & (P.method != "credit")
        & P.status.in_(("completed", "partially_refunded")) & (left > 0)
        & (P.date <= end))
    return (before_and_during("invoiced", _charges(client, currency), Inv.date, Inv.total)
            + before_and_during("paid", P.select().where(payments), P.date,
                                P.amount - P.refunded)
            + before_and_during("credited", Cr.select().where(credits), Cr.date, Cr.total)
            + ageing + first + open_credit + unapplied)


def _events(client, currency, start, end):
    """The period's (date, kind, reference, charge, payment), in date order: invoices, then
    payments, then credits on the same day."""
    rows = prepared(("statement-events",), _events_query).tuples(
        client=client.id, currency=currency, start=start, end=end)
    return [(_as_date(date), kind, reference, int(charge), int(paid))
            for date, _, _, kind, reference, charge, paid in rows]


def _events_query():
    Inv, P, Cr = models.Invoice, models.Payment, models.Credit
    client, currency = slot("client"), slot("currency")
    start, end = slot("start", Inv.date), slot("end", Inv.date)
    payments, credits = _money_in(client, currency)
    invoices = _charges(client, currency).select(
        Inv.date, Value(0).alias("position"), Inv.id.alias("row_id"), Value("Invoice"),
        Inv.number, Inv.total, Value(0)).where((Inv.date >= start) & (Inv.date <= end))
    payments = P.select(
        P.date, Value(1), P.id, Value("Payment"), fn.COALESCE(fn.NULLIF(P.number, ""),
                                                              P.reference),
        Value(0), P.amount - P.refunded).where(payments & (P.date >= start) & (P.date <= end))
    credits = Cr.select(
        Cr.date, Value(2), Cr.id, Value("Credit"), Cr.number, Value(0), Cr.total).where(
        credits & (Cr.date >= start) & (Cr.date <= end))
    return (invoices + payments + credits).order_by(SQL("1"), SQL("2"), SQL("3"))


def _as_date(value):
    # A union's columns come back as the driver gives them: SQLite's dates are text.
    return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
