"""The one list mechanism (billing.listing), rule by rule: sorting and its tie-break, search
patterns, a page with its total, and which rows each portal list holds in which order.
The tab tests show the lists on their pages; these pin what the queries return."""
import datetime as dt

import pytest

import models
from billing import listing
from tests import factories
from tests.listing_support import TODAY, invoice, quote


@pytest.mark.parametrize("value, expected", [
    ("total", ("total", False)), ("-total", ("total", True)), ("", ("date", True)),
    (None, ("date", True)), ("owner", ("date", True)), ("-owner", ("date", True)),
])
def test_a_sort_is_a_known_column_either_way_or_the_default(value, expected):
    assert listing.parse_sort(value, {"date", "total"}, "-date") == expected
    assert listing.parse_sort("bogus", {"date"}, "date") == ("date", False)


@pytest.mark.parametrize("typed, pattern", [
    ("INV", "%INV%"), ("50%", "%50\\%%"), ("a_b", "%a\\_b%"), ("c:\\x", "%c:\\\\x%"),
    ("", "%%")])
def test_a_search_pattern_escapes_the_wildcards_typed(typed, pattern):
    assert listing.like_pattern(typed) == pattern


@pytest.fixture
def client(db):
    return factories.client(name="Gamma Co")


def numbers(list_, offset=0, limit=25):
    rows, total = list_.fetch(offset, limit)
    return [row.number for row in rows], total


def test_invoices_are_sorted_by_any_column_with_the_id_breaking_ties(client):
    a = invoice(client, "A-1", total=500, balance=500)
    b = invoice(client, "B-1", total=500, balance=500)
    c = invoice(client, "C-1", total=100, balance=100)
    assert numbers(listing.invoices(client.id, sort="total", descending=False, today=TODAY)
                   ) == (["C-1", "A-1", "B-1"], 3)
    assert numbers(listing.invoices(client.id, sort="total", descending=True, today=TODAY)
                   ) == (["B-1", "A-1", "C-1"], 3)
    assert (a.id, b.id, c.id) == tuple(sorted((a.id, b.id, c.id)))


def test_a_page_comes_with_the_lists_total_and_past_the_end_is_empty(client):
    for n in range(5):
        invoice(client, f"INV-{n}", date=TODAY - dt.timedelta(days=n))
    everyone = listing.invoices(client.id, today=TODAY)
    assert numbers(everyone, 0, 2) == (["INV-0", "INV-1"], 5)
    assert numbers(everyone, 4, 2) == (["INV-4"], 5)
    assert numbers(everyone, 6, 2) == ([], 0)
    assert everyone.count() == 5
    rows, _ = everyone.fetch(0, 1)
    assert not hasattr(rows[0], listing.TOTAL)  # the total is the list's, not a column


def test_a_kept_count_stands_in_for_the_plain_lists_total(client):
    invoice(client, "INV-1")
    plain = listing.invoices(client.id, today=TODAY, listed=41)
    assert numbers(plain) == (["INV-1"], 41) and plain.count() == 41
    searched = listing.invoices(client.id, search="INV", today=TODAY, listed=41)
    assert numbers(searched) == (["INV-1"], 1) and searched.count() == 1
    filtered = listing.invoices(client.id, status="paid", today=TODAY, listed=41)
    assert numbers(filtered) == ([], 0)


