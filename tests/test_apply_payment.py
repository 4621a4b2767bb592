"""Apply Payment (issue 11, part 3): unapplied money applied to a client's invoices through
one service (billing.applying), never creating or losing money; and applied automatically
on issue. The API and the back office on top of it are tests/test_apply_payment_http.py."""
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import models
from billing import DomainError, FieldErrors, applying, invoices
from tests import factories
from tests.applying_support import (
    allocated,
    invoice_for,
    refusal_world,
    unapplied_payment,
)
from tests.core_support import opened, snapshot
from tests.payments_support import reload

# -- the service ---------------------------------------------------------------------------

def test_partial_full_and_several_invoices_keep_the_rest_unapplied(db):
    client = factories.client()
    one, two = invoice_for(client, 4000), invoice_for(client, 3000)
    payment = unapplied_payment(client, 10000)
    done = applying.apply_payment(payment, [(one.public_id, "40.00"), (two.public_id, "12.50")],
                                  staff=None, locale="en_US")
    assert done.total == 5250 and [amount for _, amount in done.lines] == [4000, 1250]
    payment = reload(payment)
    assert (payment.applied, payment.unapplied) == (5250, 4750)
    assert reload(one).status == "paid" and reload(one).balance == 0
    assert reload(two).status == "partial" and reload(two).balance == 1750
    assert reload(client).paid_to_date == 5250 and reload(client).balance == 1750
    assert models.Activity.get(models.Activity.action == "payment.applied").subject_id \
        == payment.id
    # The rest, later, by row id: applying twice adds up.
    applying.apply_payment(payment, [(two.id, 1750)])
    assert reload(payment).unapplied == 4750 - 1750 and reload(two).status == "paid"


def test_blank_rows_are_skipped_but_all_blank_is_refused(db):
    client = factories.client()
    one, two = invoice_for(client, 4000), invoice_for(client, 3000)
    payment = unapplied_payment(client, 10000)
    applying.apply_payment(payment, [(one.public_id, ""), (two.public_id, "30")],
                           locale="en_US")
    assert reload(one).balance == 4000 and reload(two).balance == 0
    with pytest.raises(DomainError, match="at least one invoice"):
        applying.apply_payment(payment, [(one.public_id, " ")], locale="en_US")



def test_an_amount_too_long_to_be_an_amount_is_refused_not_cut(db):
    """What is typed is read whole and refused by money.parse's own length limit; it is never
    cut to its first characters first (which could read zeros, then 1.00, as 1.00)."""
    client = factories.client()
    invoice = invoice_for(client, 5000)
    payment = unapplied_payment(client, 6000)
    before = snapshot()
    typed = "0" * 46 + "1.00" + "5"  # its first 50 characters read 1.00
    with pytest.raises(DomainError, match="too large|as a number"):
        applying.apply_payment(payment, [(invoice.public_id, typed)], locale="en_US")
    assert snapshot() == before

def test_more_than_unapplied_and_not_completed_payments_are_refused(db):
    world = refusal_world()
    second = invoice_for(world["a"], 5000)
    before = snapshot()
    with pytest.raises(DomainError, match="more than") as refused:
        applying.apply_payment(world["payment"], [(world["open"].public_id, "50.00"),
                                                  (second.public_id, "10.01")], locale="en_US")
    assert refused.value.field == "invoices"
    for status in ("pending", "failed", "refunded"):
        pending = unapplied_payment(world["a"], 1000, status=status)
        before = snapshot()
        with pytest.raises(DomainError, match="only a completed payment") as refused:
            applying.apply_payment(pending, [(world["open"].public_id, "1.00")], locale="en_US")
        assert refused.value.field == "payment" and snapshot() == before
    with pytest.raises(DomainError, match="twice"):
        applying.apply_payment(world["payment"], [(world["open"].public_id, "1"),
                                                  (world["open"].public_id, "1")],
                               locale="en_US")


