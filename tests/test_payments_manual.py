"""billing/payments.py itself: a payment recorded with its allocations (mark paid, the demo),
and money staff record that arrived outside the portal (the API's record_manual, the back
office's form with an amount per invoice). The forms' pages are in
test_admin_payments_form.py; money the portal takes is in test_payments.py."""
import datetime as dt

import pytest

import models
import money
from billing import FieldErrors, transaction
from billing import payments as payment_service
from tests import factories
from tests.core_support import activities, refusal, snapshot
from tests.payments_support import make_gateway, reload
from tests.quotes_support import credit


@pytest.fixture
def books(db):
    factories.company()
    client = factories.client(currency="USD")
    return {"client": client, "staff": factories.staff(),
            "a": factories.invoice(client),  # 100.00
            "b": factories.invoice(client, lines=[{"product": "B", "unit_cost": 5000}]),
            "other": factories.invoice(factories.client(currency="USD"))}


def state(invoice):
    inv = models.Invoice.get_by_id(invoice.id)
    return inv.status, inv.balance


def money_of(client):
    c = models.Client.get_by_id(client.id)
    return c.paid_to_date, c.balance


def allocations(payment):
    A = models.PaymentAllocation
    return sorted(((a.invoice_id, a.credit_id and "credit", a.amount)
                   for a in A.select().where(A.payment == payment)), key=repr)


def test_a_payment_is_recorded_with_what_it_pays(books):
    client, a, b = books["client"], books["a"], books["b"]
    contact = factories.contact(client)
    before = money_of(client)
    with transaction():
        payment = payment_service.record_payment(
            client, 13000, "USD", [(a, 10000), (b, 2000)], method="cheque",
            method_label="Cheque 123", staff=books["staff"], contact=contact,
            reference="REF-9", idempotency_key="key-record-1", date=dt.date(2026, 2, 3),
            status="completed")
    p = models.Payment.get_by_id(payment.id)
    assert (p.number, p.status, p.date, p.currency, p.amount, p.applied, p.method,
            p.method_label, p.reference, p.idempotency_key, p.contact_id, p.gateway_id) == (
        "PAY-00001", "completed", dt.date(2026, 2, 3), "USD", 13000, 12000, "cheque",
        "Cheque 123", "REF-9", "key-record-1", contact.id, None)
    assert allocations(p) == sorted([(a.id, None, 10000), (b.id, None, 2000)], key=repr)
    assert (state(a), state(b)) == (("paid", 0), ("partial", 3000))
    assert money_of(client) == (before[0] + 12000, before[1] - 12000)
    assert activities("payment.created") == [
        (p.id, client.id, contact.id, books["staff"].id, "13000 USD")]


def test_a_payment_dated_today_by_default_and_a_cent_is_an_amount(books):
    others = money_of(books["other"].client)
    with transaction():
        payment = payment_service.record_payment(books["client"], 1, "USD", [(books["a"], 1)],
                                                 method="cash")
    p = models.Payment.get_by_id(payment.id)
    assert (p.date, p.status, p.applied, p.reference, p.method_label, p.gateway_id,
            p.gateway_reference, p.idempotency_key, p.contact_id) == (
        models.utcnow().date(), "completed", 1, "", "", None, None, None, None)
    assert state(books["a"]) == ("partial", 9999)
    assert money_of(books["other"].client) == others  # only this client's totals move


def test_a_payment_through_a_gateway_keeps_the_gateways_reference(books):
    demo = make_gateway("demo")
    with transaction():
        payment = payment_service.record_payment(
            books["client"], 500, "USD", [(books["a"], 500)], method="card", gateway=demo,
            gateway_reference="demo_ch_1")
    p = models.Payment.get_by_id(payment.id)
    assert (p.gateway_id, p.gateway_reference) == (demo.id, "demo_ch_1")


def test_a_partial_deposit_asked_for_shrinks_as_it_is_paid(books):
    a = books["a"]
    models.Invoice.update(partial=3000).where(models.Invoice.id == a.id).execute()
    a = models.Invoice.get_by_id(a.id)
    with transaction():
        payment_service.record_payment(books["client"], 1000, "USD", [(a, 1000)], method="cash")
    assert models.Invoice.get_by_id(a.id).partial == 2000
    with transaction():
        payment_service.record_payment(books["client"], 5000, "USD", [(a, 5000)], method="cash")
    assert models.Invoice.get_by_id(a.id).partial == 0


@pytest.mark.parametrize("amount, parts, message", [
    (0, [], "The amount must be above zero."),
    (-100, [], "The amount must be above zero."),
    (1000, [1000, 1], "More was allocated than the payment brings."),
])
def test_a_payment_that_does_not_add_up_is_refused(books, amount, parts, message):
    lines = list(zip([books["a"], books["b"]], parts, strict=False))
    error = refusal(lambda: payment_service.record_payment(books["client"], amount, "USD",
                                                           lines, method="cash"))
    assert (error.field, error.message) == ("amount", message)


