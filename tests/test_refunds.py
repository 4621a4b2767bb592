"""Refunds in our records (checkout.refund and apply_refund): full and partial, what they
reopen (invoices, or the over-payment credit first), a stale form, and credit payments."""
import pytest

import models
from billing import DomainError, checkout, credits
from billing import payments as payment_service
from tests import factories
from tests.core_support import snapshot


def reload(record):
    return type(record).get_by_id(record.id)


@pytest.fixture
def paid(db):
    """A 100.00 invoice paid in full by a 100.00 bank transfer staff recorded."""
    client = factories.client()
    contact = factories.contact(client)
    staff = factories.staff()
    invoice = factories.invoice(client)
    payment = payment_service.record_manual(staff, client, "100.00", [invoice.id],
                                            method="bank_transfer", locale="en_US")
    return {"client": client, "contact": contact, "staff": staff, "invoice": invoice,
            "payment": payment}


def refund(paid, amount, expected):
    return checkout.refund(reload(paid["payment"]), amount, expected_refunded=expected,
                           locale="en_US", staff=paid["staff"])


def test_a_full_refund_reopens_the_invoice_whole(paid):
    assert (reload(paid["invoice"]).status, reload(paid["client"]).paid_to_date) == (
        "paid", 10000)
    payment = refund(paid, "100.00", 0)
    assert (payment.status, payment.refunded, payment.applied) == ("refunded", 10000, 0)
    invoice = reload(paid["invoice"])
    assert (invoice.balance, invoice.status) == (10000, "sent")
    client = reload(paid["client"])
    assert (client.balance, client.paid_to_date) == (10000, 0)
    assert [(a.amount, a.refunded) for a in payment.allocations] == [(10000, 10000)]


def test_partial_refunds_add_up_to_a_full_one(paid):
    payment = refund(paid, "40.00", 0)
    assert (payment.status, payment.refunded, payment.applied) == (
        "partially_refunded", 4000, 6000)
    logged = models.Activity.get(models.Activity.action == "payment.refunded")
    assert (logged.subject_type, logged.subject_id, logged.client_id, logged.staff_id,
            logged.detail) == ("payment", payment.id, paid["client"].id, paid["staff"].id,
                               "4000 USD")
    assert (reload(paid["invoice"]).balance, reload(paid["invoice"]).status) == (4000, "partial")
    payment = refund(paid, "60.00", 4000)
    assert (payment.status, payment.refunded, payment.applied) == ("refunded", 10000, 0)
    assert (reload(paid["invoice"]).balance, reload(paid["invoice"]).status) == (10000, "sent")
    assert reload(paid["client"]).paid_to_date == 0
    assert [(a.amount, a.refunded) for a in payment.allocations] == [(10000, 10000)]


BEYOND = "Refund between zero and what is left of the payment."


@pytest.mark.parametrize("amount,message", [
    ("70.01", BEYOND), ("0", BEYOND), ("-5.00", "The amount cannot be negative.")])
def test_a_refund_beyond_what_is_left_is_refused_and_changes_nothing(paid, amount, message):
    refund(paid, "30.00", 0)
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        refund(paid, amount, 3000)
    assert (str(refused.value), refused.value.field) == (message, "amount")
    assert snapshot() == before


def test_one_cent_can_be_refunded_and_its_second_submit_is_a_no_op(paid):
    assert refund(paid, "0.01", 0).refunded == 1
    before = snapshot()
    assert refund(paid, "0.01", 0).refunded == 1  # the same form again
    assert snapshot() == before


def test_the_amount_is_read_in_the_staff_members_language_and_a_bad_one_names_its_field(paid):
    payment = checkout.refund(reload(paid["payment"]), "12,50", expected_refunded=0,
                              locale="de_DE", staff=paid["staff"])
    assert payment.refunded == 1250
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        refund(paid, "twelve", 1250)
    assert refused.value.field == "amount"
    assert snapshot() == before


def test_the_gateway_reporting_more_than_was_paid_refunds_the_payment_once(paid):
    """A webhook's refunded total is capped at the payment: the invoice never owes more than
    its total and the client is never owed money back twice."""
    payment = checkout.apply_refund(paid["payment"].id, 25000)
    assert (payment.status, payment.refunded, payment.applied) == ("refunded", 10000, 0)
    assert reload(paid["invoice"]).balance == reload(paid["invoice"]).total == 10000
    assert reload(paid["client"]).paid_to_date == 0
    before = snapshot()
    checkout.apply_refund(paid["payment"].id, 25000)  # delivered again
    checkout.apply_refund(paid["payment"].id, 4000)  # an older, smaller total: stale
    assert snapshot() == before


def test_a_stale_refund_form_is_refused_and_changes_nothing(paid):
    refund(paid, "20.00", 0)  # someone else refunded 20.00 after the page was opened
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        refund(paid, "50.00", 0)
    assert str(refused.value) == (
        "This payment changed since the page was opened. Reload and check.")
    assert snapshot() == before
    refund(paid, "20.00", 0)  # the same refund submitted twice: the second is a no-op
    assert snapshot() == before
    assert reload(paid["payment"]).refunded == 2000