def test_each_invoice_filter_holds_its_own_invoices(client):
    invoice(client, "DRAFT", status="draft")
    invoice(client, "SENT", balance=100)
    invoice(client, "PART", status="partial", balance=50)
    invoice(client, "PAID", status="paid", balance=0)
    invoice(client, "LATE", balance=100, due_date=TODAY - dt.timedelta(days=1))
    invoice(client, "DUE-TODAY", balance=100, due_date=TODAY)
    invoice(client, "LATE-PAID-OFF", balance=0, due_date=TODAY - dt.timedelta(days=1))
    invoice(client, "LATE-CENT", balance=1, due_date=TODAY - dt.timedelta(days=1))
    # Due after the list's today, though long past by the clock: not overdue on that day.
    invoice(client, "DUE-NEXT-WEEK", balance=100, due_date=TODAY + dt.timedelta(days=7))
    invoice(client, "GONE", archived_at=models.utcnow())
    invoice(factories.client(), "THEIRS")

    def holds(status):
        return sorted(numbers(listing.invoices(client.id, status=status, today=TODAY))[0])
    assert holds("all") == ["DUE-NEXT-WEEK", "DUE-TODAY", "LATE", "LATE-CENT", "LATE-PAID-OFF",
                            "PAID", "PART", "SENT"]
    assert holds("unpaid") == ["DUE-NEXT-WEEK", "DUE-TODAY", "LATE", "LATE-CENT",
                               "LATE-PAID-OFF", "PART", "SENT"]
    assert holds("paid") == ["PAID"]
    assert holds("overdue") == ["LATE", "LATE-CENT"]
    rows, _ = listing.invoices(client.id, status="overdue", today=TODAY).fetch(0, 5)
    assert [(row.state, row.label) for row in rows] == [("overdue", "Overdue")] * 2
    rows, _ = listing.invoices(client.id, search="DUE-NEXT", today=TODAY).fetch(0, 5)
    assert [row.state for row in rows] == ["sent"]


def test_a_search_finds_a_number_or_po_number_whatever_the_case(client):
    invoice(client, "INV-100", po_number="PO-77")
    invoice(client, "INV-200", po_number="")
    invoice(client, "50%OFF", po_number="")
    # The plain list and a searched one are two queries, each prepared once.
    assert len(numbers(listing.invoices(client.id, today=TODAY))[0]) == 3
    assert numbers(listing.invoices(client.id, search="inv-1", today=TODAY))[0] == ["INV-100"]
    assert len(numbers(listing.invoices(client.id, today=TODAY))[0]) == 3
    assert numbers(listing.invoices(client.id, search="po-77", today=TODAY))[0] == ["INV-100"]
    assert numbers(listing.invoices(client.id, search="%", today=TODAY))[0] == ["50%OFF"]
    assert numbers(listing.invoices(client.id, search="NV-_00", today=TODAY))[0] == []


def test_each_quote_filter_holds_its_own_quotes(client):
    quote(client, "DRAFT", "draft")
    quote(client, "OPEN", valid_until=TODAY)
    quote(client, "OPEN-NO-END")
    quote(client, "LAPSED", valid_until=TODAY - dt.timedelta(days=1))
    quote(client, "MARKED-EXPIRED", "expired")
    quote(client, "YES", "approved")
    quote(client, "DONE", "converted")
    quote(client, "NO", "declined")
    quote(client, "GONE", archived_at=models.utcnow())

    def holds(status):
        return sorted(numbers(listing.quotes(client.id, status, TODAY))[0])
    assert holds("all") == ["DONE", "LAPSED", "MARKED-EXPIRED", "NO", "OPEN", "OPEN-NO-END",
                            "YES"]
    assert holds("sent") == ["OPEN", "OPEN-NO-END"]
    assert holds("approved") == ["DONE", "YES"]
    assert holds("declined") == ["NO"]
    assert holds("expired") == ["LAPSED", "MARKED-EXPIRED"]
    assert sorted(numbers(listing.quotes(client.id, "all", TODAY, search="open"))[0]) == [
        "OPEN", "OPEN-NO-END"]


