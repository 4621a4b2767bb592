import datetime as dt

import pytest

import models
from billing import DomainError, invoices, payments, statements
from tests import factories
from tests.core_support import pdf_text


def d(day):
    return dt.date(2026, 10, day)


def test_statement_running_balance_and_ageing(db):
    client = factories.client()
    before = factories.invoice(client, date=dt.date(2026, 9, 1), due_date=dt.date(2026, 9, 15))
    factories.invoice(client, status="draft", date=d(3))
    inside = factories.invoice(client, date=d(5), due_date=d(20))
    with models.db.atomic():
        payments.record_payment(client, 4000, "USD", [(before, 4000)], method="manual",
                                date=d(10))
    invoices.mark_paid(models.Invoice.get_by_id(inside.id))
    models.Payment.update(date=d(12)).where(models.Payment.amount == 10000).execute()
    st = statements.build(client, d(1), d(31))
    assert st.opening == 10000
    assert [(r[1], r[3], r[4]) for r in st.rows] == [
        ("Invoice", 10000, 0), ("Payment", 0, 4000), ("Payment", 0, 10000)]
    assert st.closing == 10000 + 10000 - 4000 - 10000 == 6000
    assert dict(st.ageing)["31–60 days"] == 6000  # due Sep 15, 46 days late on Oct 31


@pytest.mark.parametrize("start,end,message", [
    ("2026-13-01", "2026-10-01", "YYYY-MM-DD"),
    ("2026-10-05", "2026-10-01", "on or before"),
    ("2015-01-01", "2026-10-01", "five years"),
])
def test_bad_periods_are_refused(start, end, message):
    with pytest.raises(DomainError, match=message):
        statements.parse_period(start, end)


def test_statement_tab_and_pdf(client, auth, world):
    auth.login("a1@alpha.example")
    page = client.get("/client/statement?start_date=2026-09-01&end_date=2026-10-31")
    assert page.status_code == 200 and "Closing balance" in page.get_data(as_text=True)
    bad = client.get("/client/statement?start_date=2026-10-31&end_date=2026-09-01")
    assert bad.status_code == 422 and "on or before" in bad.get_data(as_text=True)
    response = client.get("/client/statement/pdf?start_date=2026-09-01&end_date=2026-10-31")
    assert response.status_code == 200
    text = pdf_text(response.data)
    assert "Alpha Ltd" in text and "Balance due" in text
    # The period, and 300.00 closing: sent, partial and paid invoices of Oct 1 (100.00 each),
    # no payments recorded; the draft and the cancelled one are not charges.
    assert "Sep 1, 2026 – Oct 31, 2026" in text and "$300.00" in text
    assert "$400.00" not in text and "$500.00" not in text
    assert world["invoices"]["sent"].number in text
    assert world["invoices"]["draft"].number not in text
    assert world["other"].number not in text


def test_credit_moves_no_money_twice(db):
    """An over-payment's credit is in its payment; spending it later is not money again.
    A goodwill credit is money in when issued, and spending it is not."""
    from billing import checkout, credits
    from billing import payments as payment_service
    company = models.Company.current()
    client = factories.client()
    contact = factories.contact(client)
    staff = factories.staff()
    first = factories.invoice(client, date=d(2), due_date=d(30))  # 100.00
    payment_service.record_manual(staff, client, "150.00", [first.id], method="bank_transfer",
                                  locale="en_US", date=d(3))  # 50.00 over: kept as credit
    credits.create_credit(client, [{"product": "Goodwill", "unit_cost": 2000}], date=d(4),
                          reason="adjustment")  # 20.00 more credit
    second = factories.invoice(client, date=d(5), due_date=d(30),
                               lines=[{"product": "Work", "unit_cost": 7000}])  # 70.00
    outcome = checkout.pay(contact, [(second.public_id, None)], company,
                           idempotency_key="statement-credit-test-key-000000",
                           use_credit=True)
    assert outcome.payment.method == "credit"
    assert models.Invoice.get_by_id(second.id).balance == 0
    st = statements.build(client, d(1), d(31))
    # 100 + 70 charged; 150 paid; 20 credited: the client is owed nothing and owes nothing.
    assert (st.invoiced, st.paid, st.closing) == (17000, 17000, 0)
    assert [r[1] for r in st.rows] == ["Invoice", "Payment", "Credit", "Invoice"]


