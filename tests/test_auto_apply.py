"""Money on account meeting a newly issued invoice (billing.applying.auto_apply), rule by
rule: what a payment being processed holds is left to it, a fully held invoice takes
nothing, the run stops once the invoice is paid, and the log names who acted."""
import pytest

import models
from billing import applying
from tests import factories
from tests.applying_support import invoice_for, unapplied_payment
from tests.payments_support import reload


@pytest.fixture
def client(db):
    factories.company(auto_apply_prepayments=True)
    return factories.client()


def held(client, invoice, amount):
    """A payment being processed, holding `amount` of the invoice."""
    return models.Payment.create(client=client, status="pending", date=models.utcnow().date(),
                                 currency="USD", amount=amount,
                                 plan=f'{{"lines": [[{invoice.id}, {amount}]]}}')


def test_an_issued_invoice_takes_only_what_a_payment_in_progress_leaves(client):
    models.Company.update(auto_apply_prepayments=False).execute()
    invoice = invoice_for(client, 5000)
    held(client, invoice, 3000)
    money = unapplied_payment(client, 6000)
    models.Company.update(auto_apply_prepayments=True).execute()
    staff = factories.staff()
    done = applying.auto_apply(reload(invoice), staff=staff)
    assert [(a.payment.id, [(inv.id, part) for inv, part in a.lines]) for a in done] == [
        (money.id, [(invoice.id, 2000)])]
    assert (reload(invoice).balance, reload(money).unapplied) == (3000, 4000)
    entry = models.Activity.get(models.Activity.action == "payment.applied")
    assert (entry.subject_id, entry.staff_id) == (money.id, staff.id)


def test_a_fully_held_invoice_takes_nothing_and_logs_nothing(client, caplog):
    models.Company.update(auto_apply_prepayments=False).execute()
    invoice = invoice_for(client, 5000)
    held(client, invoice, 5000)
    money = unapplied_payment(client, 6000)
    models.Company.update(auto_apply_prepayments=True).execute()
    caplog.set_level("WARNING")
    assert applying.auto_apply(reload(invoice)) == []
    assert reload(money).unapplied == 6000
    assert [r.getMessage() for r in caplog.records] == []


def test_the_money_applied_is_returned_when_the_invoice_is_paid_before_the_last_payment(
        client):
    models.Company.update(auto_apply_prepayments=False).execute()
    first, second = unapplied_payment(client, 5000), unapplied_payment(client, 5000)
    invoice = invoice_for(client, 3000)
    models.Company.update(auto_apply_prepayments=True).execute()
    done = applying.auto_apply(reload(invoice))
    assert [a.payment.id for a in done] == [first.id]
    assert (reload(first).unapplied, reload(second).unapplied) == (2000, 5000)


def test_applying_for_a_contact_names_them_in_the_log(client):
    contact = factories.contact(client, email="ap@client.example")
    invoice = invoice_for(client, 4000)
    money = unapplied_payment(client, 4000)
    applying.apply_payment(money, [(invoice.public_id, "40.00")], contact=contact,
                           locale="en_US")
    entry = models.Activity.get(models.Activity.action == "payment.applied")
    assert (entry.subject_id, entry.contact_id, entry.staff_id) == (money.id, contact.id, None)


def test_a_refused_application_is_logged_and_the_next_payment_still_tried(client, caplog):
    models.Company.update(auto_apply_prepayments=False).execute()
    unapplied_payment(factories.client(), 100)  # so no payment shares the invoice's row id
    big, small = unapplied_payment(client, 9000), unapplied_payment(client, 1000)
    invoice = invoice_for(client, 5000)
    models.Company.update(auto_apply_prepayments=True).execute()
    # The issuing request's copy says 10,000 is owed, but another request took half since:
    # the whole of the first payment is more than the invoice owes now, so it is refused.
    stale = reload(invoice)
    stale.balance = 10000
    caplog.set_level("WARNING", logger="portal.billing")
    done = applying.auto_apply(stale)
    assert [a.payment.id for a in done] == [small.id]
    assert (reload(big).unapplied, reload(small).unapplied) == (9000, 0)
    assert reload(invoice).balance == 4000
    assert [r.getMessage() for r in caplog.records] == [
        f"payment {big.id} not applied to invoice {invoice.id}: Invoice {invoice.number} has "
        "$50.00 left to pay; apply no more than that."]
