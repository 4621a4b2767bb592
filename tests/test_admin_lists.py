"""The back office's lists as billing/admin_lists.py builds them: every sort either way with
the id breaking ties, each searchable column, the status filter, what archiving hides, and
the columns a row carries. (The pages, their query budget and paging are
tests/test_admin_list_queries.py.)

Each kind of record comes three times, two of them tied on every sort key that can tie, so
an order that loses its column or its tie-break shows."""
import datetime as dt

import pytest

import models
from billing.admin_lists import LISTS, contacts_of
from billing.listing import parse_sort
from tests import factories

D1, D2 = dt.date(2026, 10, 1), dt.date(2026, 10, 2)
T1, T2 = dt.datetime(2026, 10, 1, 9), dt.datetime(2026, 10, 2, 9)


@pytest.fixture
def records(db):
    """{list name: [its three records, in the order made]} and the two clients."""
    alpha = factories.client(name="Alpha Works", number="C-ALPHA", email="ap@alpha.example",
                             balance=900, created_at=T2)
    beta = factories.client(name="Beta Trading", number="C-BETA", email="b@beta.example",
                            balance=500, created_at=T1)
    aardvark = factories.client(name="Aardvark", number="C-AARD", balance=500, created_at=T1)
    owners = (alpha, beta, alpha)
    made = {"clients": [alpha, beta, aardvark]}

    def three(model, rows):
        return [model.create(client=owner, currency="USD", **row)
                for owner, row in zip(owners, rows, strict=True)]

    # A column that may repeat holds (high, low, low): sorted, the first record made comes
    # last, and the other two tie.
    made["invoices"] = three(models.Invoice, [
        dict(number="INV-2", status="sent", date=D2, due_date=D2, total=300, balance=300,
             po_number="PO-RED"),
        dict(number="INV-1", status="paid", date=D1, due_date=D1, total=100, balance=0),
        dict(number="INV-3", status="paid", date=D1, due_date=D1, total=100, balance=0)])
    made["quotes"] = three(models.Quote, [
        dict(number="QUO-2", status="sent", date=D2, valid_until=D2, total=300),
        dict(number="QUO-1", status="approved", date=D1, valid_until=D2, total=100),
        dict(number="QUO-3", status="sent", date=D1, valid_until=D2, total=100)])
    made["credits"] = three(models.Credit, [
        dict(number="CR-2", status="sent", date=D2, total=300, balance=300, reason="refund"),
        dict(number="CR-1", status="applied", date=D1, total=100, balance=0, reason="refund"),
        dict(number="CR-3", status="sent", date=D1, total=100, balance=100, reason="refund")])
    made["recurring"] = three(models.RecurringInvoice, [
        dict(number="REC-2", status="active", date=D1, start_date=D1, next_send_date=D2,
             total=300),
        dict(number="REC-1", status="paused", date=D1, start_date=D1, next_send_date=D1,
             total=100),
        dict(number="REC-3", status="active", date=D1, start_date=D1, next_send_date=D1,
             total=100)])
    made["payments"] = three(models.Payment, [
        dict(number="PAY-2", status="completed", date=D2, amount=300, method="card",
             reference="CHQ-RED", gateway_reference="ch_red"),
        dict(number="PAY-1", status="pending", date=D1, amount=100, method="card"),
        dict(number="PAY-3", status="completed", date=D1, amount=100, method="card")])
    made["documents"] = [models.Document.create(client=owner, storage_name=f"s{n}", **row)
                         for n, (owner, row) in enumerate(zip(owners, [
                             dict(filename="b.pdf", size=30, created_at=T2, is_public=True),
                             dict(filename="a.pdf", size=10, created_at=T1),
                             dict(filename="c.pdf", size=10, created_at=T1)], strict=True))]
    made["products"] = [models.Product.create(**row) for row in (
        dict(name="Widget", description="red and round", price=300),
        dict(name="Gadget", price=100),
        dict(name="Zapper", price=100))]
    made["plans"] = [models.Plan.create(currency="USD", **row) for row in (
        dict(name="Pro", plan_group="teams", price=300),
        dict(name="Basic", price=100),
        dict(name="Whole", price=100))]
    made["outbox"] = [models.EmailMessage.create(body_text="Hello", **row) for row in (
        dict(to="b@mail.example", subject="Your invoice", status="sent"),
        dict(to="a@mail.example", subject="Reminder", status="failed", attempts=3,
             last_error="refused"),
        dict(to="c@mail.example", subject="Reminder", status="queued"))]
    return made