def test_a_partly_refunded_payment_applies_only_what_is_left(db):
    client = factories.client()
    invoice = invoice_for(client, 9000)
    payment = unapplied_payment(client, 5000, status="partially_refunded", refunded=2000)
    with pytest.raises(DomainError, match="more than"):
        applying.apply_payment(payment, [(invoice.public_id, "30.01")], locale="en_US")
    applying.apply_payment(payment, [(invoice.public_id, "30.00")], locale="en_US")
    assert reload(payment).unapplied == 0


def test_two_staff_applying_one_payment_at_once_never_apply_more_than_it_holds(app):
    from tests.core_support import race
    with opened(app):
        client = factories.client()
        targets = [invoice_for(client, 5000) for _ in range(2)]
        payment = unapplied_payment(client, 6000)
    results = race(app, 2, lambda i: applying.apply_payment(
        payment, [(targets[i].public_id, "40.00")], locale="en_US"))
    assert sorted(type(r).__name__ for r in results) == ["Applied", "DomainError"], results
    with opened(app):
        assert reload(payment).unapplied == 2000
        check_books(client)


# -- money is never created or lost --------------------------------------------------------

def check_books(client):
    client = reload(client)
    A = models.PaymentAllocation
    invoice_allocs = list(A.select().join(models.Payment).where(
        (models.Payment.client == client.id) & A.invoice.is_null(False)))
    assert client.paid_to_date == sum(a.amount for a in invoice_allocs)
    sent = 0
    for inv in models.Invoice.select().where(models.Invoice.client == client.id):
        assert 0 <= inv.balance <= inv.total
        assert inv.total == inv.balance + allocated(inv)
        assert inv.status == ("paid" if inv.balance == 0 else
                              "partial" if inv.balance < inv.total else "sent")
        sent += inv.balance
    assert client.balance == sent
    for payment in models.Payment.select().where(models.Payment.client == client.id):
        to_invoices = sum(a.amount for a in payment.allocations)
        assert payment.applied == to_invoices
        # Every minor unit of a payment is applied, unapplied or refunded.
        assert payment.amount == payment.applied + payment.unapplied + payment.refunded
        assert payment.unapplied >= 0


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(totals=st.lists(st.integers(1, 500_00), min_size=1, max_size=4),
       amounts=st.lists(st.integers(1, 800_00), min_size=1, max_size=3), data=st.data())
def test_applying_never_creates_or_loses_money(db, totals, amounts, data):
    client = factories.client()
    invoices_ = [invoice_for(client, t) for t in totals]
    payments_ = [unapplied_payment(client, a) for a in amounts]
    for _ in range(data.draw(st.integers(1, 6))):
        payment = reload(data.draw(st.sampled_from(payments_)))
        chosen = data.draw(st.lists(st.sampled_from(invoices_), min_size=1, max_size=3,
                                    unique_by=lambda inv: inv.id))
        rows = [(inv.public_id, f"{data.draw(st.integers(-100, 600_00)) / 100:.2f}")
                for inv in chosen]
        before = snapshot()
        try:
            done = applying.apply_payment(payment, rows, locale="en_US")
        except DomainError:
            assert snapshot() == before
        else:
            assert reload(payment).applied == payment.applied + done.total
        check_books(client)


# -- automatic application on issue --------------------------------------------------------

def test_auto_apply_takes_unapplied_payments_oldest_first_when_turned_on(db):
    client = factories.client()
    older = unapplied_payment(client, 3000, date=dt.date(2026, 1, 1))
    newer = unapplied_payment(client, 5000, date=dt.date(2026, 2, 1))
    euros = unapplied_payment(client, 9000, currency="EUR")
    first = invoice_for(client, 4000)
    assert reload(first).balance == 4000  # off by default
    factories.company(auto_apply_prepayments=True)
    second = invoice_for(client, 4000)
    assert reload(second).status == "paid"
    assert (reload(older).unapplied, reload(newer).unapplied) == (0, 4000)
    assert reload(euros).unapplied == 9000
    draft = invoice_for(client, 6000, status="draft")
    assert reload(draft).balance == 6000 and reload(newer).unapplied == 4000
    sent = invoices.mark_sent(draft)
    assert sent.balance == 2000 and sent.status == "partial" and reload(newer).unapplied == 0
    check_books(client)


