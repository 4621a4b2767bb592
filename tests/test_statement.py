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