def listed(name, search="", status="", archived=False, sort=None, descending=False):
    """The list's first page; without a sort, its default as the view reads one."""
    chosen = LISTS[name]
    if sort is None:
        sort, descending = parse_sort(None, chosen.sort_keys, chosen.default_sort)
    listing = chosen.make(search, status, archived, sort, descending)
    rows, total = listing.fetch(0, 50)
    assert total == len(rows) == listing.count()
    return rows


def ids(rows):
    return [row.id for row in rows]


# What each sort key orders by, read from the record itself (the client's name for "client").
SORT_VALUES = {
    "date": lambda r: r.date, "number": lambda r: r.number, "total": lambda r: r.total,
    "client": lambda r: r.client.name, "due_date": lambda r: r.due_date,
    "balance": lambda r: r.balance, "next": lambda r: r.next_send_date,
    "amount": lambda r: r.amount, "filename": lambda r: r.filename, "size": lambda r: r.size,
    "to": lambda r: r.to, "subject": lambda r: r.subject, "name": lambda r: r.name,
    "price": lambda r: r.price,
}
# "created" is the record's moment where it has one, else its id (the order it was made).
CREATED_BY_MOMENT = {"documents", "clients"}


def sort_value(name, key, record):
    if key == "created":
        return record.created_at if name in CREATED_BY_MOMENT else record.id
    return SORT_VALUES[key](record)


SORTS = [(name, value.lstrip("-")) for name, chosen in LISTS.items() if name != "activity"
         for value, _label in chosen.sorts]


@pytest.mark.parametrize("name", [name for name in LISTS if name != "activity"])
def test_every_sort_orders_by_its_column_either_way_with_the_id_breaking_ties(records, name):
    made = records[name]
    for key in [value.lstrip("-") for value, _label in LISTS[name].sorts]:
        for descending in (False, True):
            expected = sorted(made, key=lambda r: (sort_value(name, key, r), r.id),
                              reverse=descending)
            assert ids(listed(name, sort=key, descending=descending)) == [
                r.id for r in expected], (key, descending)


def test_each_sort_is_not_the_order_made_and_ties_where_it_can(records):
    """The fixture's point: every sort above differs from the order the records were made
    (so one that lost its column shows), and one whose column may repeat has a tie (so one
    that lost its id tie-break shows). "created" by id is the order made, by definition."""
    for name, key in SORTS:
        made = records[name]
        values = [sort_value(name, key, r) for r in made]
        if key == "created" and name not in CREATED_BY_MOMENT:
            continue
        assert sorted(made, key=lambda r: (sort_value(name, key, r), r.id)) != made, (name, key)
        unique = key in ("number", "filename", "to", "name")
        assert len(set(values)) == (3 if unique else 2), (name, key, values)


def test_the_default_sorts(records):
    newest_documents = sorted(records["documents"], key=lambda r: (r.created_at, r.id))[::-1]
    assert ids(listed("documents")) == [r.id for r in newest_documents]
    assert ids(listed("outbox")) == [r.id for r in records["outbox"]][::-1]
    assert [row.name for row in listed("clients")] == ["Aardvark", "Alpha Works",
                                                       "Beta Trading"]
    assert [row.name for row in listed("products")] == ["Gadget", "Widget", "Zapper"]
    assert [row.number for row in listed("invoices")] == ["INV-2", "INV-3", "INV-1"]


