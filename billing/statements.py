"""Account statements: what was invoiced and paid in a period, with running balance and ageing."""
import datetime as dt
from dataclasses import dataclass, field

from peewee import fn

import models
from billing import DomainError
from i18n import gettext

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
    """
    Inv, P = models.Invoice, models.Payment
    currency = client.currency
    invoices = Inv.select().where((Inv.client == client) & (Inv.currency == currency)
                                & Inv.status.not_in(("draft", "cancelled", "void")))
    payments = P.select().where((P.client == client) & (P.currency == currency)
                                & (P.method != "credit")
                                & P.status.in_(("completed", "partially_refunded", "refunded")))
    Cr = models.Credit
    credits = Cr.select().where((Cr.client == client) & (Cr.currency == currency)
                                & Cr.status.not_in(("draft", "void"))
                                & (Cr.reason != "overpayment"))
    st = Statement(client=client, currency=currency, start=start, end=end,
                   status=status if status in dict(STATUSES) else "all")
    st.opening = (sum(i.total for i in invoices.where(Inv.date < start))
                  - sum(p.amount - p.refunded for p in payments.where(P.date < start))
                  - sum(c.total for c in credits.where(Cr.date < start)))
    events = [(i.date, 0, "Invoice", i.number, i.total, 0) for i in
              invoices.where((Inv.date >= start) & (Inv.date <= end))]
    events += [(p.date, 1, "Payment", p.number or p.reference, 0, p.amount - p.refunded)
               for p in payments.where((P.date >= start) & (P.date <= end))]
    events += [(c.date, 2, "Credit", c.number, 0, c.total)
               for c in credits.where((Cr.date >= start) & (Cr.date <= end))]
    balance = st.opening
    for date, _, kind, reference, charge, paid in sorted(events, key=lambda e: e[:2]):
        balance += charge - paid
        st.invoiced += charge
        st.paid += paid
        st.rows.append((date, kind, reference, charge, paid, balance))
    st.closing = balance
    if st.status != "all":
        st.rows = [(i.date, "Invoice", i.number, i.total, 0, i.balance) for i in
                   invoices.where((Inv.date >= start) & (Inv.date <= end)
                                  & ((Inv.balance > 0) if st.status == "unpaid"
                                     else (Inv.balance <= 0)))
                   .order_by(Inv.date, Inv.id)]
    st.ageing = ageing(invoices, end)
    st.unused = unused(client, currency, end)
    return st


def unused(client, currency, as_of):
    """Open credit (over-payments included) and unapplied payments, dated by `as_of`, at
    their balances now, as the ageing's invoice balances are."""
    from billing import allocation, applying
    Cr, P = models.Credit, models.Payment
    credit = sum(c.balance for c in allocation.available_credit(client.id, currency)
                 .where(Cr.date <= as_of))
    waiting = sum(p.unapplied for p in applying.unapplied_payments(client.id, currency)
                  .where(P.date <= as_of))
    return credit + waiting


def ageing(invoices, as_of):
    """Outstanding balances by how long past due they are on the statement's end date."""
    buckets = [0] * len(AGEING)
    for invoice in invoices.where(models.Invoice.balance > 0):
        if invoice.date > as_of:
            continue
        late = (as_of - (invoice.due_date or invoice.date)).days
        for index, (_, low, high) in enumerate(AGEING):
            if (low is None and late <= 0) or (low is not None and late >= low
                                                and (high is None or late <= high)):
                buckets[index] += invoice.balance
                break
    return [(label, amount) for (label, _, _), amount in zip(AGEING, buckets, strict=True)]