def test_credits_are_available_while_sent_or_partial_with_a_balance(client):
    def credit(number, status, balance, **fields):
        return models.Credit.create(client=client, number=number, status=status, total=500,
                                    balance=balance, currency="USD", date=TODAY, **fields)
    credit("DRAFT", "draft", 500)
    credit("OPEN", "sent", 500)
    credit("PART", "partial", 200)
    credit("EMPTY", "sent", 0)
    credit("CENT", "sent", 1)
    credit("USED", "applied", 0)
    credit("GONE", "sent", 500, archived_at=models.utcnow())

    def holds(status):
        return sorted(numbers(listing.credits(client.id, status))[0])
    assert holds("all") == ["CENT", "EMPTY", "OPEN", "PART", "USED"]
    assert holds("available") == ["CENT", "OPEN", "PART"]
    assert holds("applied") == ["EMPTY", "USED"]


def test_payments_shown_are_the_settled_and_pending_ones_newest_first(client):
    def payment(number, status, days_ago, **fields):
        return models.Payment.create(client=client, number=number, status=status,
                                     amount=100, currency="USD", method="card",
                                     date=TODAY - dt.timedelta(days=days_ago), **fields)
    payment("OLD", "completed", 9)
    payment("NEW", "completed", 1)
    payment("WAIT", "pending", 5)
    payment("BACK", "refunded", 3)
    payment("HALF", "partially_refunded", 4)
    payment("FAILED", "failed", 2)
    payment("REF", "completed", 6, reference="Cheque 42", gateway_reference="ch_abc")
    assert numbers(listing.payments(client.id))[0] == ["NEW", "BACK", "HALF", "WAIT", "REF",
                                                       "OLD"]
    assert numbers(listing.payments(client.id, "cheque"))[0] == ["REF"]
    assert numbers(listing.payments(client.id, "CH_AB"))[0] == ["REF"]


def test_allocations_name_what_each_payment_went_to(client):
    inv = invoice(client, "INV-9")
    cr = models.Credit.create(client=client, number="CR-3", status="sent", total=50,
                              balance=50, currency="USD", date=TODAY)
    pay = models.Payment.create(client=client, number="P-1", status="completed", amount=150,
                                currency="USD", method="card", date=TODAY)
    other = models.Payment.create(client=client, number="P-2", status="completed", amount=1,
                                  currency="USD", method="card", date=TODAY)
    # The first allocation is made on another payment and moved onto this one after the
    # second: on PostgreSQL it is then stored after it, and only the id keeps it first.
    to_invoice = models.PaymentAllocation.create(payment=other, invoice=inv, amount=100)
    models.PaymentAllocation.create(payment=pay, credit=cr, amount=50)
    factories.moved(to_invoice, payment=pay)
    found = listing.allocations_of([pay.id, other.id])
    assert list(found) == [pay.id]
    first, second = found[pay.id]
    assert (vars(first), vars(second)) == (
        {"id": first.id, "payment_id": pay.id, "invoice_id": inv.id, "credit_id": None,
         "invoice_public_id": inv.public_id, "invoice_number": "INV-9",
         "credit_public_id": None, "credit_number": None},
        {"id": second.id, "payment_id": pay.id, "invoice_id": None, "credit_id": cr.id,
         "invoice_public_id": None, "invoice_number": None,
         "credit_public_id": cr.public_id, "credit_number": "CR-3"})
    assert first.id < second.id
    # Only the payments asked about: another payment's allocation stays out.
    models.PaymentAllocation.create(payment=other, invoice=inv, amount=1)
    assert list(listing.allocations_of([pay.id])) == [pay.id]
    assert (first.invoice.number, first.invoice.public_id) == ("INV-9", inv.public_id)
    assert (second.credit.number, second.credit.public_id) == ("CR-3", cr.public_id)
    assert listing.allocations_of([]) == {}