SEARCHES = [
    # (list, text, the records (by position in the fixture) it finds)
    ("invoices", "inv-3", [2]), ("invoices", "po-red", [0]), ("invoices", "beta trad", [1]),
    ("invoices", "c-beta", [1]),
    ("quotes", "QUO-1", [1]), ("quotes", "alpha", [0, 2]), ("quotes", "C-ALPHA", [0, 2]),
    ("credits", "CR-3", [2]), ("credits", "Beta", [1]), ("credits", "c-beta", [1]),
    ("recurring", "REC-2", [0]), ("recurring", "beta", [1]), ("recurring", "C-BETA", [1]),
    ("payments", "PAY-1", [1]), ("payments", "chq-red", [0]), ("payments", "CH_RED", [0]),
    ("payments", "Beta", [1]), ("payments", "c-beta", [1]),
    ("documents", "a.pdf", [1]), ("documents", "BETA", [1]), ("documents", "c-alpha", [0, 2]),
    ("products", "gadg", [1]), ("products", "ROUND", [0]),
    ("plans", "basic", [1]), ("plans", "TEAMS", [0]),
    ("outbox", "A@MAIL", [1]), ("outbox", "reminder", [1, 2]), ("outbox", "YOUR", [0]),
]


@pytest.mark.parametrize("name,text,found", SEARCHES)
def test_a_search_finds_its_text_in_each_searchable_column_whatever_the_case(records, name,
                                                                           text, found):
    expected = [records[name][n].id for n in found]
    assert sorted(ids(listed(name, search=text))) == sorted(expected)


def test_clients_are_found_by_name_number_email_or_a_contacts_name_or_email(records):
    alpha, beta, _aardvark = records["clients"]
    factories.contact(beta, first_name="Robin", last_name="Quill", email="rq@beta.example")
    for text, found in (("alpha w", alpha), ("c-beta", beta), ("AP@ALPHA", alpha),
                        ("robin", beta), ("quill", beta), ("rq@beta", beta)):
        assert ids(listed("clients", search=text)) == [found.id], text
    assert listed("clients", search="nobody") == []


@pytest.mark.parametrize("name,status,found", [
    ("invoices", "sent", [0]), ("invoices", "paid", [1, 2]), ("quotes", "approved", [1]),
    ("credits", "sent", [0, 2]), ("recurring", "paused", [1]), ("payments", "pending", [1]),
    ("payments", "completed", [0, 2]), ("outbox", "failed", [1]), ("outbox", "queued", [2]),
])
def test_the_status_filter_keeps_only_that_status(records, name, status, found):
    # The list unfiltered, then filtered, then searched and unfiltered again, in one
    # process: each shape of the query is its own prepared statement.
    assert len(listed(name)) == 3
    assert sorted(ids(listed(name, status=status))) == sorted(
        records[name][n].id for n in found)
    # With a search too: both hold.
    first = records[name][found[0]]
    text = getattr(first, "number", None) or first.to
    assert ids(listed(name, search=text, status=status)) == [first.id]
    assert ids(listed(name, search=text)) == [first.id]
    assert len(listed(name)) == 3


def test_archived_records_leave_their_lists_and_payments_shown_are_the_settled_ones(records):
    for name in ("invoices", "quotes", "credits"):
        archived = records[name][0]
        factories.moved(archived, archived_at=models.utcnow())
        assert archived.id not in ids(listed(name)), name
        assert len(listed(name)) == 2
    failed = factories.moved(records["payments"][0], status="failed")
    assert failed.id not in ids(listed("payments"))
    assert listed("payments", status="failed") == []