def test_auto_apply_on_a_recurring_invoice_run_due_issues(app, db):
    from billing import recurring
    factories.company(auto_apply_prepayments=True)
    client = factories.client()
    payment = unapplied_payment(client, 2500)
    template = models.RecurringInvoice.create(
        client=client, number="REC-1", status="active", currency="USD",
        start_date=dt.date(2026, 1, 1), next_send_date=dt.date(2026, 1, 1), total=10000)
    models.LineItem.create(recurring=template, product="Hosting", quantity=1,
                           unit_cost=10000, amount=10000)
    made = recurring.generate_due({}, today=dt.date(2026, 1, 1))
    assert len(made) == 1
    assert reload(made[0]).balance == 7500 and reload(payment).unapplied == 0
    check_books(client)


def test_mark_paid_does_not_spend_unapplied_money(db):
    factories.company(auto_apply_prepayments=True)
    client = factories.client()
    payment = unapplied_payment(client, 2500)
    draft = invoice_for(client, 6000, status="draft")
    invoices.mark_paid(draft)
    assert reload(draft).status == "paid" and reload(payment).unapplied == 2500


# -- the exact words of each refusal, and what a refusal names --------------------------------

EXACT_REFUSALS = [  # (invoice, amount typed, message; {n} is the invoice's number)
    ("other_client", "10.00", "That invoice could not be found."),
    ("cancelled", "10.00", "Invoice {n} is cancelled: it cannot take a payment."),
    ("void", "10.00", "Invoice {n} is void: it cannot take a payment."),
    ("draft", "10.00", "Invoice {n} is a draft: send it before applying a payment to it."),
    ("paid", "10.00", "Invoice {n} is already paid."),
    ("euro", "10.00", "Invoice {n} is in EUR; this payment is in USD."),
    ("open", "ten", "Invoice {n}: Enter the amount as a number, for example 1,250.00."),
    ("open", "0", "Invoice {n}: the amount must be above zero."),
    ("open", "0.00", "Invoice {n}: the amount must be above zero."),
    ("open", "50.01", "Invoice {n} has $50.00 left to pay; apply no more than that."),
    ("open", "-1", "Invoice {n}: The amount cannot be negative."),
    ("open", "1.234", "Invoice {n}: USD amounts have at most 2 decimal places."),
]


@pytest.mark.parametrize("which, typed, message", EXACT_REFUSALS)
def test_each_refusal_says_exactly_what_is_wrong_by_its_row_and_changes_nothing(
        db, which, typed, message):
    world = refusal_world()
    invoice = world[which]
    before = snapshot()
    with pytest.raises(FieldErrors) as refused:
        applying.apply_payment(world["payment"], [(invoice.public_id, typed)], locale="en_US")
    assert refused.value.errors == {f"amount_{invoice.public_id}": message.format(
        n=invoice.number)}
    assert snapshot() == before


def test_a_cent_is_applied_and_a_whole_balance_is_not_too_much(db):
    client = factories.client()
    one, two = invoice_for(client, 5000), invoice_for(client, 5000)
    payment = unapplied_payment(client, 10000)
    done = applying.apply_payment(payment, [(one.public_id, "0.01"), (two.id, 5000)],
                                  locale="en_US")
    assert [amount for _, amount in done.lines] == [1, 5000]
    assert (reload(one).balance, reload(two).balance) == (4999, 0)