@pytest.mark.parametrize("which, amount, message", [
    ("other", 100, "That invoice belongs to another client."),
    ("euro", 100, "Invoice {} is in EUR."),
    ("draft", 100, "Invoice {} cannot take a payment."),
    ("paid", 100, "Invoice {} cannot take a payment."),
    ("a", 10001, "Invoice {} has a balance of less than that."),
    ("a", 0, "Invoice {} has a balance of less than that."),
])
def test_an_allocation_an_invoice_cannot_take_is_refused(books, which, amount, message):
    client = books["client"]
    invoice = {"euro": lambda: factories.invoice(client, currency="EUR"),
               "draft": lambda: factories.invoice(client, status="draft"),
               "paid": lambda: factories.invoice(client, status="paid")}.get(
        which, lambda: books[which])()

    def record():
        with transaction():
            payment_service.record_payment(client, 20000, "USD", [(invoice, amount)],
                                           method="cash")
    assert refusal(record).message == message.format(invoice.number)


def test_money_received_goes_to_the_invoices_in_order_and_the_rest_is_credit(books):
    client, staff, a, b = books["client"], books["staff"], books["a"], books["b"]
    payment = payment_service.record_manual(
        staff, client, "1.234,56", [b.id, a.id], method="bank_transfer", locale="de",
        reference="R" * 150, date=dt.date(2026, 4, 5), idempotency_key="manual-key-1")
    p = models.Payment.get_by_id(payment.id)
    assert (p.amount, p.applied, p.method, p.method_label, p.reference, p.date, p.status) == (
        123456, 123456, "bank_transfer", "Bank transfer", "R" * 100, dt.date(2026, 4, 5),
        "completed")
    assert allocations(p) == sorted([(a.id, None, 10000), (b.id, None, 5000),
                                     (None, "credit", 108456)], key=repr)
    assert (state(a), state(b)) == (("paid", 0), ("paid", 0))
    assert activities("payment.recorded") == [
        (p.id, client.id, None, staff.id, "123456 USD bank_transfer")]
    # The same key again (a double submit) returns the payment and records nothing.
    before = snapshot()
    again = payment_service.record_manual(staff, client, "1.234,56", [b.id, a.id],
                                          method="bank_transfer", locale="de",
                                          idempotency_key="manual-key-1")
    assert (again.id, snapshot()) == (p.id, before)


def test_money_received_asks_for_no_receipt_and_spends_no_credit_unless_told(books):
    client, staff, a = books["client"], books["staff"], books["a"]
    factories.company(send_receipts=True)
    factories.contact(client)
    kept = credit(client, 2500)
    plain = payment_service.record_manual(staff, client, "10.00", [a.id], method="cash",
                                          locale=money.PLAIN)
    each = payment_service.record_manual_applied(staff, client, "10.00", [(a.id, "10.00")],
                                                 method="cash", locale=money.PLAIN)
    for payment in (plain, each):
        p = models.Payment.get_by_id(payment.id)
        assert (p.reference, p.notes, p.amount, p.applied) == ("", "", 1000, 1000)
    assert [p.number for p in (plain, each)] == ["PAY-00001", "PAY-00002"]
    assert models.EmailMessage.select().count() == 0
    assert (reload(kept).balance, state(a)) == (2500, ("partial", 8000))
    assert activities("payment.recorded") == [
        (plain.id, client.id, None, staff.id, "1000 USD cash"),
        (each.id, client.id, None, staff.id, "1000 USD cash")]
    payment_service.record_manual_applied(staff, client, "10.00", [(a.id, "10.00")],
                                          method="cash", locale=money.PLAIN,
                                          email_receipt=True)
    assert models.EmailMessage.select().count() == 1


@pytest.mark.parametrize("method, text, field, message", [
    ("gift", "10.00", "method", "Choose how the money arrived."),
    ("cash", "0", "amount", "The amount must be above zero."),
    ("cash", "-5.00", "amount", None),
    ("cash", "ten", "amount", None),
])
def test_money_received_that_cannot_be_read_is_refused(books, method, text, field, message):
    error = refusal(lambda: payment_service.record_manual(
        books["staff"], books["client"], text, [books["a"].id], method=method,
        locale=money.PLAIN))
    assert error.field == field
    if message is None:  # money.parse's own words
        with pytest.raises(money.MoneyError) as parse_error:
            money.parse(text, "USD", money.PLAIN)
        message = str(parse_error.value)
    assert error.message == message


@pytest.mark.parametrize("which, message", [
    ("other", "That invoice belongs to another client."),
    ("missing", "That invoice belongs to another client."),
    ("euro", "Invoice {} is in EUR."),
    ("paid", "Invoice {} cannot take a payment."),
])
def test_money_received_for_an_invoice_it_cannot_pay_is_refused(books, which, message):
    client = books["client"]
    invoice = {"euro": lambda: factories.invoice(client, currency="EUR"),
               "paid": lambda: factories.invoice(client, status="paid"),
               "missing": lambda: models.Invoice(id=10 ** 9, number="none")}.get(
        which, lambda: books[which])()
    error = refusal(lambda: payment_service.record_manual(
        books["staff"], client, "10.00", [books["a"].id, invoice.id], method="cash",
        locale=money.PLAIN))
    assert (error.field, error.message) == ("invoices", message.format(invoice.number))