def test_ageing_buckets_and_their_boundaries(db):
    """Days past due on the statement's end date: 0 or fewer is Current, then 1–30, 31–60,
    61–90 and over 90. Each invoice owes a different amount, so each bucket names its own."""
    client = factories.client()
    end = d(31)
    owed = {}  # days late -> amount
    for late, amount in ((-5, 1), (0, 2), (1, 4), (30, 8), (31, 16), (60, 32), (61, 64),
                         (90, 128), (91, 256), (400, 512)):
        due = end - dt.timedelta(days=late)
        factories.invoice(client, date=due - dt.timedelta(days=30), due_date=due,
                          lines=[{"product": "Work", "unit_cost": amount}])
        owed[late] = amount
    # Not owed on the end date: paid, a draft, and an invoice dated after the period.
    invoices.mark_paid(factories.invoice(client, date=d(1), due_date=d(2)))
    factories.invoice(client, status="draft", date=d(1), due_date=d(2))
    factories.invoice(client, date=dt.date(2026, 11, 2), due_date=dt.date(2026, 11, 3))
    st = statements.build(client, d(1), end)
    assert st.ageing == [("Current", 1 + 2), ("1–30 days", 4 + 8), ("31–60 days", 16 + 32),
                         ("61–90 days", 64 + 128), ("Over 90 days", 256 + 512)]
    # Ageing is by due date, not by invoice date: a long-dated invoice not yet due is current.
    later = factories.client()
    factories.invoice(later, date=dt.date(2026, 6, 1), due_date=dt.date(2026, 11, 30),
                      lines=[{"product": "Work", "unit_cost": 900}])
    assert statements.build(later, d(1), end).ageing[0] == ("Current", 900)


def test_statement_page_shows_the_ageing_table(client, auth, world):
    auth.login("a1@alpha.example")
    html = client.get("/client/statement?start_date=2026-10-01&end_date=2026-10-31") \
        .get_data(as_text=True)
    for label in ("Current", "1–30 days", "31–60 days", "61–90 days", "Over 90 days"):
        assert label in html


def test_unused_credit_and_payments_make_the_ageing_add_up_to_the_closing_balance(db):
    """A prepaid client: the invoices' ageing counts what they owe, the unused line what the
    client has paid or been credited beyond them; together they are the closing balance."""
    from billing import credits
    from billing import payments as payment_service
    client = factories.client()
    staff = factories.staff()
    today = models.utcnow().date()
    owed = factories.invoice(client, date=today, due_date=today)  # 100.00, current
    payment_service.record_manual(staff, client, "150.00", [owed.id], method="cheque",
                                  locale="en_US", date=today)  # 50.00 over: a credit
    credits.create_credit(client, [{"product": "Goodwill", "unit_cost": 2000}], date=today,
                          reason="adjustment")  # 20.00 more
    factories.invoice(client, date=today, due_date=today,
                      lines=[{"product": "Work", "unit_cost": 3000}])  # 30.00, unpaid
    payment_service.record_manual(staff, client, "12.50", [], method="cheque",
                                  locale="en_US", date=today)  # a pre-payment, unapplied
    st = statements.build(client, today.replace(day=1), today)
    assert dict(st.ageing)["Current"] == 3000
    assert st.unused == 5000 + 2000 + 1250
    assert st.net_owed == st.closing == 3000 - 8250
    # Money that arrives after the statement's end is not on it.
    later = statements.build(client, today.replace(day=1) - dt.timedelta(days=40),
                             today.replace(day=1) - dt.timedelta(days=1))
    assert later.unused == 0


