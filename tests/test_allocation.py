"""The payment plan and its application, as services (billing.allocation): what a selection
of invoices and amounts may pay, credit spent before cash, and what each invoice gets.
Paying through the portal is tests/test_payments.py."""
import datetime as dt
import re

import pytest

import models
from billing import allocation, checkout
from tests import factories
from tests.payments_support import reload


def refusal(world, items, **kw):
    """plan()'s DomainError for these items, as (message, field)."""
    with pytest.raises(checkout.DomainError) as caught:
        allocation.plan(world["a"].id, items, models.Company.current(), **kw)
    return caught.value.message, caught.value.field


def test_plan_refuses_the_selection_naming_the_invoices_field(world, conn):
    sent, paid = world["invoices"]["sent"], world["invoices"]["paid"]
    assert refusal(world, []) == ("Select at least one invoice to pay.", "invoices")
    many = [(f"x{n}", None) for n in range(allocation.MAX_INVOICES + 1)]
    assert refusal(world, many) == ("Pay at most 100 invoices at once.", "invoices")
    assert refusal(world, many[:-1]) == (  # exactly the most: counted, then looked up
        "One of the selected invoices could not be found.", "invoices")
    twice = [(sent.public_id, None), (sent.public_id, "10.00")]
    assert refusal(world, twice) == ("An invoice was selected twice.", "invoices")
    for missing in (world["other"].public_id, world["invoices"]["draft"].public_id,
                    sent.public_id + "x" * 300):
        assert refusal(world, [(missing, None)]) == (
            "One of the selected invoices could not be found.", "invoices")
    assert refusal(world, [(paid.public_id, None)]) == (
        f"Invoice {paid.number} is already paid.", f"amount_{paid.public_id}")
    cancelled = world["invoices"]["cancelled"]
    assert refusal(world, [(cancelled.public_id, None)]) == (
        f"Invoice {cancelled.number} is not open for payment.", f"amount_{cancelled.public_id}")
    eur = factories.invoice(world["a"], currency="EUR")
    assert refusal(world, [(sent.public_id, None), (eur.public_id, None)]) == (
        "Invoices in different currencies must be paid separately.", "invoices")


def test_plan_refuses_amounts_naming_the_invoice_and_its_field(world, conn):
    sent = world["invoices"]["sent"]
    field, n = f"amount_{sent.public_id}", sent.number
    assert refusal(world, [(sent.public_id, "ten")]) == (
        f"Invoice {n}: Enter the amount as a number, for example 1,250.00.", field)
    assert refusal(world, [(sent.public_id, "0")]) == (
        f"Invoice {n}: the amount must be above zero.", field)
    assert refusal(world, [(sent.public_id, "100.01")]) == (
        f"Invoice {n} has a balance of $100.00; you cannot pay more than that.", field)
    assert refusal(world, [(sent.public_id, "99.99")]) == (
        f"Invoice {n} must be paid in full: pay the balance of $100.00.", field)
    deposit = factories.invoice(world["a"], partial=3000)
    assert refusal(world, [(deposit.public_id, "40.00")]) == (
        f"Invoice {deposit.number} must be paid in full: pay its deposit of $30.00 or the "
        "balance of $100.00.", f"amount_{deposit.public_id}")


