"""Paying with credit alone (checkout.pay when credit covers the whole plan): who and which
key the credit payment records, its receipt, and the second of two submits that both
planned before either spent the credit."""
import pytest

import models
from billing import DomainError, allocation, checkout
from tests import factories
from tests.core_support import snapshot
from tests.quotes_support import credit

KEY = "credit-only-key-000000000001"


@pytest.fixture
def owed(db):
    """A client with two 100.00 invoices and 100.00 of credit, its contact and a staff
    member."""
    factories.company(send_receipts=True, allow_partial_payments=True)
    client = factories.client(email="")
    contact = factories.contact(client)
    invoice, other = factories.invoice(client), factories.invoice(client)
    credit(client, total=10000)
    return {"client": client, "contact": contact, "invoice": invoice, "other": other,
            "staff": factories.staff()}


def items(invoice, amount):
    return [(invoice.public_id, amount)]


def pay(owed, invoice=None, amount=None, key=KEY, staff=None):
    return checkout.pay(owed["contact"], items(invoice or owed["invoice"], amount),
                        models.Company.current(), idempotency_key=key, use_credit=True,
                        staff=staff)


def stale_plan(owed, amount=None):
    """What a submit planned before another one spent the credit: the invoice is still open
    when it runs (a paid one is refused before any credit is touched)."""
    return allocation.plan(owed["client"].id, items(owed["invoice"], amount),
                           models.Company.current(), use_credit=True, locale="en_US")


def test_credit_alone_records_the_contact_the_staff_and_the_key_and_sends_a_receipt(owed):
    outcome = pay(owed, staff=owed["staff"])
    payment = outcome.payment
    assert outcome.status == "completed"
    assert (payment.method, payment.status, payment.amount) == ("credit", "completed", 10000)
    assert (payment.contact_id, payment.idempotency_key) == (owed["contact"].id, KEY)
    logged = models.Activity.get(models.Activity.action == "credit.applied")
    assert (logged.contact_id, logged.staff_id) == (owed["contact"].id, owed["staff"].id)
    receipt = models.EmailMessage.get(models.EmailMessage.to == owed["contact"].email)
    assert payment.number in receipt.subject
    assert receipt.status == "sent"  # delivered after the commit, not left for run-due


def test_the_second_of_two_submits_with_one_key_gets_the_first_payment(owed):
    plan = stale_plan(owed, "40.00")
    first = pay(owed, amount="40.00").payment
    before = snapshot()
    outcome = checkout._credit_only(owed["contact"], plan, models.Company.current(), KEY, None)
    assert (outcome.status, outcome.payment.id) == ("duplicate", first.id)
    assert snapshot() == before  # no second payment, allocation or receipt


def test_credit_spent_by_another_submit_meanwhile_is_refused_and_changes_nothing(owed):
    plan = stale_plan(owed)
    pay(owed, owed["other"], key="another-submit-key-0000000001")  # spends all the credit
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        checkout._credit_only(owed["contact"], plan, models.Company.current(), KEY, None)
    assert (str(refused.value), refused.value.field) == (
        "The credit is no longer available.", "use_credit")
    assert snapshot() == before