def test_an_over_payment_refund_takes_back_the_credit_before_reopening_the_invoice(db):
    client = factories.client()
    staff = factories.staff()
    invoice = factories.invoice(client)  # 100.00
    payment = payment_service.record_manual(staff, client, "150.00", [invoice.id],
                                            method="bank_transfer", locale="en_US")
    credit = models.Credit.get(models.Credit.client == client)
    assert (credit.reason, credit.balance, reload(invoice).balance) == ("overpayment", 5000, 0)
    payment = checkout.refund(payment, "30.00", expected_refunded=0, locale="en_US",
                              staff=staff)
    credit = reload(credit)
    assert (credit.balance, credit.status) == (2000, "sent")
    assert (reload(invoice).balance, reload(invoice).status) == (0, "paid")
    assert (payment.status, payment.applied) == ("partially_refunded", 12000)
    payment = checkout.refund(payment, "40.00", expected_refunded=3000, locale="en_US",
                              staff=staff)
    credit = reload(credit)
    assert (credit.balance, credit.status) == (0, "applied")  # all of it went back
    assert (reload(invoice).balance, reload(invoice).status) == (2000, "partial")
    assert reload(client).paid_to_date == 8000
    assert (payment.status, payment.refunded, payment.applied) == (
        "partially_refunded", 7000, 8000)


def test_a_payment_made_with_credit_cannot_be_refunded(db):
    """Spending credit moved no money: there is nothing to give back."""
    client = factories.client()
    contact = factories.contact(client)
    staff = factories.staff()
    credits.create_credit(client, [{"product": "Goodwill", "unit_cost": 10000}],
                          reason="adjustment")
    invoice = factories.invoice(client)
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key="refund-credit-payment-key-00000000",
                           use_credit=True)
    payment = outcome.payment
    assert (payment.method, payment.status, reload(invoice).balance) == ("credit", "completed",
                                                                         0)
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        checkout.refund(payment, "100.00", expected_refunded=0, locale="en_US", staff=staff)
    assert str(refused.value) == "Only a completed payment can be refunded."
    assert snapshot() == before


def test_a_gateway_that_cannot_refund_leaves_the_money_to_staff_and_records_it(db):
    """A bank transfer matched by its reference: nothing to call, the records change."""
    from tests.payments_support import make_gateway
    client, staff = factories.client(), factories.staff()
    invoice = factories.invoice(client)
    payment = payment_service.record_manual(staff, client, "100.00", [invoice.id],
                                            method="bank_transfer", locale="en_US")
    models.Payment.update(gateway=make_gateway("manual"), gateway_reference="BANK-REF-1").where(
        models.Payment.id == payment.id).execute()
    refunded = checkout.refund(reload(payment), "100.00", expected_refunded=0, locale="en_US",
                               staff=staff)
    assert (refunded.status, reload(invoice).balance) == ("refunded", 10000)


def test_stripe_out_of_reach_refunds_nothing_and_may_be_tried_again(db):
    from tests.payments_support import make_gateway
    client, staff = factories.client(), factories.staff()
    invoice = factories.invoice(client)
    payment = payment_service.record_manual(staff, client, "100.00", [invoice.id],
                                            method="bank_transfer", locale="en_US")
    unreachable = make_gateway("stripe", secret_key="sk_test_portal",
                               api_base="http://127.0.0.1:9")
    models.Payment.update(gateway=unreachable, gateway_reference="pi_unreachable",
                          method="card").where(
        models.Payment.id == payment.id).execute()
    before = snapshot()
    with pytest.raises(checkout.PaymentFailed) as failed:
        checkout.refund(reload(payment), "40.00", expected_refunded=0, locale="en_US",
                        staff=staff)
    assert failed.value.retryable is True
    assert str(failed.value) == ("The payment service did not answer. Nothing was charged; "
                                 "please try again in a moment.")
    assert snapshot() == before


def test_a_refund_reopens_the_newest_invoice_first_and_never_touches_one_paid_since(db):
    """Payment P paid two invoices; a refund goes back newest allocation first, a cent past
    it reaches the older one, and an invoice paid again by someone else in between stays
    paid. Another client's totals never move."""
    client, staff = factories.client(), factories.staff()
    bystander = factories.client()
    factories.invoice(bystander)
    older, newer = factories.invoice(client), factories.invoice(client)  # 100.00 each
    payment = payment_service.record_manual(staff, client, "200.00", [older.id, newer.id],
                                            method="bank_transfer", locale="en_US")
    payment = checkout.refund(payment, "100.01", expected_refunded=0, locale="en_US",
                              staff=staff)
    assert (reload(newer).balance, reload(newer).status) == (10000, "sent")
    assert (reload(older).balance, reload(older).status) == (1, "partial")
    payment_service.record_manual(staff, client, "100.00", [newer.id], method="bank_transfer",
                                  locale="en_US")
    bystander_before = reload(bystander).__data__
    payment = checkout.refund(payment, "0.01", expected_refunded=10001, locale="en_US",
                              staff=staff)
    assert (reload(newer).balance, reload(newer).status) == (0, "paid")
    assert (reload(older).balance, reload(older).status) == (2, "partial")
    assert (payment.refunded, payment.applied) == (10002, 9998)
    assert reload(bystander).__data__ == bystander_before


def test_refunding_money_no_invoice_took_leaves_nothing_applied(db):
    """A pre-payment is money on account: nothing applied, nothing to reopen."""
    client, staff = factories.client(), factories.staff()
    payment = models.Payment.create(client=client, number="PAY-ON-ACCOUNT", status="completed",
                                    date=models.utcnow().date(), currency="USD", amount=5000,
                                    applied=0, method="bank_transfer", is_prepayment=True)
    payment = checkout.refund(payment, "20.00", expected_refunded=0, locale="en_US",
                              staff=staff)
    assert (payment.status, payment.refunded, payment.applied) == (
        "partially_refunded", 2000, 0)
