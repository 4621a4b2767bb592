"""The payment screen's decisions as services (billing.checkout_review, checkout_steps),
driven with plain values and no request: what the review offers, and what follows once a
method is chosen. The portal's own flow through them is tests/test_payments.py."""
import datetime as dt

import pytest

import models
from billing import DomainError, allocation, checkout_review, checkout_steps
from billing.checkout_review import Selection
from billing.checkout_steps import Choice
from tests import factories
from tests.core_support import snapshot
from tests.payments_support import make_gateway, reload, typed_card
from tests.quotes_support import credit

GOOD = typed_card("4242 4242 4242 4242")
DECLINED = typed_card("4000 0000 0000 0002")


def world():
    factories.company()
    client = factories.client()
    contact = factories.contact(client)
    return contact, factories.invoice(client), factories.invoice(client)


def advance(contact, invoices, choice):
    return advance_selection(contact, Selection(picked=[i.public_id for i in invoices]), choice)


def advance_selection(contact, selection, choice):
    return checkout_steps.advance(contact, selection, choice, models.Company.current(),
                                  locale="en_US")


def test_the_selection_reads_amounts_and_choices(conn):
    contact, first, second = world()
    selection = Selection(picked=(first.public_id, second.public_id, "x" * 30),
                          amounts={first.public_id: "12.50"}, full={second.public_id})
    assert checkout_review.requested_items(contact, selection) == [
        (first.public_id, "12.50"), (second.public_id, "full"), ("x" * 24, "due")]


def test_an_amount_too_long_to_be_one_is_refused_not_cut(conn):
    contact, first, _second = world()
    typed = "0" * 36 + "10.005"  # its first 40 characters read 10.00
    selection = Selection(picked=(first.public_id,), amounts={first.public_id: typed})
    assert checkout_review.requested_items(contact, selection) == [(first.public_id, typed)]
    before = snapshot()
    with pytest.raises(DomainError, match="as a number"):
        advance_selection(contact, selection, Choice(method="", key=""))
    assert snapshot() == before


def test_pay_all_takes_the_open_invoices_in_the_clients_currency(conn):
    contact, first, second = world()
    factories.invoice(contact.client, status="draft")
    models.Invoice.update(currency="CHF").where(models.Invoice.id == second.id).execute()
    assert checkout_review.selected_ids(contact, Selection(pay_all=True)) == [first.public_id]


def test_pay_all_takes_the_soonest_due_first_up_to_what_one_payment_can_hold(conn):
    contact, first, second = world()
    models.Invoice.update(due_date=first.due_date + dt.timedelta(days=5)).where(
        models.Invoice.id == first.id).execute()
    assert checkout_review.selected_ids(contact, Selection(pay_all=True)) == [
        second.public_id, first.public_id]
    assert checkout_review.requested_items(contact, Selection(pay_all=True)) == [
        (second.public_id, "due"), (first.public_id, "due")]
    for _ in range(allocation.MAX_INVOICES):
        factories.invoice(contact.client)
    taken = checkout_review.selected_ids(contact, Selection(pay_all=True))
    assert len(taken) == allocation.MAX_INVOICES and first.public_id not in taken


def test_pay_all_takes_invoices_due_the_same_day_in_the_order_they_were_made(conn):
    contact, first, second = world()
    third = factories.invoice(contact.client)
    # The first one re-dated and back after the third was made: PostgreSQL then stores it
    # last, and only the id keeps the order.
    factories.moved(first, due_date=first.due_date + dt.timedelta(days=1))
    factories.moved(first, due_date=second.due_date)
    assert checkout_review.selected_ids(contact, Selection(pay_all=True)) == [
        first.public_id, second.public_id, third.public_id]


def test_pay_all_takes_an_invoice_with_one_minor_unit_left(conn):
    contact, first, second = world()
    models.Invoice.update(status="partial", balance=1).where(
        models.Invoice.id == first.id).execute()
    assert set(checkout_review.selected_ids(contact, Selection(pay_all=True))) == {
        first.public_id, second.public_id}