def test_statement_page_and_pdf_show_the_unused_line_only_when_there_is_some(client, auth,
                                                                            world):
    auth.login("a1@alpha.example")
    path = "/client/statement?start_date=2026-10-01&end_date=2026-10-31"
    assert "Unused credit" not in client.get(path).get_data(as_text=True)
    with models.db.atomic():
        alpha = models.Contact.get(models.Contact.email == "a1@alpha.example").client
        from billing import credits
        credits.create_credit(alpha, [{"product": "Goodwill", "unit_cost": 1500}],
                              date=d(4), reason="adjustment")
    html = client.get(path).get_data(as_text=True)
    assert "Unused credit and payments" in html and "Net owed" in html
    response = client.get("/client/statement/pdf?start_date=2026-10-01&end_date=2026-10-31")
    assert response.status_code == 200
    text = pdf_text(response.data)
    assert "UNUSED CREDIT AND" in text  # headers wrap in the table: words, not the phrase
    assert "-$15.00 $285.00" in text.replace("−", "-")  # unused, then net owed


def test_statement_pdf_rows_line_up_in_the_contacts_language(app, db):
    """The ledger's columns are as wide as their widest cell (pdf.statement_ledger): every
    line is as long as the heading, amounts end where their column ends, and a reference too
    long for the item column is cut with an ellipsis."""
    import i18n
    import pdf
    client = factories.client(name="Gamma GmbH")
    st = statements.Statement(client=client, currency="EUR", start=d(1), end=d(31))
    st.opening = 5000
    st.rows = [(d(2), "Invoice", "INV-7", 123456, 0, 128456),
               (d(9), "Payment", "P" * 40, 0, 3456, 125000)]
    with app.test_request_context(), i18n.using("de_DE"):
        heading, lines = pdf.statement_ledger(st, "de_DE")
        text = pdf_text(pdf.statement_pdf(st, "de_DE"))
    assert heading.split() == ["Datum", "Position", "Belastungen", "Zahlungen", "Saldo"]
    assert {len(line) for line in lines} == {len(heading)}
    assert lines[0].startswith("01.10.2026") and "Anfangssaldo" in lines[0]
    assert lines[0].endswith(" 50,00\xa0€")
    invoice = lines[1]
    assert invoice.startswith("02.10.2026") and "Rechnung INV-7" in invoice
    charges_end = heading.index("Belastungen") + len("Belastungen")
    assert invoice[:charges_end].endswith(" 1.234,56\xa0€")
    payments_end = heading.index("Zahlungen") + len("Zahlungen")
    assert invoice[charges_end:payments_end].strip() == ""  # no payment on an invoice's line
    assert lines[2][:payments_end].endswith(" 34,56\xa0€")
    assert invoice.endswith(" 1.284,56\xa0€")
    cut = "Zahlung " + "P" * 21 + "…"
    assert cut in lines[2] and "P" * 22 not in lines[2]
    assert "Rechnung INV-7 1.234,56 € 1.284,56 €" in text.replace("\xa0", " ")
    assert f"{cut} 34,56 € 1.250,00 €" in text.replace("\xa0", " ")


# -- one account, every kind of row: the sums, the running balance and the filters --------

