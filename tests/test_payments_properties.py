"""Property tests on allocation: for any invoices, amounts and credit, no money is lost."""
import json
import secrets

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import models
from billing import allocation, checkout, payments
from tests import factories
from tests.payments_support import make_gateway

invoice_totals = st.lists(st.integers(min_value=1, max_value=500_00), min_size=1, max_size=4)


def setup_client(totals, credit):
    client = factories.client()
    contact = factories.contact(client)
    invoices = [factories.invoice(client, lines=[{"product": "x", "unit_cost": t}])
                for t in totals]
    if credit:
        models.Credit.create(client=client, number="CR", status="sent", currency="USD",
                             date=models.utcnow().date(), total=credit, balance=credit)
    gateway = models.GatewayConfig.get_or_none(models.GatewayConfig.kind == "demo") \
        or make_gateway("demo")
    token = models.GatewayToken.create(client=client, gateway=gateway, token="demo_ok_x",
                                       brand="visa", last4="4242")
    return client, contact, invoices, token


def check_invariants(client):
    client = models.Client.get_by_id(client.id)
    A = models.PaymentAllocation
    invoice_allocs = list(A.select().join(models.Payment)
                          .where((models.Payment.client == client.id) & A.invoice.is_null(False)))
    assert client.paid_to_date == sum(a.amount for a in invoice_allocs)
    for inv in models.Invoice.select().where(models.Invoice.client == client.id):
        assert inv.balance >= 0
        assert inv.balance == inv.total - sum(a.amount for a in invoice_allocs
                                              if a.invoice_id == inv.id)
        assert inv.status == ("paid" if inv.balance == 0 else
                              "partial" if inv.balance < inv.total else "sent")
    for payment in models.Payment.select().where((models.Payment.client == client.id)
                                                 & (models.Payment.method != "credit")
                                                 & (models.Payment.status == "completed")):
        allocs = list(payment.allocations)
        applied = sum(a.amount for a in allocs if a.invoice_id)
        created = sum(a.amount for a in allocs if a.credit_id and not a.invoice_id)
        assert payment.amount == applied + created  # money in = allocated + credit created
    for credit in models.Credit.select().where(models.Credit.client == client.id):
        assert 0 <= credit.balance <= credit.total
        # Spending a credit pays an invoice; the allocation without one created an
        # over-payment credit and is not spending.
        spent = sum(a.amount for a in A.select().where(
            (A.credit == credit.id) & A.invoice.is_null(False)))
        assert credit.balance == credit.total - spent


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(totals=invoice_totals, data=st.data(), credit=st.integers(0, 300_00),
       use_credit=st.booleans())
def test_any_payment_keeps_every_balance_exact(db, totals, data, credit, use_credit):
    factories.company(allow_partial_payments=True, minimum_partial_payment=0,
                      allow_over_payment=True)
    client, contact, invoices, token = setup_client(totals, credit)
    amounts = [data.draw(st.integers(1, inv.balance * 2)) for inv in invoices]
    items = [(inv.public_id, f"{a / 100:.2f}") for inv, a in zip(invoices, amounts, strict=True)]
    outcome = checkout.pay(contact, items, models.Company.current(),
                           idempotency_key=secrets.token_urlsafe(24), token=token,
                           use_credit=use_credit)
    assert outcome.status == "completed"
    check_invariants(client)
    spent = sum(p.amount for p in models.Payment.select().where(
        (models.Payment.client == client.id) & (models.Payment.method == "credit")))
    assert spent <= credit and (use_credit or spent == 0)
    assert spent + outcome.payment.amount * (outcome.payment.method != "credit") \
        == sum(amounts)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(totals=invoice_totals, data=st.data(), credit=st.integers(0, 300_00))
def test_balances_that_moved_before_the_money_arrived_still_balance(db, totals, data, credit):
    """Between the claim and the gateway's answer someone else pays: nothing goes negative
    and the money that no longer fits becomes credit."""
    factories.company(allow_partial_payments=True, minimum_partial_payment=0,
                      allow_over_payment=True)
    client, contact, invoices, token = setup_client(totals, credit)
    items = [(inv.public_id, None) for inv in invoices]
    plan = allocation.plan(client.id, items, models.Company.current(), use_credit=True)
    payment = models.Payment.create(client=client, contact=contact, status="pending",
                                    date=models.utcnow().date(), currency="USD",
                                    amount=plan.charge or 1, plan=plan.to_json(),
                                    idempotency_key=secrets.token_urlsafe(24))
    if plan.charge == 0:  # credit covers it: make the gateway part non-zero anyway
        payment.plan = json.dumps({**json.loads(plan.to_json()), "credit": 0})
        payment.save()
    for inv in invoices:
        inv = models.Invoice.get_by_id(inv.id)
        cut = data.draw(st.integers(0, inv.balance))
        if cut:
            with models.db.atomic():
                payments.record_payment(client, cut, "USD", [(inv, cut)], method="cash")
    checkout.finalize(payment.id)
    checkout.finalize(payment.id)  # a duplicated webhook changes nothing
    check_invariants(client)