def test_archived_clients_and_catalogue_items_show_only_when_asked(records):
    alpha, beta, aardvark = records["clients"]
    factories.moved(beta, archived_at=models.utcnow())
    assert ids(listed("clients")) == [aardvark.id, alpha.id]
    assert ids(listed("clients", archived=True)) == [aardvark.id, alpha.id, beta.id]
    assert ids(listed("clients", search="beta", archived=True)) == [beta.id]
    for name in ("products", "plans"):
        gone = factories.moved(records[name][1], archived_at=models.utcnow())
        assert gone.id not in ids(listed(name))
        assert ids(listed(name, archived=True)) == [gone.id]
        assert ids(listed(name, search=gone.name, archived=True)) == [gone.id]
        assert listed(name, search=records[name][0].name, archived=True) == []


def test_a_rows_columns_are_what_its_list_shows(records):
    (document, *_), (_sent, failed, _queued) = records["documents"], records["outbox"]
    row = listed("documents", search="b.pdf")[0]
    assert (row.id, row.filename, row.size, row.is_public, row.client.id, row.client.name) == (
        document.id, "b.pdf", 30, True, records["clients"][0].id, "Alpha Works")
    assert models.Document.get_by_id(row.id).created_at == row.created_at
    row = listed("outbox", status="failed")[0]
    assert (row.id, row.to, row.subject, row.status, row.attempts, row.last_error) == (
        failed.id, "a@mail.example", "Reminder", "failed", 3, "refused")
    assert row.created_at == models.EmailMessage.get_by_id(failed.id).created_at
    row = next(r for r in listed("clients") if r.name == "Alpha Works")
    assert (row.number, row.email, row.currency, row.balance, row.archived_at) == (
        "C-ALPHA", "ap@alpha.example", "USD", 900, None)
    # Each row reads its status as its record would: an invoice past due is overdue, a
    # quote past its date expired, a payment's unapplied money and its method's name.
    invoice = listed("invoices", search="INV-2")[0]
    assert (invoice.display_status(D2 + dt.timedelta(days=1)), invoice.is_payable,
            invoice.balance_due) == ("overdue", True, 300)
    quote = listed("quotes", search="QUO-2")[0]
    assert quote.display_status(D2 + dt.timedelta(days=1)) == "expired"
    payment = listed("payments", search="PAY-2")[0]
    assert (payment.unapplied, payment.has_unapplied, payment.method_name) == (
        300, True, models.Payment.METHOD_NAMES["card"])

    assert (payment.number, payment.amount, payment.method, payment.reference,
            payment.gateway_reference, payment.status, payment.client.name) == (
        "PAY-2", 300, "card", "CHQ-RED", "ch_red", "completed", "Alpha Works")


def test_plans_count_their_live_subscribers_only(records):
    pro, basic, _whole = records["plans"]
    client = records["clients"][0]
    for status in ("active", "past_due", "active", "cancelled", "trialing"):
        models.Subscription.create(client=client, plan=pro, status=status,
                                   started_at=models.utcnow())
    counts = {row.name: row.subscribers for row in listed("plans")}
    assert counts == {"Pro": 3, "Basic": 0, "Whole": 0}
    assert basic.id in ids(listed("plans"))


def test_contacts_of_the_clients_a_page_shows_in_the_order_made(records):
    alpha, beta, aardvark = records["clients"]
    first, second = factories.contact(alpha), factories.contact(alpha)
    theirs = factories.contact(beta)
    factories.moved(first, email="moved@test.example")
    factories.moved(first, email=first.email)
    found = contacts_of([alpha.id, aardvark.id])
    assert {key: [c.id for c in value] for key, value in found.items()} == {
        alpha.id: [first.id, second.id]}
    assert theirs.id not in [c.id for c in found[alpha.id]]
    shown = found[alpha.id][1]
    assert (shown.first_name, shown.last_name, shown.email, shown.is_active) == (
        second.first_name, second.last_name, second.email, True)
    assert contacts_of([]) == {}