def ledger():
    """A USD client's account around October 2026, with every kind of record the statement
    must count or leave out, and another client's and another currency's to leave out.
    Returns (client, {name: record})."""
    client, other = factories.client(), factories.client()
    made = {}

    def invoice(name, date, total, balance, status, due=None, owner=client, currency="USD"):
        made[name] = models.Invoice.create(
            client=owner, number=f"INV-{name}", status=status, date=date, currency=currency,
            due_date=due or date + dt.timedelta(days=30), total=total, balance=balance)

    def payment(name, date, amount, applied=0, refunded=0, status="completed", method="card",
                owner=client):
        made[name] = models.Payment.create(
            client=owner, number=f"PAY-{name}", status=status, date=date, currency="USD",
            amount=amount, applied=applied, refunded=refunded, method=method)

    def credit(name, date, total, balance, status="sent", reason="refund"):
        made[name] = models.Credit.create(
            client=client, number=f"CR-{name}", status=status, date=date, currency="USD",
            total=total, balance=balance, reason=reason)

    # Before the period: what the opening balance is made of.
    payment("refunded-early", dt.date(2026, 8, 20), 500, refunded=500, status="refunded")
    invoice("sep", dt.date(2026, 9, 1), 10000, 4600, "partial", due=dt.date(2026, 9, 15))
    payment("sep", dt.date(2026, 9, 20), 4000, applied=4000)
    credit("sep", dt.date(2026, 9, 25), 1000, 1000)
    # On the first day: more of September's invoice paid, by a credit and by card. (Made
    # before the day's invoice, and the credit before the payment: a day's rows go invoices,
    # payments, credits whatever order they were made in.)
    credit("partial-start", d(1), 600, 200, status="partial")
    credit("cent", dt.date(2026, 9, 28), 1, 1)
    payment("start", d(1), 1000, applied=1000)
    # In the period (the cent-owing invoice made first: lists go by date, not by id).
    invoice("cent", d(20), 100, 1, "partial")
    payment("cent", d(21), 99, applied=99)
    invoice("void", d(5), 9999, 0, "void")
    invoice("cancelled", d(10), 3000, 0, "cancelled")
    invoice("start", d(1), 20000, 19500, "partial", due=d(31))
    invoice("draft", d(11), 7000, 7000, "draft")
    invoice("euro", d(12), 8000, 8000, "sent", currency="EUR")
    payment("prepaid", d(15), 2500, applied=500)  # 500 of it to the first day's invoice
    made["prepaid"].reference, made["prepaid"].number = "Cheque 1001", ""  # no number given
    made["prepaid"].save()
    payment("part-refunded", d(16), 3000, refunded=1000, status="partially_refunded")
    payment("refunded", d(17), 800, refunded=800, status="refunded")
    payment("with-credit", d(18), 500, applied=500, method="credit")
    payment("failed", d(19), 999, status="failed")
    credit("draft", d(22), 300, 300, status="draft")
    credit("void", d(23), 400, 0, status="void")
    invoice("end", d(31), 5000, 0, "paid")
    payment("end", d(31), 5701, applied=5700)  # 700 over (the credit below), 1 cent left
    credit("over", d(31), 700, 700, reason="overpayment")
    credit("end", d(31), 50, 50)
    # After the period, and another client's: never on this statement.
    invoice("november", dt.date(2026, 11, 2), 1234, 1234, "sent")
    payment("november", dt.date(2026, 11, 3), 1234)
    invoice("theirs", d(8), 4321, 4321, "sent", owner=other)
    payment("theirs", d(9), 4321, owner=other)
    payment("theirs-early", dt.date(2026, 7, 1), 100, owner=other)
    return client, made


def test_a_statement_counts_each_kind_of_record_once_and_leaves_the_rest_out(db):
    client, made = ledger()
    st = statements.build(client, d(1), d(31))
    # Opening: the September invoice less its payment and the two credits (the refunded
    # payment moved nothing).
    assert st.opening == 10000 - 4000 - 1000 - 1 == 4999
    assert st.invoiced == 20000 + 100 + 5000
    # The credit spending moved no money; the part-used credit counts whole.
    assert st.paid == 1000 + 600 + 2500 + (3000 - 1000) + 99 + 5701 + 50 == 11950
    assert st.closing == 4999 + 25100 - 11950 == 18149
    assert [row[:5] for row in st.rows] == [
        (d(1), "Invoice", "INV-start", 20000, 0),
        (d(1), "Payment", "PAY-start", 0, 1000),
        (d(1), "Credit", "CR-partial-start", 0, 600),
        (d(15), "Payment", "Cheque 1001", 0, 2500),  # no number: its reference
        (d(16), "Payment", "PAY-part-refunded", 0, 2000),
        (d(17), "Payment", "PAY-refunded", 0, 0),
        (d(20), "Invoice", "INV-cent", 100, 0),
        (d(21), "Payment", "PAY-cent", 0, 99),
        (d(31), "Invoice", "INV-end", 5000, 0),
        (d(31), "Payment", "PAY-end", 0, 5701),
        (d(31), "Credit", "CR-end", 0, 50),
    ]
    assert [row[5] for row in st.rows] == [24999, 23999, 23399, 20899, 18899, 18899, 18999,
                                           18900, 23900, 18199, 18149]
    # What is owed on Oct 31, by age, and the money no invoice has taken: they net to the
    # closing balance.
    assert st.ageing == [("Current", 19501), ("1–30 days", 0), ("31–60 days", 4600),
                         ("61–90 days", 0), ("Over 90 days", 0)]
    # Open credits (the over-payment's too) and what of each payment no invoice took.
    assert st.unused == (1000 + 1 + 200 + 700 + 50) + (2000 + 2000 + 1) == 5952
    assert st.net_owed == st.closing
    assert st.first_date == dt.date(2026, 8, 20)  # the refunded payment came first