def test_picking_more_than_one_payment_holds_keeps_one_too_many_to_refuse(conn):
    contact, _first, _second = world()
    picked = tuple(f"id{n:04d}" for n in range(allocation.MAX_INVOICES + 5))
    assert checkout_review.selected_ids(contact, Selection(picked=picked)) == list(
        picked[:allocation.MAX_INVOICES + 1])


def test_the_offer_leaves_out_what_a_payment_in_flight_holds_in_full(conn):
    contact, first, second = world()
    models.Payment.create(client=contact.client, amount=first.balance, currency="USD",
                          status="pending", idempotency_key="k" * 20, date=first.date,
                          plan=f'{{"lines": [[{first.id}, {first.balance}]]}}')
    offer = checkout_review.offer(contact, Selection(picked=(first.public_id, second.public_id)),
                                  models.Company.current())
    assert offer.invoices == [second]
    assert [(inv.id, held, left) for inv, held, left in offer.processing] == [
        (first.id, first.balance, 0)]
    assert not offer.nothing_to_pay and not offer.editable


def test_the_offer_is_in_the_invoices_currency_with_the_credit_in_it(conn):
    """An invoice kept in the currency it was issued in (the client's changed since): the
    review screen shows it, and the credit that can pay it, in that currency."""
    contact, first, _second = world()
    models.Invoice.update(currency="EUR").where(models.Invoice.id == first.id).execute()
    credit(contact.client, 700, currency="EUR")
    credit(contact.client, 300)  # USD: cannot pay a euro invoice
    offer = checkout_review.offer(contact, Selection(picked=(first.public_id,)),
                                  models.Company.current())
    assert (offer.invoices, offer.currency, offer.credit_available) == ([reload(first)],
                                                                        "EUR", 700)
    nothing = checkout_review.offer(contact, Selection(), models.Company.current())
    assert (nothing.invoices, nothing.currency, nothing.credit_available) == ([], "USD", 300)
    assert nothing.nothing_to_pay


def test_the_offer_lists_saved_methods_only_a_gateway_can_charge(conn):
    contact, first, _second = world()
    demo, manual = make_gateway("demo"), make_gateway("manual")
    usable = models.GatewayToken.create(client=contact.client, gateway=demo, token="demo_ok_1",
                                        brand="visa", last4="4242")
    models.GatewayToken.create(client=contact.client, gateway=manual, token="x", last4="0000")
    offer = checkout_review.offer(contact, Selection(picked=(first.public_id,)),
                                  models.Company.current())
    assert offer.saved == [usable]
    assert ([g.config.id for g in offer.new_gateways], [g.config.id for g in offer.offline_gateways]
            ) == ([demo.id], [manual.id])


def test_an_offline_method_shows_instructions_and_records_nothing(conn):
    contact, first, _second = world()
    manual = make_gateway("manual")
    before = snapshot()
    step = advance(contact, [first], Choice(method=f"offline:{manual.id}", key="k" * 20))
    assert (step.step, step.gateway.config.id, step.plan.charge) == (
        "instructions", manual.id, first.balance)
    assert snapshot() == before


def test_a_new_card_goes_to_the_capture_first_with_a_key(conn):
    contact, first, _second = world()
    demo = make_gateway("demo")
    step = advance(contact, [first], Choice(method=f"new:{demo.id}"))
    assert step.step == "capture" and step.error is None and len(step.key) >= 16
    assert not models.Payment.select().exists()


def test_the_captured_card_pays(conn):
    contact, first, _second = world()
    demo = make_gateway("demo")
    step = advance(contact, [first], Choice(method=f"new:{demo.id}", key="k" * 20,
                                            capture=True, card=GOOD))
    assert (step.step, step.outcome.status) == ("paid", "completed")
    assert reload(first).balance == 0 and not models.GatewayToken.select().exists()