def test_plan_lines_split_what_settles_from_what_becomes_credit(world, conn):
    company = models.Company.current()
    sent = world["invoices"]["sent"]
    deposit = factories.invoice(world["a"], partial=3000)

    def lines(items, **kw):
        made = allocation.plan(world["a"].id, items, models.Company.current(), **kw)
        return made, [(ln.amount, ln.applied, ln.excess) for ln in made.lines]

    # Without partial payments: the balance, or the deposit (the choice or typed).
    assert lines([(sent.public_id, "100.00")])[1] == [(10000, 10000, 0)]
    made, split = lines([(sent.public_id, allocation.DUE), (deposit.public_id, None)])
    assert split == [(10000, 10000, 0), (3000, 3000, 0)]
    assert (made.total, made.credit, made.charge, made.excess) == (13000, 0, 13000, 0)
    assert (made.client_id, made.currency) == (world["a"].id, "USD")
    assert lines([(deposit.public_id, "30.00")])[1] == [(3000, 3000, 0)]
    assert lines([(deposit.public_id, allocation.FULL)])[1] == [(10000, 10000, 0)]
    # A person's own locale, else the company's.
    assert lines([(sent.public_id, "100,00")], locale="de_DE")[1] == [(10000, 10000, 0)]
    factories.company(locale="de_DE")
    assert lines([(sent.public_id, "100,00")])[1] == [(10000, 10000, 0)]
    factories.company(locale="en_US", allow_over_payment=True, allow_partial_payments=True,
                      minimum_partial_payment=2000)
    made, split = lines([(sent.public_id, "150.00")])
    assert split == [(15000, 10000, 5000)] and (made.total, made.excess) == (15000, 5000)
    assert lines([(sent.public_id, "20.00")])[1] == [(2000, 2000, 0)]
    assert refusal(world, [(sent.public_id, "19.99")]) == (
        f"Invoice {sent.number}: the minimum payment is $20.00.", f"amount_{sent.public_id}")
    # A minimum above the balance asks for the balance.
    factories.company(minimum_partial_payment=50000)
    assert refusal(world, [(sent.public_id, "99.99")])[0] == (
        f"Invoice {sent.number}: the minimum payment is $100.00.")
    factories.company(minimum_partial_payment=0)
    assert lines([(sent.public_id, "0.01")])[1] == [(1, 1, 0)]
    assert company.id == models.Company.current().id


def test_plan_spends_only_usable_credit_and_never_on_the_excess(world, conn):
    def credit(number, balance, **kw):
        models.Credit.create(**{"client": world["a"], "number": number, "status": "sent",
                                "date": models.utcnow().date(), "currency": "USD",
                                "total": balance, "balance": balance, **kw})

    credit("CR-1", 1500)
    credit("CR-2", 2500, status="partial")
    credit("CR-3", 9000, status="draft")
    credit("CR-4", 9000, status="applied")
    credit("CR-5", 9000, currency="EUR")
    credit("CR-6", 0)
    credit("CR-7", 9000, client=world["b"])
    sent = world["invoices"]["sent"]
    factories.company(allow_over_payment=True, allow_partial_payments=True)
    items = [(sent.public_id, "30.00")]
    made = allocation.plan(world["a"].id, items, models.Company.current(), use_credit=True)
    assert (made.total, made.credit, made.charge) == (3000, 3000, 0)
    made = allocation.plan(world["a"].id, [(sent.public_id, "150.00")],
                           models.Company.current(), use_credit=True)
    assert (made.total, made.credit, made.charge, made.excess) == (15000, 4000, 11000, 5000)
    made = allocation.plan(world["a"].id, items, models.Company.current())
    assert (made.credit, made.charge) == (0, 3000)
    assert [c.number for c in allocation.available_credit(world["a"].id, "USD")] == [
        "CR-1", "CR-2"]


def test_available_credit_is_the_oldest_first_down_to_one_cent(world, conn):
    """Credit is spent in the order it was dated, not entered: one entered later but dated
    earlier comes first; a credit with one cent left is still available."""
    today = models.utcnow().date()
    for number, days_ago, balance in (("CR-NEW", 1, 5000), ("CR-OLD", 30, 1),
                                      ("CR-MID", 10, 700)):
        models.Credit.create(client=world["a"], number=number, status="sent", currency="USD",
                             date=today - dt.timedelta(days=days_ago), total=5000,
                             balance=balance)
    assert [c.number for c in allocation.available_credit(world["a"].id, "USD")] == [
        "CR-OLD", "CR-MID", "CR-NEW"]