def test_a_held_invoice_says_how_much_is_held_and_what_is_left(db):
    client = factories.client()
    invoice = invoice_for(client, 5000)
    models.Payment.create(client=client, status="pending", date=models.utcnow().date(),
                          currency="USD", amount=3000, plan=f'{{"lines": [[{invoice.id}, 3000]]}}')
    payment = unapplied_payment(client, 6000)
    with pytest.raises(FieldErrors) as refused:
        applying.apply_payment(payment, [(invoice.public_id, "20.01")], locale="en_US")
    assert refused.value.errors == {f"amount_{invoice.public_id}": (
        f"Invoice {invoice.number} has $20.00 left to pay ($30.00 of it is held by a payment "
        "being processed); apply no more than that.")}
    applying.apply_payment(payment, [(invoice.public_id, "20.00")], locale="en_US")
    assert reload(invoice).balance == 3000
    with pytest.raises(FieldErrors) as refused:  # nothing left beside what is held
        applying.apply_payment(payment, [(invoice.public_id, "0.01")], locale="en_US")
    assert "has $0.00 left to pay ($30.00 of it" in refused.value.errors[
        f"amount_{invoice.public_id}"]


def test_every_bad_row_is_named_at_once(db):
    world = refusal_world()
    rows = [(world["draft"].public_id, "1"), (world["open"].public_id, "5"),
            (world["void"].public_id, "1")]
    before = snapshot()
    with pytest.raises(FieldErrors) as refused:
        applying.apply_payment(world["payment"], rows, locale="en_US")
    assert list(refused.value.errors) == [f"amount_{world['draft'].public_id}",
                                          f"amount_{world['void'].public_id}"]
    assert snapshot() == before


def test_whole_request_refusals_name_the_invoices_field_with_exact_words(db):
    world = refusal_world()
    payment, open_ = world["payment"], world["open"]
    second = invoice_for(world["a"], 5000)
    cases = [
        ([(open_.public_id, "1"), (open_.public_id, "1")], "An invoice was listed twice."),
        ([(open_.public_id, " "), (second.public_id, None)],
         "Enter an amount to apply to at least one invoice."),
        ([(open_.public_id, "50.00"), (second.public_id, "10.01")],
         f"The amounts add up to $60.01, more than the $60.00 of payment {payment.number} "
         "that is not yet applied."),
        ([(f"inv{i}", "") for i in range(applying.MAX_APPLICATIONS + 1)],
         "Apply to at most 200 invoices at once."),
    ]
    for rows, message in cases:
        before = snapshot()
        with pytest.raises(DomainError) as refused:
            applying.apply_payment(payment, rows, locale="en_US")
        assert (refused.value.message, refused.value.field) == (message, "invoices")
        assert snapshot() == before
    # Exactly the most it takes is not too many (all blank here, so nothing to apply).
    with pytest.raises(DomainError, match="at least one invoice"):
        applying.apply_payment(payment, [(f"inv{i}", "")
                                         for i in range(applying.MAX_APPLICATIONS)])


def test_a_payment_that_is_not_money_received_is_refused_with_its_status(db):
    client = factories.client()
    invoice = invoice_for(client, 5000)
    credit = unapplied_payment(client, 1000, status="partially_refunded")
    models.Payment.update(method="credit").where(models.Payment.id == credit.id).execute()
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        applying.apply_payment(credit, [(invoice.public_id, "1.00")], locale="en_US")
    assert (refused.value.message, refused.value.field) == (
        f"Payment {credit.number} is partially refunded: only a completed payment can be "
        "applied to invoices.", "payment")
    assert snapshot() == before


def test_applying_logs_each_invoice_and_amount_for_who_did_it(db):
    client = factories.client()
    one, two = invoice_for(client, 4000), invoice_for(client, 3000)
    staff = factories.staff(email="applier@test.example")
    payment = unapplied_payment(client, 10000)
    applying.apply_payment(payment, [(one.public_id, "40.00"), (two.public_id, "12.50")],
                           staff=staff, locale="en_US")
    entry = models.Activity.get(models.Activity.action == "payment.applied")
    assert (entry.subject_id, entry.client_id, entry.staff_id) == (payment.id, client.id,
                                                                   staff.id)
    assert entry.detail == f"{one.number} 4000 USD, {two.number} 1250 USD"