@pytest.mark.parametrize("status,rows", [
    ("unpaid", [(d(1), "Invoice", "INV-start", 20000, 0, 19500),
                (d(20), "Invoice", "INV-cent", 100, 0, 1)]),
    ("paid", [(d(31), "Invoice", "INV-end", 5000, 0, 0)]),
])
def test_the_paid_and_unpaid_filters_list_the_periods_invoices_by_their_balance(db, status,
                                                                               rows):
    client, _made = ledger()
    st = statements.build(client, d(1), d(31), status)
    assert (st.status, st.rows) == (status, rows)
    # The sums stay the whole account's.
    assert (st.opening, st.closing, st.unused) == (4999, 18149, 5952)


def test_an_unknown_filter_shows_all_activity(db):
    client, _made = ledger()
    st = statements.build(client, d(1), d(31), "overdue")
    assert st.status == "all" and len(st.rows) == 11
    assert statements.build(client, d(1), d(31)).status == "all"  # the default


def test_the_first_date_is_the_first_invoice_when_no_payment_came_before_it(db):
    client = factories.client()
    factories.invoice(client, date=dt.date(2026, 3, 4))
    factories.invoice(factories.client(), date=dt.date(2025, 1, 2))  # another client's
    assert statements.build(client, d(1), d(31)).first_date == dt.date(2026, 3, 4)


def test_an_invoice_without_a_due_date_ages_from_its_date(db):
    client = factories.client()
    models.Invoice.create(client=client, number="INV-1", status="sent", date=dt.date(2026, 9, 1),
                          currency="USD", total=10000, balance=10000, due_date=None)
    assert dict(statements.build(client, d(1), d(31)).ageing)["31–60 days"] == 10000


def test_a_client_with_no_records_has_an_empty_statement(db):
    st = statements.build(factories.client(), d(1), d(31))
    assert (st.opening, st.invoiced, st.paid, st.closing, st.unused, st.rows) == (
        0, 0, 0, 0, 0, [])
    assert st.first_date is None and [amount for _, amount in st.ageing] == [0] * 5


def test_one_days_records_list_in_the_order_they_were_made_even_after_an_edit(db):
    """Each first record is made on another day and moved onto the second's day afterwards:
    the rows of a day go invoices, payments, credits, each kind in the order made."""
    client = factories.client()
    made = {}
    for name in ("first", "second"):
        day = d(4) if name == "first" else d(5)
        made["INV-" + name] = models.Invoice.create(
            client=client, number=f"INV-{name}", status="sent", date=day, currency="USD",
            due_date=d(30), total=1000, balance=1000)
        made["PAY-" + name] = models.Payment.create(
            client=client, number=f"PAY-{name}", status="completed", date=day,
            currency="USD", amount=100, method="card")
        made["CR-" + name] = models.Credit.create(
            client=client, number=f"CR-{name}", status="sent", date=day, currency="USD",
            total=10, balance=10, reason="refund")
    for number in ("INV-first", "PAY-first", "CR-first"):
        factories.moved(made[number], date=d(5))
    rows = [row[1:3] for row in statements.build(client, d(1), d(31)).rows]
    assert rows == [("Invoice", "INV-first"), ("Invoice", "INV-second"),
                    ("Payment", "PAY-first"), ("Payment", "PAY-second"),
                    ("Credit", "CR-first"), ("Credit", "CR-second")]
    unpaid = statements.build(client, d(1), d(31), "unpaid").rows
    assert [row[2] for row in unpaid] == ["INV-first", "INV-second"]