def test_apply_plan_spends_credit_first_then_cash_and_keeps_the_rest(world, conn):
    a = world["a"]
    first = factories.invoice(a, partial=3000)
    second = factories.invoice(a)
    for number, balance in (("CR-1", 1500), ("CR-2", 2500)):
        models.Credit.create(client=a, number=number, status="sent", currency="USD",
                             date=models.utcnow().date(), total=balance, balance=balance)
    before = models.Client.get_by_id(a.id)
    contact = models.Contact.get(models.Contact.email == "a1@alpha.example")
    with models.db.atomic():
        payment = models.Payment.create(client=a, number="PAY-CASH", date=models.utcnow().date(),
                                        currency="USD", amount=16500, idempotency_key="k1")
        spent, extra = allocation.apply_plan(
            payment, {"lines": [[first.id, 10000], [second.id, 10000]], "credit": 4000},
            contact=contact)
    assert (spent.amount, spent.applied, spent.status, spent.method) == (
        4000, 4000, "completed", "credit")
    assert (spent.method_label, spent.idempotency_key, spent.contact_id) == (
        "Credit CR-1, CR-2", "k1/credit", contact.id)
    # A payment number of its own, from the payments' sequence.
    assert re.fullmatch(r"PAY-\d{5}", spent.number)
    assert sorted((al.credit.number, al.invoice_id, al.amount) for al in spent.allocations) == [
        ("CR-1", first.id, 1500), ("CR-2", first.id, 2500)]
    assert [(c.balance, c.status) for c in models.Credit.select().where(
        models.Credit.number.in_(("CR-1", "CR-2"))).order_by(models.Credit.number)] == [
        (0, "applied"), (0, "applied")]
    first, second = reload(first), reload(second)
    assert (first.balance, first.partial, first.status) == (0, 0, "paid")
    assert (second.balance, second.status) == (0, "paid")
    assert sorted((al.invoice_id, al.amount) for al in payment.allocations
                  if al.invoice_id) == sorted([(first.id, 6000), (second.id, 10000)])
    # 500 beyond both balances: a credit for the client, allocated from this payment.
    assert (extra.total, extra.balance, extra.status, extra.reason, extra.currency) == (
        500, 500, "sent", "overpayment", "USD")
    assert extra.notes == "Over-payment from payment PAY-CASH."
    assert extra.subtotal == 500 and re.fullmatch(r"CR-\d{5}", extra.number)
    logged_credit = models.Activity.get(models.Activity.action == "credit.overpayment")
    assert (logged_credit.subject_type, logged_credit.subject_id, logged_credit.client_id) == (
        "credit", extra.id, a.id)
    line = extra.lines.get()
    assert (line.product, line.description, line.quantity, line.unit_cost, line.amount) == (
        "Over-payment", "Payment PAY-CASH", 1, 500, 500)
    assert [(al.credit_id, al.amount) for al in payment.allocations if al.credit_id] == [
        (extra.id, 500)]
    assert payment.applied == 16500  # the caller saves the payment
    after = models.Client.get_by_id(a.id)
    assert after.paid_to_date - before.paid_to_date == 20000
    assert before.balance - after.balance == 20000
    logged = {(act.action, act.detail) for act in models.Activity.select()}
    assert {("credit.applied", "4000 USD"), ("credit.overpayment", "500 USD")} <= logged


def test_spend_credit_leaves_a_partial_credit_and_stops_at_the_budget(world, conn):
    a, sent = world["a"], world["invoices"]["sent"]
    models.Credit.create(client=a, number="CR-3", status="sent", currency="USD",
                         date=models.utcnow().date(), total=5000, balance=5000)
    with models.db.atomic():
        invoice = allocation.locked(models.Invoice, sent.id)
        payment, spent = allocation.spend_credit(a.id, "USD", None, [(invoice, 10000)], 3000)
    assert spent == {sent.id: 3000}
    assert (payment.amount, payment.method_label, payment.idempotency_key) == (
        3000, "Credit CR-3", None)
    credit = models.Credit.get(models.Credit.number == "CR-3")
    assert (credit.balance, credit.status) == (2000, "partial")
    assert (reload(sent).balance, reload(sent).status) == (7000, "partial")
    with models.db.atomic():
        invoice = allocation.locked(models.Invoice, sent.id)
        payment, _ = allocation.spend_credit(a.id, "USD", "k9", [(invoice, 1000)], 1000)
    assert (payment.amount, payment.idempotency_key) == (1000, "k9")
    # Nothing to spend on (a paid invoice): no payment is left behind.
    with models.db.atomic():
        paid = allocation.locked(models.Invoice, world["invoices"]["paid"].id)
        assert allocation.spend_credit(a.id, "USD", "k", [(paid, 5000)], 5000) == (None, {})
    assert models.Payment.select().where(models.Payment.method == "credit").count() == 2