def test_the_activity_log_lists_every_line_newest_first_and_by_client_or_record(records):
    alpha, beta, _aardvark = records["clients"]
    invoice = records["invoices"][0]
    staff = factories.staff("ops@staff.example")
    A = models.Activity
    lines = [A.create(client=alpha, actor="staff", staff=staff, action="invoice.sent",
                      subject_type="invoice", subject_id=invoice.id, created_at=at)
             for at in (T1, T2)]
    lines.append(A.create(client=beta, actor="system", action="client.updated",
                          subject_type="client", subject_id=beta.id, created_at=T1))
    make = LISTS["activity"].make
    every = make("", "", False, "created", True).fetch(0, 50)[0]
    assert ids(every) == [lines[1].id, lines[2].id, lines[0].id]  # newest, then by id
    assert ids(make("", "", False, "created", False).fetch(0, 50)[0]) == [
        lines[0].id, lines[2].id, lines[1].id]
    row = every[0]
    assert (row.client_name, row.staff_name or row.staff_email, row.action) == (
        "Alpha Works", "ops@staff.example", "invoice.sent")
    assert ids(make("", "", False, "created", True, client=beta.id).fetch(0, 50)[0]) == [
        lines[2].id]
    by_record = make("", "", False, "created", True, subject_type="invoice",
                     subject_id=invoice.id).fetch(0, 50)[0]
    assert ids(by_record) == [lines[1].id, lines[0].id]
    assert make("", "", False, "created", True, subject_type="invoice",
                subject_id=invoice.id + 100).fetch(0, 50)[0] == []
    assert ids(make("", "", False, "created", True, subject_type="client").fetch(0, 50)[0]
               ) == [lines[2].id]


def test_an_activity_line_names_who_and_what_from_its_own_statement(records):
    alpha = records["clients"][0]
    invoice, payment = records["invoices"][0], records["payments"][1]
    pat = factories.contact(alpha, first_name="Pat", last_name="Lee", email="pat@a.example")
    bare = factories.contact(alpha, first_name="", last_name="", email="bare@a.example")
    named = factories.staff("ops@staff.example")
    named.name = "Olive Ops"
    named.save()
    unnamed = factories.staff("plain@staff.example")
    A = models.Activity

    def line(**fields):
        return A.create(client=alpha, action="x.y", **fields)
    made = [
        line(actor="contact", contact=pat, subject_type="invoice", subject_id=invoice.id),
        line(actor="contact", contact=bare, subject_type="payment", subject_id=payment.id),
        line(actor="staff", staff=named, subject_type="client", subject_id=alpha.id),
        line(actor="staff", staff=unnamed, subject_type="contact", subject_id=pat.id),
        line(actor="staff_as_contact", staff=named, as_contact=pat, subject_type="quote",
             subject_id=records["quotes"][0].id),
        line(actor="staff_as_contact", staff=named, subject_type="credit",
             subject_id=records["credits"][0].id),
        line(actor="api", staff=unnamed, subject_type="document",
             subject_id=records["documents"][0].id),
        line(actor="api", subject_type="invoice", subject_id=invoice.id + 1000),
        line(actor="system", subject_type="recurringinvoice",
             subject_id=records["recurring"][0].id),
        line(actor="system"),
    ]
    rows = {row.id: row for row in
            LISTS["activity"].make("", "", False, "created", False).fetch(0, 50)[0]}
    assert [(rows[m.id].who, rows[m.id].subject_label) for m in made] == [
        ("Pat Lee", "Invoice INV-2"),
        ("bare@a.example", f"Payment {payment.number}"),
        ("Olive Ops", "Client Alpha Works"),
        ("plain@staff.example", "Contact Pat Lee"),
        ("Olive Ops as Pat Lee", "Quote QUO-2"),
        ("Olive Ops as a contact", "Credit CR-2"),
        ("API token of plain@staff.example", "Document b.pdf"),
        ("API", f"invoice #{invoice.id + 1000}"),  # the record is gone: its kind and id
        ("", "Recurring invoice REC-2"),
        ("", ""),
    ]
    assert [rows[m.id].actor_label for m in made[:3]] == ["Contact", "Contact", "Staff"]
