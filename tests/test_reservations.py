"""billing/reservations.py itself: what the pending attempts of a client hold, and the last
check before the gateway is called (checkout claims with it; test_payments_race.py races it
through the portal)."""
import json
import uuid

import pytest

import models
from billing import DomainError, allocation, reservations
from tests import factories


def attempt(client, lines, status="pending", plan=None):
    """A payment row holding [(invoice, amount)] as checkout's claim writes it."""
    return models.Payment.create(
        client=client, status=status, date=models.utcnow().date(), currency="USD",
        amount=sum(amount for _, amount in lines), method="card",
        idempotency_key=uuid.uuid4().hex,
        plan=json.dumps({"lines": [[inv.id, amount] for inv, amount in lines]})
        if plan is None else plan)


@pytest.fixture
def held_world(db):
    client, other = factories.client(), factories.client()
    big, small, free = (factories.invoice(client), factories.invoice(
        client, lines=[{"product": "Small", "unit_cost": 800}]), factories.invoice(client))
    attempt(client, [(big, 3000), (small, 1000)])
    attempt(client, [(big, 500)])
    for status in ("completed", "failed", "refunded"):
        attempt(client, [(big, 9000), (free, 9000)], status=status)
    attempt(other, [(big, 4444)])  # another client's row never counts against this one's
    for plan in ("", "{}", "not json", '{"lines": 3}', '{"lines": [["x", 1]]}'):
        attempt(client, [], plan=plan)
    return client, big, small, free


def test_only_the_clients_pending_attempts_hold_money(held_world):
    client, big, small, free = held_world
    assert reservations.held(client.id, [big.id, small.id, free.id]) == {
        big.id: 3500, small.id: 1000}
    assert reservations.held(client.id, [free.id]) == {}
    assert reservations.held(client.id, []) == {}


def test_the_review_screen_shows_what_is_held_and_what_is_left(held_world):
    client, big, small, free = held_world
    # The small invoice (8.00) is held for 10.00 by an over-payment: nothing is left, not less.
    assert reservations.in_flight(client.id, [big, small, free]) == [
        (big, 3500, 6500), (small, 1000, 0)]
    assert reservations.in_flight(factories.client().id, [big, small]) == []


def fits(invoice, amount, excess=0, allow_over_payment=False):
    company = factories.company(allow_over_payment=allow_over_payment)
    line = allocation.Line(invoice, amount, amount - excess, excess)
    invoices = reservations.lock_invoices([invoice.id])
    reservations.check_fits(allocation.Plan(invoice.client_id, "USD", [line], 0, amount),
                            company, invoices)


def refusal(invoice, amount, **kwargs):
    with pytest.raises(DomainError) as refused:
        fits(invoice, amount, **kwargs)
    assert refused.value.field == f"amount_{invoice.public_id}"
    return refused.value.message.replace(invoice.number, "INV")


def test_a_line_fits_up_to_the_balance_less_what_is_held(db):
    client = factories.client()
    invoice = factories.invoice(client)
    fits(invoice, 10000)
    attempt(client, [(invoice, 3500)])
    fits(invoice, 6500)
    assert refusal(invoice, 6501) == (
        "Invoice INV has a payment being processed; $65.00 of its balance is left to pay. "
        "Nothing was charged.")
    attempt(client, [(invoice, 6500)])
    assert refusal(invoice, 1) == (
        "Invoice INV has a payment being processed; it shows as paid once the payment "
        "service confirms it. Nothing was charged.")


def test_a_line_over_the_balance_is_refused_unless_the_excess_may_become_credit(db):
    invoice = factories.invoice(factories.client())
    assert refusal(invoice, 10001) == (
        "Invoice INV now has a balance of $100.00; check the amount and try again. "
        "Nothing was charged.")
    assert refusal(invoice, 12000, excess=2000) == refusal(invoice, 10001)
    fits(invoice, 12000, excess=2000, allow_over_payment=True)
    # Only the part the plan calls excess may go beyond the balance.
    assert refusal(invoice, 12000, excess=1999, allow_over_payment=True) == refusal(
        invoice, 10001)


@pytest.mark.parametrize("status, message", [
    ("paid", "Invoice INV is already paid. Nothing was charged."),
    ("cancelled", "Invoice INV is not open for payment. Nothing was charged."),
    ("draft", "Invoice INV is not open for payment. Nothing was charged."),
])
def test_an_invoice_that_cannot_be_paid_takes_nothing(db, status, message):
    invoice = factories.invoice(factories.client(), status=status)
    assert refusal(invoice, 1) == message


def test_every_line_of_a_plan_is_checked(db):
    client = factories.client()
    first, second = factories.invoice(client), factories.invoice(client)
    plan = allocation.Plan(client.id, "USD", [allocation.Line(first, 10000, 10000, 0),
                                              allocation.Line(second, 10001, 10001, 0)],
                           0, 20001)
    with pytest.raises(DomainError) as refused:
        reservations.check_fits(plan, factories.company(),
                                reservations.lock_invoices([first.id, second.id]))
    assert refused.value.field == f"amount_{second.public_id}"


def test_a_cent_left_beside_a_payment_in_flight_is_still_offered(db):
    client = factories.client()
    invoice = factories.invoice(client)
    attempt(client, [(invoice, 9999)])
    fits(invoice, 1)
    assert refusal(invoice, 2) == (
        "Invoice INV has a payment being processed; $0.01 of its balance is left to pay. "
        "Nothing was charged.")