def test_an_amount_per_invoice_is_applied_and_the_rest_is_credit(books):
    client, staff, a, b = books["client"], books["staff"], books["a"], books["b"]
    draft = factories.invoice(client, status="draft")
    payment = payment_service.record_manual_applied(
        staff, client, "200.00", [(a.id, "60.00"), (b.id, ""), (draft.id, "0"),
                                  (books["other"].id, None)],
        method="cheque", locale=money.PLAIN, reference="CHQ 7", notes="N" * 2100,
        idempotency_key="applied-key-1")
    p = models.Payment.get_by_id(payment.id)
    assert (p.amount, p.method_label, p.reference, p.notes) == (20000, "Cheque", "CHQ 7",
                                                                "N" * 2000)
    assert allocations(p) == sorted([(a.id, None, 6000), (None, "credit", 14000)], key=repr)
    assert (state(a), state(b), state(draft)) == (("partial", 4000), ("sent", 5000),
                                                  ("draft", 10000))
    before = snapshot()
    again = payment_service.record_manual_applied(
        staff, client, "200.00", [(a.id, "60.00")], method="cheque", locale=money.PLAIN,
        idempotency_key="applied-key-1")
    assert (again.id, snapshot()) == (p.id, before)


def test_every_amount_an_invoice_cannot_take_is_named_at_once(books):
    client, a, b = books["client"], books["a"], books["b"]
    paid = factories.invoice(client, status="paid")
    euro = factories.invoice(client, currency="EUR")
    error = refusal(lambda: payment_service.record_manual_applied(
        books["staff"], client, "500.00",
        [(a.id, "100.01"), (b.id, "abc"), (books["other"].id, "1.00"), (10 ** 9, "1.00"),
         (paid.id, "1.00"), (euro.id, "1.00")],
        method="cash", locale=money.PLAIN), FieldErrors)
    with pytest.raises(money.MoneyError) as unreadable:
        money.parse("abc", "USD", money.PLAIN)
    assert error.errors == {
        f"amount_{a.id}": f"Invoice {a.number} has a balance of $100.00.",
        f"amount_{b.id}": str(unreadable.value),
        f"amount_{books['other'].id}": "That invoice belongs to another client.",
        f"amount_{10 ** 9}": "That invoice belongs to another client.",
        f"amount_{paid.id}": f"Invoice {paid.number} cannot take a payment.",
        f"amount_{euro.id}": f"Invoice {euro.number} is in EUR.",
    }
    assert (error.field, error.message) == (f"amount_{a.id}",
                                            f"Invoice {a.number} has a balance of $100.00.")


def test_the_whole_balance_may_be_applied(books):
    payment = payment_service.record_manual_applied(
        books["staff"], books["client"], "100.00", [(books["a"].id, "100.00")],
        method="cash", locale=money.PLAIN)
    assert allocations(payment) == [(books["a"].id, None, 10000)]


@pytest.mark.parametrize("applications, message", [
    (lambda a, b: [(a.id, "10.00"), (a.id, "10.00")], "An invoice was listed twice."),
    (lambda a, b: [(a.id, "60.00"), (b.id, "40.01")],
     "The amounts applied to invoices add up to more than the amount received."),
    (lambda a, b: [(a.id, "")] * 201, "Apply to at most 200 invoices at once."),
])
def test_amounts_that_do_not_add_up_are_refused(books, applications, message):
    error = refusal(lambda: payment_service.record_manual_applied(
        books["staff"], books["client"], "100.00", applications(books["a"], books["b"]),
        method="cash", locale=money.PLAIN))
    assert (error.field, error.message) == ("amount", message)


def test_two_hundred_invoices_may_be_listed(books):
    payment = payment_service.record_manual_applied(
        books["staff"], books["client"], "1.00", [(books["a"].id, "")] * 199
        + [(books["a"].id, "1.00")], method="cash", locale=money.PLAIN)
    assert allocations(payment) == [(books["a"].id, None, 100)]


@pytest.mark.parametrize("method, text, field, message", [
    ("gift", "10.00", "method", "Choose how the money arrived."),
    ("cash", "0.00", "amount", "The amount must be above zero."),
])
def test_an_amount_per_invoice_needs_money_received(books, method, text, field, message):
    error = refusal(lambda: payment_service.record_manual_applied(
        books["staff"], books["client"], text, [(books["a"].id, "")], method=method,
        locale=money.PLAIN))
    assert (error.field, error.message) == (field, message)


def test_a_cent_received_is_recorded_under_its_own_key(books):
    first = payment_service.record_manual(books["staff"], books["client"], "0.01",
                                          [books["a"].id], method="cash", locale=money.PLAIN,
                                          idempotency_key="cent-key-1")
    second = payment_service.record_manual(books["staff"], books["client"], "0.01",
                                           [books["a"].id], method="cash", locale=money.PLAIN,
                                           idempotency_key="cent-key-2")
    assert first.id != second.id
    assert (second.amount, state(books["a"])) == (1, ("partial", 9998))