def test_documents_show_while_shared_and_their_record_is_visible(client):
    def document(name, days_ago, **fields):
        return models.Document.create(
            client=client, filename=name, storage_name=name, size=1,
            created_at=models.utcnow() - dt.timedelta(days=days_ago), **fields)
    document("old.pdf", 5, is_public=True)
    document("new.pdf", 1, is_public=True)
    document("private.pdf", 0)
    document("of-invoice.pdf", 2, is_public=True, invoice=invoice(client, "INV-5"))
    document("of-draft.pdf", 2, is_public=True, invoice=invoice(client, "D", status="draft"))
    document("of-quote.pdf", 3, is_public=True, quote=quote(client, "Q-5"))
    document("of-draft-quote.pdf", 3, is_public=True, quote=quote(client, "QD", "draft"))
    rows, total = listing.documents(client.id).fetch(0, 25)
    assert [(row.filename, row.invoice.number, row.quote.number) for row in rows] == [
        ("new.pdf", None, None), ("of-invoice.pdf", "INV-5", None),
        ("of-quote.pdf", None, "Q-5"), ("old.pdf", None, None)]
    assert total == 4
    assert [row.filename for row in listing.documents(client.id, "OLD").fetch(0, 25)[0]] == [
        "old.pdf"]


def test_documents_shared_at_the_same_moment_list_the_later_one_first(client):
    moment = models.utcnow() - dt.timedelta(hours=1)
    made = {name: models.Document.create(client=client, filename=name, storage_name=name,
                                         size=1, created_at=moment, is_public=True)
            for name in ("first.pdf", "second.pdf", "third.pdf")}
    # The second one shared earlier and moved onto the moment after the third was made: on
    # PostgreSQL it is then stored last, and only the id keeps it in its place.
    factories.moved(made["second.pdf"], created_at=moment - dt.timedelta(days=1))
    factories.moved(made["second.pdf"], created_at=moment)
    assert [row.filename for row in listing.documents(client.id).fetch(0, 25)[0]] == [
        "third.pdf", "second.pdf", "first.pdf"]


def test_saved_methods_list_the_default_first_then_the_newest(client):
    gateway = models.GatewayConfig.create(kind="demo", label="Demo")

    def method(last4, **fields):
        return models.GatewayToken.create(client=client, gateway=gateway, token=f"t{last4}",
                                          brand="visa", last4=last4, **fields)
    method("1111")
    method("2222", is_default=True)
    method("3333")
    method("4444", deleted_at=models.utcnow())
    assert [row.last4 for row in listing.payment_methods(client.id).all()] == [
        "2222", "3333", "1111"]


def test_subscriptions_list_running_ones_first_then_the_newest(client):
    plan = factories.plan("Basic", 1000)
    now = models.utcnow()

    def subscription(status, days_ago):
        return models.Subscription.create(client=client, plan=plan, status=status,
                                          started_at=now - dt.timedelta(days=days_ago)).id
    made = {"old-active": subscription("active", 30), "cancelled": subscription("cancelled", 1),
            "past-due": subscription("past_due", 10), "new-active": subscription("active", 2),
            "paused": subscription("paused", 3), "tied-a": subscription("active", 20),
            "tied-b": subscription("active", 20)}
    models.Subscription.update(started_at=now - dt.timedelta(days=20)).where(
        models.Subscription.id.in_([made["tied-a"], made["tied-b"]])).execute()
    names = {made_id: name for name, made_id in made.items()}
    listed = [names[row.id] for row in listing.subscriptions(client.id).fetch(0, 25)[0]]
    assert listed == ["new-active", "past-due", "tied-b", "tied-a", "old-active", "cancelled",
                      "paused"]


def test_schedules_list_active_ones_first_soonest_next(client):
    def schedule(number, status, next_in):
        return models.RecurringInvoice.create(
            client=client, number=number, status=status, frequency="monthly",
            start_date=TODAY, total=100, currency="USD",
            next_send_date=None if next_in is None else TODAY + dt.timedelta(days=next_in))
    schedule("LATER", "active", 20)
    schedule("SOON", "active", 2)
    schedule("OPEN-ENDED", "active", None)
    schedule("PAUSED", "paused", 1)
    schedule("DRAFT", "draft", 1)
    assert numbers(listing.recurring(client.id))[0] == ["SOON", "LATER", "OPEN-ENDED",
                                                        "PAUSED"]