def test_spend_credit_gives_each_invoice_what_it_wants_from_the_credits_in_turn(world, conn):
    a, b = world["a"], world["b"]
    first, second = factories.invoice(a), factories.invoice(a, partial=3000)
    for number, balance in (("CR-1", 1500), ("CR-2", 2500)):
        models.Credit.create(client=a, number=number, status="sent", currency="USD",
                             date=models.utcnow().date(), total=balance, balance=balance)
    before_a, before_b = models.Client.get_by_id(a.id), models.Client.get_by_id(b.id)
    contact = models.Contact.get(models.Contact.email == "a1@alpha.example")
    staff = factories.staff()
    with models.db.atomic():
        lines = [(allocation.locked(models.Invoice, first.id), 2000),
                 (allocation.locked(models.Invoice, second.id), 3000)]
        payment, spent = allocation.spend_credit(a.id, "USD", "k" * 200, lines, 3000,
                                                 contact=contact, staff=staff)
    # The first invoice takes CR-1 whole and the rest of what it wants from CR-2; the second
    # finds CR-1 empty, goes on to CR-2 and gets what is left of the budget.
    assert spent == {first.id: 2000, second.id: 1000}
    assert sorted((al.credit.number, al.invoice_id, al.amount) for al in payment.allocations) == [
        ("CR-1", first.id, 1500), ("CR-2", first.id, 500), ("CR-2", second.id, 1000)]
    assert (payment.amount, payment.applied, payment.method_label) == (
        3000, 3000, "Credit CR-1, CR-2")
    assert payment.idempotency_key == "k" * 100
    logged = models.Activity.get(models.Activity.action == "credit.applied")
    assert (logged.subject_type, logged.subject_id, logged.client_id, logged.contact_id,
            logged.staff_id, logged.detail) == (
        "payment", payment.id, a.id, contact.id, staff.id, "3000 USD")
    assert [(c.balance, c.status) for c in models.Credit.select().where(
        models.Credit.number.in_(("CR-1", "CR-2"))).order_by(models.Credit.number)] == [
        (0, "applied"), (1000, "partial")]
    first, second = reload(first), reload(second)
    assert (first.balance, first.partial, first.status) == (8000, 0, "partial")
    assert (second.balance, second.partial, second.status) == (9000, 2000, "partial")
    after_a, after_b = models.Client.get_by_id(a.id), models.Client.get_by_id(b.id)
    assert (before_a.balance - after_a.balance, after_a.paid_to_date - before_a.paid_to_date) == (
        3000, 3000)
    assert (after_b.balance, after_b.paid_to_date) == (before_b.balance, before_b.paid_to_date)
    # The smallest amount there is, one cent, is still spent.
    with models.db.atomic():
        invoice = allocation.locked(models.Invoice, first.id)
        payment, spent = allocation.spend_credit(a.id, "USD", None, [(invoice, 1)], 1)
    assert (payment.amount, spent) == (1, {first.id: 1})


def test_credit_that_pays_a_subscription_invoice_reactivates_the_subscription(world, conn):
    a = world["a"]
    subscription = models.Subscription.create(
        client=a, plan=factories.plan("Basic", 10000), started_at=models.utcnow().date(),
        status="past_due")
    invoice = factories.invoice(a)
    models.Invoice.update(subscription=subscription).where(
        models.Invoice.id == invoice.id).execute()
    models.Credit.create(client=a, number="CR-1", status="sent", currency="USD",
                         date=models.utcnow().date(), total=20000, balance=20000)

    def spend(amount):
        with models.db.atomic():
            locked = allocation.locked(models.Invoice, invoice.id)
            allocation.spend_credit(a.id, "USD", None, [(locked, amount)], amount)
        return reload(invoice).status, models.Subscription.get_by_id(subscription.id).status

    # Part of the invoice is still owed: the subscription stays held.
    assert spend(4000) == ("partial", "past_due")
    assert spend(6000) == ("paid", "active")
    assert models.Activity.select().where(
        models.Activity.action == "subscription.reactivated").count() == 1


