"""Pre-payments through Stripe (localstripe on loopback): a recurring pre-payment, a
declined card, a first payment finished later through 3-D Secure, the succeeded webhook
delivered twice, and a scheduled charge needing 3-D Secure that fails instead of waiting.

Siblings: tests/test_prepayments.py (the tab and one-off pre-payments) and
tests/test_prepayments_recurring.py (recurring schedules and run-due). Shared helpers and
the `enabled` fixture are tests/prepayments_support.py."""
import stripe

import models
from billing import prepayments, schedule
from tests.core_support import activities
from tests.payments_support import reload
from tests.prepayments_support import due, prepayments_of, submit

# -- through Stripe (localstripe) ------------------------------------------------------------

def due_today_on_a_stripe_card(world, localstripe, gateway, number="4242424242424242"):
    """Alpha's schedule of 30.00 a month, due today, on a card saved at (local)Stripe."""
    from tests.payments_support import stripe_card
    _, card = stripe_card(localstripe, number)
    token = models.GatewayToken.create(
        client=world["a"], gateway=gateway, token=card.token,
        customer_reference=card.customer_reference, brand="visa", last4=card.last4,
        exp_month=12, exp_year=2031)
    today = models.utcnow().date()
    return models.PrepaymentSchedule.create(
        client=world["a"], contact=world["a1"], payment_method=token, amount=3000,
        currency="USD", frequency="monthly", next_date=today, start_date=today)


def test_recurring_prepayment_through_stripe(app, client, auth, world, enabled, localstripe,
                                             stripe_gateway):
    from tests.payments_support import add_card, stripe_api
    auth.login("a1@alpha.example")
    add_card(client, localstripe, stripe_gateway)
    token = models.GatewayToken.get()
    done = submit(client, f"token:{token.public_id}", amount="30", recurring="1",
                  frequency="fortnightly", cycles="2")
    assert done.status_code == 303, done.get_data(as_text=True)
    sched = models.PrepaymentSchedule.get()
    assert due(app, sched.next_date)["charged"] == 1
    payments = prepayments_of(world["a"])
    assert [(p.status, p.amount, p.applied) for p in payments] == [("completed", 3000, 0)] * 2
    intent = stripe_api(localstripe).v1.payment_intents.retrieve(payments[1].gateway_reference)
    assert (intent.status, intent.amount) == ("succeeded", 3000)
    assert reload(sched).status == "completed"


def test_declined_stripe_card_fails_the_period_and_tells_both_sides(app, client, auth, world,
                                                                    enabled, localstripe,
                                                                    stripe_gateway):
    from tests.payments_support import add_card
    auth.login("a1@alpha.example")
    add_card(client, localstripe, stripe_gateway, "4000000000000341")  # saves, charge fails
    token = models.GatewayToken.get()
    declined = submit(client, f"token:{token.public_id}", amount="30")
    assert declined.status_code == 422 and "declined" in declined.get_data(as_text=True)
    assert not prepayments_of(world["a"])[0].status == "completed"
    # a schedule whose saved Stripe card starts declining
    sched = models.PrepaymentSchedule.create(
        client=world["a"], contact=world["a1"], payment_method=token, amount=3000,
        currency="USD", frequency="monthly", next_date=models.utcnow().date(),
        start_date=models.utcnow().date())
    assert due(app)["failed"] == 1
    assert reload(sched).failed_attempts == 1
    assert models.EmailMessage.select().where(
        models.EmailMessage.to == "a1@alpha.example").count() == 1


