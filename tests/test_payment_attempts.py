"""An attempt's end when the gateway's word comes late: money that arrives after the attempt
was marked failed is still applied, once; and a failure keeps the gateway's reason."""

import pytest

import models
from billing import (
    DomainError,
    checkout,
    payment_methods,
    prepayments,
    subscription_purchase,
)
from gateways.base import SavedMethod
from tests import factories
from tests.core_support import snapshot
from tests.payments_support import demo_card, failed_attempt, make_gateway, reload, typed_card
from tests.quotes_support import credit


def test_money_that_arrives_after_the_attempt_failed_is_applied_once(conn):
    client, invoice, payment = failed_attempt()
    done = checkout.finalize(payment.id, reference="demo_late_1")
    assert (done.status, done.gateway_reference, done.failure_message) == (
        "completed", "demo_late_1", "")
    assert (reload(invoice).status, reload(client).paid_to_date) == ("paid", 10000)
    before = snapshot()
    checkout.finalize(payment.id, reference="demo_late_1")  # the webhook again
    assert snapshot() == before


def test_pay_reads_amounts_in_the_payers_language_and_spends_credit_only_when_asked(conn):
    factories.company(allow_partial_payments=True, locale="de_DE")
    company = models.Company.current()
    config = make_gateway("demo")
    german = factories.contact(locale="de_DE")
    english = factories.contact(factories.client(), locale="en_US")
    unset = factories.contact(factories.client())  # reads the company's language
    for n, (contact, typed, paid) in enumerate(((german, "50,00", 5000),
                                                 (english, "1,000.50", 100050),
                                                 (unset, "1.000,50", 100050))):
        invoice = factories.invoice(contact.client, lines=[
            {"product": "Work", "quantity": 1, "unit_cost": 200000}])
        models.Credit.create(client=contact.client, number=f"CR-{n}", status="sent",
                             currency="USD", date=invoice.date, total=2000, balance=2000)
        outcome = checkout.pay(contact, [(invoice.public_id, typed)], company,
                               idempotency_key=f"typed-amount-key-00000000{n}",
                               token=demo_card(contact.client, config))
        assert (outcome.status, outcome.payment.amount) == ("completed", paid)
        # Credit is spent only when the payer asks (auto-bill and run-due never ask).
        credit = models.Credit.get(models.Credit.client == contact.client)
        assert credit.balance == 2000


def test_staff_saving_a_card_while_paying_must_confirm_consent(conn):
    factories.company()
    contact = factories.contact()
    invoice = factories.invoice(contact.client)
    gateway = checkout.gateway_settings.get(make_gateway("demo").id)
    staff = factories.staff("consent@test.example")
    card = payment_methods.captured(contact.client, gateway, typed_card("4242 4242 4242 4242"))
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                     idempotency_key="consent-key-00000000000001", gateway=gateway,
                     new_method=card, save_method=True, staff=staff)
    assert refused.value.field == "consent"
    assert snapshot() == before


@pytest.mark.parametrize("brand, last4, label", [
    (None, "4242", "Card •••• 4242"), ("", "1111", "Card •••• 1111"),
    ("visa", "", None)])
def test_a_payments_label_names_the_card_or_else_the_gateway(conn, brand, last4, label):
    factories.company()
    contact = factories.contact()
    invoice = factories.invoice(contact.client)
    gateway = checkout.gateway_settings.get(make_gateway("demo").id)
    card = SavedMethod(token=f"demo_ok_label{last4}", customer_reference="demo", brand=brand,
                       last4=last4, exp_month=12, exp_year=2035)
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key=f"label-key-000000000000{last4 or 'none'}",
                           gateway=gateway, new_method=card)
    assert reload(outcome.payment).method_label == (label or gateway.label)


def test_pay_refuses_a_closed_account_and_another_clients_form_naming_why(conn):
    factories.company()
    contact = factories.contact()
    invoice = factories.invoice(contact.client)
    config = make_gateway("demo")
    card = demo_card(contact.client, config)
    stranger = factories.contact(factories.client())
    models.Payment.create(client=stranger.client, status="pending", amount=1, currency="USD",
                          method="card", date=invoice.date,
                          idempotency_key="their-form-key-00000000001")

    def refusal(who, key):
        before = snapshot()
        with pytest.raises(DomainError) as refused:
            checkout.pay(who, [(invoice.public_id, None)], models.Company.current(),
                         idempotency_key=key, token=card)
        assert snapshot() == before
        return refused.value.message, refused.value.field
    assert refusal(contact, "their-form-key-00000000001") == (
        "This payment form has expired. Please start again.", "key")
    models.Client.update(archived_at=models.utcnow()).where(
        models.Client.id == contact.client_id).execute()
    assert refusal(reload(contact), "closed-account-key-0000001") == (
        "This account is closed. Please contact us to pay.", None)