def test_a_credit_payment_label_names_its_credits_within_80_characters(world, conn):
    a, sent = world["a"], world["invoices"]["sent"]
    numbers = [f"CR-{n:05d}" for n in range(1, 11)]
    for number in numbers:
        models.Credit.create(client=a, number=number, status="sent", currency="USD",
                             date=models.utcnow().date(), total=100, balance=100)
    with models.db.atomic():
        invoice = allocation.locked(models.Invoice, sent.id)
        payment, _ = allocation.spend_credit(a.id, "USD", None, [(invoice, 1000)], 1000)
    assert payment.amount == 1000
    assert payment.method_label == "Credit " + ", ".join(numbers)[:80]


def test_apply_plan_pays_in_cash_only_what_the_credit_left_of_each_line(world, conn):
    a = world["a"]
    first, second = factories.invoice(a), factories.invoice(a)
    models.Credit.create(client=a, number="CR-1", status="sent", currency="USD",
                         date=models.utcnow().date(), total=9000, balance=9000)
    staff = factories.staff()
    with models.db.atomic():
        payment = models.Payment.create(client=a, number="PAY-CASH", date=models.utcnow().date(),
                                        currency="USD", amount=8000)
        spent, extra = allocation.apply_plan(
            payment, {"lines": [[first.id, 5000], [second.id, 5000]], "credit": 2000},
            staff=staff)
    # 2000 of credit on the first line, so cash pays 3000 there and 5000 on the second.
    assert sorted((al.invoice_id, al.amount) for al in payment.allocations) == sorted(
        [(first.id, 3000), (second.id, 5000)])
    assert (reload(first).balance, reload(second).balance, spent.amount, extra) == (
        5000, 5000, 2000, None)
    logged = models.Activity.get(models.Activity.action == "credit.applied")
    assert (logged.subject_id, logged.staff_id) == (spent.id, staff.id)
    # A plan naming no credit spends none, though the client has some.
    with models.db.atomic():
        payment = models.Payment.create(client=a, number="PAY-TWO", date=models.utcnow().date(),
                                        currency="USD", amount=1000)
        assert allocation.apply_plan(payment, {"lines": [[first.id, 1000]]}) == (None, None)
    assert models.Credit.get(models.Credit.number == "CR-1").balance == 7000
    assert reload(first).balance == 4000


def test_apply_plan_skips_unpayable_invoices_and_never_applies_more_than_arrived(world, conn):
    a, invoices = world["a"], world["invoices"]
    first, second = factories.invoice(a), factories.invoice(a)

    def apply(amount, lines):
        with models.db.atomic():
            payment = models.Payment.create(client=a, number="PAY-X", currency="USD",
                                            date=models.utcnow().date(), amount=amount)
            _, extra = allocation.apply_plan(payment, {"lines": lines, "credit": 0})
        paid = sorted((al.invoice_id, al.amount) for al in payment.allocations if al.invoice_id)
        return paid, extra and extra.total

    # Cancelled and paid invoices take nothing: their share becomes credit; one cent is paid.
    lines = [[invoices["cancelled"].id, 3000], [invoices["paid"].id, 2000], [first.id, 1]]
    assert apply(5001, lines) == ([(first.id, 1)], 5000)
    assert reload(invoices["cancelled"]).balance == 10000
    # Less money than the lines want (credit gone meanwhile): the later line gets the rest.
    assert apply(3000, [[first.id, 2000], [second.id, 2000]]) == (
        sorted([(first.id, 2000), (second.id, 1000)]), None)
    # One cent beyond the balances is still kept as credit.
    assert apply(1001, [[second.id, 1000]]) == ([(second.id, 1000)], 1)


def test_plan_reads_an_amount_in_the_language_a_visitor_picked(app, world, conn):
    sent = world["invoices"]["sent"]
    with app.test_request_context("/?lang=de"):
        made = allocation.plan(world["a"].id, [(sent.public_id, "100,00")],
                               models.Company.current())
    assert made.total == 10000