def test_an_archived_invoice_cannot_be_found_to_apply_to(db):
    client = factories.client()
    invoice = invoice_for(client, 5000)
    models.Invoice.update(archived_at=models.utcnow()).where(
        models.Invoice.id == invoice.id).execute()
    payment = unapplied_payment(client, 5000)
    for key in (invoice.public_id, invoice.id):
        with pytest.raises(FieldErrors) as refused:
            applying.apply_payment(payment, [(key, "10.00")], locale="en_US")
        assert refused.value.errors == {f"amount_{key}": "That invoice could not be found."}


def test_auto_apply_tries_only_this_clients_money_received_in_the_currency_oldest_first(
        db, caplog):
    """Payments that cannot be applied are never tried: none is refused into the log."""
    people = factories.two_clients()
    a, b = people["a"], people["b"]
    newer = unapplied_payment(a, 2000, date=dt.date(2026, 2, 1))
    older = unapplied_payment(a, 2000, date=dt.date(2026, 1, 1))  # created later, dated first
    cent = unapplied_payment(a, 1000, date=dt.date(2026, 3, 1), status="partially_refunded",
                             refunded=999)
    early = dt.date(2025, 1, 1)
    untouched = [
        unapplied_payment(b, 3000, date=early),
        unapplied_payment(a, 3000, date=early, currency="EUR"),
        unapplied_payment(a, 3000, date=early, status="pending"),
        unapplied_payment(a, 5000, date=early, status="partially_refunded", applied=3000,
                          refunded=2000),
        unapplied_payment(a, 3000, date=early),
    ]
    models.Payment.update(method="credit").where(models.Payment.id == untouched[-1].id).execute()
    factories.company(auto_apply_prepayments=True)
    caplog.set_level("WARNING", logger="portal.billing")
    invoice = invoice_for(a, 10000)
    A = models.PaymentAllocation
    applied = [(row.payment_id, row.amount) for row in
               A.select().where(A.invoice == invoice.id).order_by(A.id)]
    assert applied == [(older.id, 2000), (newer.id, 2000), (cent.id, 1)]
    assert (reload(invoice).balance, reload(invoice).status) == (5999, "partial")
    assert [reload(p).unapplied for p in untouched] == [3000, 3000, 3000, 0, 3000]
    assert [r.getMessage() for r in caplog.records if "not applied" in r.getMessage()] == []


def test_auto_apply_stops_when_the_invoice_is_paid_and_applies_a_last_cent(db, caplog):
    client = factories.client()
    first = unapplied_payment(client, 4000, date=dt.date(2026, 1, 1))
    second = unapplied_payment(client, 5000, date=dt.date(2026, 2, 1))
    third = unapplied_payment(client, 5000, date=dt.date(2026, 3, 1))
    factories.company(auto_apply_prepayments=True)
    caplog.set_level("WARNING", logger="portal.billing")
    one_cent_more = invoice_for(client, 4001)
    assert reload(one_cent_more).status == "paid"
    assert (reload(first).unapplied, reload(second).unapplied) == (0, 4999)
    exact = invoice_for(client, 4999)  # the second pays it all; the third is not asked
    assert reload(exact).status == "paid"
    assert (reload(second).unapplied, reload(third).unapplied) == (0, 5000)
    assert [r.getMessage() for r in caplog.records if "not applied" in r.getMessage()] == []


def test_amounts_are_read_in_the_locale_they_were_typed_in(db):
    client = factories.client()
    invoice = invoice_for(client, 500000)
    payment = unapplied_payment(client, 500000)
    done = applying.apply_payment(payment, [(invoice.public_id, "1.234,50")], locale="de_DE")
    assert done.total == 123450 and reload(invoice).balance == 500000 - 123450