@pytest.mark.parametrize("key, taken", [
    ("k" * 16, True), ("k" * 80, True), ("a-b_c" + "9" * 11, True), ("k" * 15, False),
    ("k" * 81, False), ("k" * 19 + "!", False), ("", False), ("  " + "k" * 15 + " ", False)])
def test_a_forms_key_is_16_to_80_letters_digits_dashes_or_underscores(key, taken):
    if taken:
        assert checkout.check_key(key) == key
    else:
        with pytest.raises(DomainError) as refused:
            checkout.check_key(key)
        assert (refused.value.message, refused.value.field) == (
            "This payment form has expired. Please start again.", "key")


def test_paying_again_under_a_completed_payments_key_is_that_payment(conn):
    factories.company()
    contact = factories.contact()
    invoice = factories.invoice(contact.client)
    card = demo_card(contact.client, make_gateway("demo"))

    def pay():
        return checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                            idempotency_key="paid-once-key-000000000001", token=card)
    first = pay()
    before = snapshot()
    again = pay()
    assert (first.status, again.status, again.payment.id) == (
        "completed", "duplicate", first.payment.id)
    assert snapshot() == before


def test_a_long_card_label_is_kept_to_the_columns_100_characters(conn):
    factories.company()
    contact = factories.contact()
    invoice = factories.invoice(contact.client)
    gateway = checkout.gateway_settings.get(make_gateway("demo").id)
    card = SavedMethod(token="demo_ok_long", customer_reference="demo", brand="b" * 120,
                       last4="4242", exp_month=12, exp_year=2035)
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key="long-label-key-0000000001", gateway=gateway,
                           new_method=card)
    label = reload(outcome.payment).method_label
    assert label == ("B" + "b" * 119)[:100]


def test_a_failure_keeps_the_first_500_characters_of_the_reason(conn):
    _client, _invoice, payment = failed_attempt()
    models.Payment.update(status="pending").where(models.Payment.id == payment.id).execute()
    checkout.mark_failed(payment.id, "x" * 499 + "yz" + "!" * 100)
    assert reload(payment).failure_message == "x" * 499 + "y"


def test_a_payment_staff_made_as_the_contact_names_them_when_it_completes(conn):
    """Card and credit together: both payments, and their activity, name the contact and
    the staff member who acted for them."""
    factories.company()
    contact = factories.contact()
    invoice = factories.invoice(contact.client)
    credit(contact.client, total=3000)
    staff = factories.staff()
    gateway = checkout.gateway_settings.get(make_gateway("demo").id)
    card = payment_methods.captured(contact.client, gateway, typed_card("4242424242424242"))
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key="staff-as-contact-key-00001", gateway=gateway,
                           new_method=card, staff=staff, use_credit=True)
    assert (outcome.status, outcome.payment.amount) == ("completed", 7000)
    by_card = models.Activity.get(models.Activity.action == "payment.completed")
    by_credit = models.Activity.get(models.Activity.action == "credit.applied")
    for done in (by_card, by_credit):
        assert (done.staff_id, done.contact_id) == (staff.id, contact.id)
    assert (by_card.client_id, by_card.subject_type, by_card.subject_id, by_card.detail) == (
        contact.client_id, "payment", outcome.payment.id, "7000 USD")
    spent = models.Payment.get(models.Payment.method == "credit")
    assert (spent.amount, spent.contact_id) == (3000, contact.id)


@pytest.mark.parametrize("by_staff", [False, True])
def test_a_card_saved_while_paying_names_who_saved_it(conn, by_staff):
    """The card kept when the payment completes records who saved it: the contact, or the
    staff member acting for them (with the consent they confirmed), never both."""
    factories.company()
    contact = factories.contact()
    invoice = factories.invoice(contact.client)
    someone_else = factories.staff()  # on the team, but not the one acting here
    staff = factories.staff() if by_staff else None
    gateway = checkout.gateway_settings.get(make_gateway("demo").id)
    card = payment_methods.captured(contact.client, gateway, typed_card("4242424242424242"))
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key="saved-while-paying-00001", gateway=gateway,
                           new_method=card, save_method=True, staff=staff,
                           staff_consent=by_staff)
    assert outcome.status == "completed"
    kept = models.GatewayToken.get(models.GatewayToken.client == contact.client)
    saved_by = (staff.id, None) if by_staff else (None, contact.id)
    assert (kept.created_by_staff_id, kept.created_by_contact_id) == saved_by
    assert (kept.token, kept.last4, kept.is_default) == (card.token, "4242", True)
    added = models.Activity.get(models.Activity.action == "payment_method.added")
    assert (added.staff_id, added.contact_id) == saved_by
    paid = models.Activity.get(models.Activity.action == "payment.completed")
    assert someone_else.id not in (kept.created_by_staff_id, paid.staff_id)