def test_a_declined_card_is_asked_again_under_a_new_key(conn):
    contact, first, _second = world()
    demo = make_gateway("demo")
    step = advance(contact, [first], Choice(method=f"new:{demo.id}", key="k" * 20,
                                            capture=True, card=DECLINED))
    assert step.step == "capture" and "declined" in step.error.message
    assert step.key != "k" * 20 and reload(first).balance == first.balance


def test_staff_saving_a_card_without_consent_is_refused_before_the_gateway(conn):
    contact, first, _second = world()
    demo = make_gateway("demo", token_mode="always")
    staff = factories.staff()
    before = snapshot()
    step = checkout_steps.advance(
        contact, Selection(picked=(first.public_id,)),
        Choice(method=f"new:{demo.id}", key="k" * 20, capture=True, card=GOOD),
        models.Company.current(), locale="en_US", staff=staff)
    assert (step.step, step.error.field, step.key) == ("capture", "consent", "k" * 20)
    assert snapshot() == before


def test_credit_that_covers_it_all_pays_without_a_gateway(conn):
    contact, first, _second = world()
    credit(contact.client, total=first.balance)
    step = advance(contact, [first], Choice(method="", key="k" * 20, use_credit=True))
    assert (step.step, step.outcome.status, step.outcome.payment.method) == (
        "paid", "completed", "credit")


def test_an_unknown_method_is_refused(conn):
    contact, first, _second = world()
    for method in ("", "new:999", "token:nope", f"bogus:{make_gateway('demo').id}"):
        with pytest.raises(DomainError) as refused:
            advance(contact, [first], Choice(method=method, key="k" * 20))
        assert refused.value.field == "method"


def prepay(contact, form, choice, staff=None):
    return checkout_steps.advance_prepayment(contact, form, choice, models.Company.current(),
                                             locale="en_US", staff=staff)


MONTHLY = {"amount": "50.00", "recurring": "1", "frequency": "monthly", "cycles": "3"}


def test_a_pre_payment_with_a_new_card_goes_to_the_capture_for_its_amount(conn):
    contact, _first, _second = world()
    demo = make_gateway("demo")
    step = prepay(contact, {"amount": "50.00"}, Choice(method=f"new:{demo.id}"))
    assert (step.step, step.plan.total, step.plan.lines, step.error) == (
        "capture", 5000, [], None)
    assert len(step.key) >= 16 and not models.Payment.select().exists()


def test_a_schedule_needs_a_gateway_that_keeps_cards_before_the_capture(conn):
    contact, _first, _second = world()
    never = make_gateway("demo", token_mode="off")
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        prepay(contact, MONTHLY, Choice(method=f"new:{never.id}"))
    assert refused.value.field == "recurring"
    assert snapshot() == before


def test_a_schedule_keeps_the_card_so_staff_must_confirm_consent(conn):
    """Even with the save box unticked: a schedule charges the saved card later."""
    contact, _first, _second = world()
    demo = make_gateway("demo")
    staff = factories.staff()
    before = snapshot()
    step = prepay(contact, MONTHLY, Choice(method=f"new:{demo.id}", key="k" * 20,
                                           capture=True, card=GOOD), staff=staff)
    assert (step.step, step.error.field, step.key) == ("capture", "consent", "k" * 20)
    assert snapshot() == before


def test_a_captured_card_pays_the_pre_payment_and_starts_its_schedule(conn):
    contact, _first, _second = world()
    demo = make_gateway("demo")
    step = prepay(contact, MONTHLY, Choice(method=f"new:{demo.id}", key="k" * 20,
                                           capture=True, card=GOOD))
    payment = step.outcome.payment
    assert (step.step, step.outcome.status, payment.amount, payment.applied) == (
        "paid", "completed", 5000, 0)
    schedule = models.PrepaymentSchedule.get()
    assert (schedule.amount, schedule.frequency, schedule.payment_method_id) == (
        5000, "monthly", models.GatewayToken.get().id)