def test_3ds_first_payment_finished_later_starts_the_schedule(app, world, conn, enabled,
                                                              localstripe, stripe_gateway):
    """The shared charging path: 3-D Secure leaves the pre-payment pending; run-due's
    reconciliation finalizes it, unapplied, saves the card and starts the schedule."""
    import requests

    from gateways.stripe_gateway import StripeGateway
    from tests.payments_support import minutes_pass, run_due, stripe_card
    _, card = stripe_card(localstripe, "4000002500003155")
    outcome = prepayments.prepay(
        world["a1"], models.Company.current(),
        {"amount": "40", "recurring": "1", "frequency": "yearly", "note": "Retainer"},
        locale="en_US", idempotency_key="prepay-3ds-" + "a" * 24,
        gateway=StripeGateway(stripe_gateway), new_method=card, save_method=True)
    assert outcome.status == "requires_action"
    payment = reload(outcome.payment)
    assert (payment.status, payment.is_prepayment, payment.notes) == ("pending", True,
                                                                      "Retainer")
    assert not models.PrepaymentSchedule.select().exists()  # no money yet, no schedule
    response = requests.post(
        f"{localstripe}/v1/payment_intents/{payment.gateway_reference}/_authenticate",
        json={"key": "pk_test_portal", "client_secret": outcome.client_secret,
              "success": True}, timeout=10)
    assert response.status_code == 200, response.text
    minutes_pass(payment)
    assert "pending payments: 1 completed" in run_due(app)
    payment = reload(payment)
    assert (payment.status, payment.applied, payment.unapplied) == ("completed", 0, 4000)
    sched = models.PrepaymentSchedule.get()
    token = models.GatewayToken.get()
    assert (sched.payment_method_id, sched.frequency, sched.amount) == (token.id, "yearly",
                                                                       4000)
    assert sched.next_date == schedule.next_date(payment.date, "yearly", payment.date.day)
    assert sched.note == "Retainer"
    # Started by run-due, with no one signed in: the log still names the client and contact.
    assert activities("prepayment.scheduled") == [
        (sched.id, world["a"].id, world["a1"].id, None, "4000 USD yearly")]


def test_succeeded_webhook_completes_a_pending_prepayment_once(client, world, conn,
                                                               stripe_gateway):
    from tests.payments_support import event, signed
    payment = models.Payment.create(
        client=world["a"], contact=world["a1"], status="pending", currency="USD",
        date=models.utcnow().date(), amount=5000, gateway=stripe_gateway,
        gateway_reference="pi_pre", is_prepayment=True,
        plan='{"lines": [], "credit": 0, "recurring": null}')
    body = event("payment_intent.succeeded", {"id": "pi_pre", "amount": 5000,
                                              "currency": "usd"})
    for _ in range(2):  # delivered twice
        response = client.post("/webhooks/stripe", data=body, headers={
            "Stripe-Signature": signed(body), "Content-Type": "application/json"})
        assert response.status_code == 200
    payment = reload(payment)
    assert (payment.status, payment.applied, payment.unapplied) == ("completed", 0, 5000)
    assert not models.PaymentAllocation.select().exists()
    assert not models.Credit.select().exists()


def test_a_scheduled_stripe_charge_needing_3ds_fails_instead_of_waiting(app, world, conn,
                                                                        enabled, localstripe,
                                                                        stripe_gateway):
    """Nobody is there to pass 3-D Secure at run-due: the charge is made off-session, so the
    bank's request for authentication is a failure the contact hears about, not a charge
    left pending for an hour."""
    sched = due_today_on_a_stripe_card(world, localstripe, stripe_gateway, "4000002500003155")
    assert due(app, sched.next_date) == {"charged": 0, "failed": 1, "waiting": 0}
    assert reload(sched).failed_attempts == 1
    assert "confirm this payment" in reload(sched).last_error
    [attempt] = prepayments_of(world["a"])
    assert attempt.status == "failed"
    api = stripe.StripeClient("sk_test_portal", base_addresses={"api": localstripe}).v1
    assert api.payment_intents.retrieve(attempt.gateway_reference).status == "canceled"


def test_a_scheduled_period_is_charged_off_session_under_its_period_key(
        app, world, conn, enabled, localstripe, proxy, proxied_stripe_gateway):
    """Nobody is at the keyboard at run-due: Stripe must hear that (off_session), so the bank
    applies the exemptions for merchant-initiated payments the card was saved for."""
    sched = due_today_on_a_stripe_card(world, localstripe, proxied_stripe_gateway)
    key = prepayments.period_key(sched)
    assert due(app, sched.next_date) == {"charged": 1, "failed": 0, "waiting": 0}
    assert proxy.posts("/v1/payment_intents") == [("/v1/payment_intents", key)]
    [fields] = proxy.posted_fields("/v1/payment_intents")
    assert (fields["off_session"], fields["confirm"], fields["amount"]) == ("true", "true",
                                                                            "3000")
    assert fields["customer"] == sched.payment_method.customer_reference