def test_a_recurring_prepayment_paid_with_a_saved_card_schedules_that_card(conn):
    factories.company()
    contact = factories.contact()
    card = demo_card(contact.client, make_gateway("demo"))
    outcome = prepayments.prepay(contact, models.Company.current(),
                                 {"amount": "50", "recurring": "1", "frequency": "monthly"},
                                 locale="en_US", idempotency_key="recurring-saved-card-0001",
                                 token=card)
    assert (outcome.status, outcome.payment.amount) == ("completed", 5000)
    schedule = models.PrepaymentSchedule.get(models.PrepaymentSchedule.client == contact.client)
    assert (schedule.payment_method_id, schedule.amount, schedule.frequency) == (
        card.id, 5000, "monthly")


@pytest.mark.parametrize("with_saved_card", [False, True])
def test_paying_a_declined_purchases_invoice_later_starts_it_with_that_card(conn,
                                                                            with_saved_card):
    """A purchase whose card was declined waits, incomplete, on its first invoice; paying
    that invoice later from the portal starts the subscription, billed to the card that
    paid: a new one kept then, or a saved one."""
    factories.company()
    contact = factories.contact()
    gateway = checkout.gateway_settings.get(make_gateway("demo").id)
    declined = payment_methods.captured(contact.client, gateway,
                                        typed_card("4000 0000 0000 0341"))
    bought = subscription_purchase.buy(factories.plan("Pro", 2500), 1, models.Company.current(),
                                       key="declined-purchase-key-0001", contact=contact,
                                       gateway=gateway, new_method=declined)
    assert (bought.status, bought.subscription.status) == ("declined", "incomplete")
    invoice = models.Invoice.get(models.Invoice.subscription == bought.subscription)
    if with_saved_card:
        kept = demo_card(contact.client, gateway.config)
        how = {"token": kept}
    else:
        card = payment_methods.captured(contact.client, gateway, typed_card("4242424242424242"))
        how = {"gateway": gateway, "new_method": card, "save_method": True}
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key="first-invoice-later-key-01", **how)
    assert outcome.status == "completed"
    if not with_saved_card:
        kept = models.GatewayToken.get(models.GatewayToken.token == card.token)
    started = reload(bought.subscription)
    assert (started.status, started.payment_method_id) == ("active", kept.id)


def test_a_card_payment_sends_its_receipt_once_it_completes(db):
    factories.company(send_receipts=True)
    contact = factories.contact()
    invoice = factories.invoice(contact.client)
    gateway = checkout.gateway_settings.get(make_gateway("demo").id)
    card = payment_methods.captured(contact.client, gateway, typed_card("4242424242424242"))
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key="card-receipt-key-000000001", gateway=gateway,
                           new_method=card)
    [receipt] = models.EmailMessage.select().where(models.EmailMessage.to == contact.email)
    assert outcome.payment.number in receipt.subject
    assert receipt.status == "sent"  # delivered after the commit, not left for run-due


@pytest.mark.parametrize("method", ["another client's", "removed", "removed since it was read",
                                    "gateway off",
                                    "offline gateway", "gateway without a card", "none"])
def test_a_method_that_cannot_pay_is_refused_and_nothing_changes(conn, method):
    factories.company()
    contact = factories.contact()
    invoice = factories.invoice(contact.client)
    demo = make_gateway("demo")
    how = {"token": demo_card(contact.client, demo)}
    if method == "another client's":
        how["token"] = demo_card(factories.contact().client, demo)
    elif method == "removed":
        models.GatewayToken.update(deleted_at=models.utcnow()).execute()
        how["token"] = reload(how["token"])
    elif method == "removed since it was read":  # the caller's copy still looks usable
        models.GatewayToken.update(deleted_at=models.utcnow()).execute()
    elif method == "gateway off":
        models.GatewayConfig.update(is_enabled=False).execute()
    elif method == "offline gateway":
        how = {"gateway": checkout.gateway_settings.get(make_gateway("manual").id),
               "new_method": payment_methods.as_saved(how["token"])}
    elif method == "gateway without a card":
        how = {"gateway": checkout.gateway_settings.get(demo.id)}
    else:
        how = {}
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                     idempotency_key="method-that-cannot-pay-001", **how)
    assert (refused.value.field, refused.value.message) == (
        "method", "That payment method is no longer available.")
    assert snapshot() == before