ERROR = typed_card("4000 0000 0000 0119")  # the demo gateway fails when it is charged


def test_a_declined_card_shows_the_capture_again_for_the_same_gateway_and_amount(conn):
    contact, first, _second = world()
    demo = make_gateway("demo")
    step = advance(contact, [first], Choice(method=f"new:{demo.id}", key="k" * 20,
                                            capture=True, card=DECLINED))
    assert (step.step, step.gateway.config.id, step.plan.charge) == (
        "capture", demo.id, first.balance)
    # A definite no starts a new attempt: a fresh key, as new_key() makes them.
    assert len(step.key) == len(checkout_steps.new_key()) and step.key != "k" * 20
    assert not step.error.retryable


def test_a_gateway_that_failed_is_tried_again_under_the_same_key(conn):
    """A retryable failure may have reached the gateway: the retry must be the same attempt,
    so the gateway answers it with the charge it made, never a second one."""
    contact, first, _second = world()
    demo = make_gateway("demo")
    step = advance(contact, [first], Choice(method=f"new:{demo.id}", key="k" * 20,
                                            capture=True, card=ERROR))
    assert (step.step, step.error.retryable, step.key) == ("capture", True, "k" * 20)
    assert (step.gateway.config.id, step.plan.charge) == (demo.id, first.balance)
    assert reload(first).balance == first.balance


def test_key_after_keeps_the_key_only_for_a_retryable_failure():
    from billing.checkout import PaymentFailed
    assert checkout_steps.key_after(PaymentFailed("busy", retryable=True), "k" * 20) == "k" * 20
    fresh = checkout_steps.key_after(PaymentFailed("no", retryable=False), "k" * 20)
    assert fresh != "k" * 20 and len(fresh) == len(checkout_steps.new_key())
    # A retryable failure of an attempt that had no key yet starts one.
    assert len(checkout_steps.key_after(PaymentFailed("busy", retryable=True), "")) == len(
        checkout_steps.new_key())


def test_a_pre_payment_with_a_removed_saved_method_is_refused_at_the_method(conn):
    contact, _first, _second = world()
    demo = make_gateway("demo")
    gone = models.GatewayToken.create(client=contact.client, gateway=demo, token="demo_ok_1",
                                      brand="visa", last4="4242", deleted_at=models.utcnow())
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        prepay(contact, {"amount": "50.00"}, Choice(method=f"token:{gone.public_id}",
                                                    key="k" * 20))
    assert (refused.value.message, refused.value.field) == (
        "That payment method is no longer available.", "method")
    assert snapshot() == before


def test_a_pre_payment_staff_take_with_a_saved_method_is_theirs(conn):
    contact, _first, _second = world()
    demo = make_gateway("demo")
    saved = models.GatewayToken.create(client=contact.client, gateway=demo, token="demo_ok_1",
                                       brand="visa", last4="4242")
    staff = factories.staff()
    step = prepay(contact, {"amount": "50.00"}, Choice(method=f"token:{saved.public_id}",
                                                       key="k" * 20), staff=staff)
    assert (step.step, step.outcome.status, step.outcome.payment.amount) == (
        "paid", "completed", 5000)
    done = models.Activity.get(models.Activity.action == "payment.completed")
    assert done.staff_id == staff.id


def test_a_saved_methods_id_is_read_whole_after_the_first_colon(conn):
    """"token:<id>": whatever follows the first colon is the id looked up, so a value with
    another colon is a method that does not exist, not another kind of method."""
    contact, _first, _second = world()
    with pytest.raises(DomainError) as refused:
        prepay(contact, {"amount": "50.00"}, Choice(method="token:x:y", key="k" * 20))
    assert refused.value.message == "That payment method is no longer available."
