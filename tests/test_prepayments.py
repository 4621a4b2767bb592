"""Pre-payments (issue 11 parts 1-2): the tab, unapplied money, recurring schedules, run-due."""
import datetime as dt

import pytest
import stripe

import models
from billing import prepayments, schedule, scheduler
from tests import factories
from tests.conftest import CSRF_RE, csrf_token, hx
from tests.core_support import race, snapshot
from tests.payments_support import KEY_RE, reload, save_card

CARD = {"card_number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2035",
        "cvc": "123"}
TAB = "/client/pre_payment"


@pytest.fixture
def enabled(app, conn):
    return factories.company(prepayments_enabled=True, minimum_prepayment=1000)


def form_page(client):
    html = client.get(TAB).get_data(as_text=True)
    return CSRF_RE.search(html).group(1), KEY_RE.search(html).group(1)


def submit(client, method, **fields):
    token, key = form_page(client)
    data = {"csrf_token": token, "key": key, "step": "pay", "method": method, **fields}
    return client.post(TAB, data=data)


def pay_new_card(client, gateway, card=CARD, **fields):
    """Fill the tab, then the demo gateway's card form, as a person does."""
    capture = submit(client, f"new:{gateway.id}", **fields)
    assert capture.status_code == 200, capture.get_data(as_text=True)
    html = capture.get_data(as_text=True)
    data = {"csrf_token": CSRF_RE.search(html).group(1), "key": KEY_RE.search(html).group(1),
            "step": "capture", "method": f"new:{gateway.id}", "gateway": gateway.id,
            **fields, **card}
    return client.post(TAB, data=data)


def due(app, today=None):
    """One run-due tick of the pre-payment job (its e-mails need the app)."""
    with app.app_context():
        return prepayments.charge_due(today)


def prepayments_of(client_record):
    P = models.Payment
    return list(P.select().where((P.client == client_record.id) & P.is_prepayment)
                .order_by(P.id))


# -- the tab ---------------------------------------------------------------------------------

def test_tab_exists_only_when_prepayments_are_enabled(client, auth, world, conn):
    factories.company(prepayments_enabled=False)
    auth.login("a1@alpha.example")
    assert client.get(TAB).status_code == 404
    assert TAB not in client.get("/client/invoices").get_data(as_text=True)
    factories.company(prepayments_enabled=True)
    page = client.get(TAB)
    assert page.status_code == 200 and "Enable recurring" in page.get_data(as_text=True)
    assert TAB in client.get("/client/invoices").get_data(as_text=True)


def test_tab_is_one_route_for_page_and_fragment(client, auth, world, enabled, demo_gateway):
    auth.login("a1@alpha.example")
    page, fragment = client.get(TAB), hx(client, TAB)
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    assert "<html" in page.get_data(as_text=True)
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and "<h1>Pre-Payment</h1>" in html
    assert 'name="csrf_token"' in html and "New card · Demo gateway" in html
    assert "The minimum pre-payment is $10.00." in html


def test_another_clients_saved_card_is_refused(client, auth, world, enabled, demo_gateway):
    auth.login("b1@beta.example")
    save_card(client, demo_gateway)
    theirs = models.GatewayToken.get()
    client.post("/client/logout", data={"csrf_token": csrf_token(client, TAB)})
    auth.login("a1@alpha.example")
    before = snapshot()
    response = submit(client, f"token:{theirs.public_id}", amount="50")
    assert response.status_code == 422
    assert "no longer available" in response.get_data(as_text=True)
    assert snapshot() == before


def test_one_off_prepayment_with_a_new_card_is_unapplied(client, auth, world, enabled,
                                                         demo_gateway):
    auth.login("a1@alpha.example")
    balance_before = reload(world["a"]).balance
    done = pay_new_card(client, demo_gateway, amount="1,250.50", note="For next month")
    assert done.status_code == 303 and "/client/payments/" in done.headers["Location"]
    [payment] = prepayments_of(world["a"])
    assert (payment.status, payment.amount, payment.applied, payment.unapplied) == (
        "completed", 125050, 0, 125050)
    assert payment.notes == "For next month" and payment.number
    assert not payment.allocations.exists()
    assert not models.Credit.select().exists()  # unapplied money, not an over-payment credit
    assert reload(world["a"]).balance == balance_before  # no invoice was touched
    assert not models.PrepaymentSchedule.select().exists()
    listing = client.get("/client/payments").get_data(as_text=True)
    assert "Pre-payment" in listing and "$1,250.50 unapplied" in listing
    show = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "For next month" in show and "unapplied" in show


def test_prepayment_with_a_saved_card_and_a_double_submit_charges_once(client, auth, world,
                                                                       enabled, demo_gateway):
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    token = models.GatewayToken.get()
    csrf, key = form_page(client)
    data = {"csrf_token": csrf, "key": key, "step": "pay", "method": f"token:{token.public_id}",
            "amount": "50"}
    assert client.post(TAB, data=data).status_code == 303
    assert client.post(TAB, data=data).status_code == 303  # the same form again
    assert [p.amount for p in prepayments_of(world["a"])] == [5000]
    assert models.DemoCharge.select().count() == 1


def test_declined_card_records_no_money_and_no_schedule(client, auth, world, enabled,
                                                        demo_gateway):
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway, "4000000000000341")  # saves; every charge is declined
    token = models.GatewayToken.get()
    response = submit(client, f"token:{token.public_id}", amount="50", recurring="1",
                      frequency="monthly")
    assert response.status_code == 422 and "declined" in response.get_data(as_text=True)
    assert not models.Payment.select().where(models.Payment.status == "completed").exists()
    assert not models.PrepaymentSchedule.select().exists()


BAD = [
    ({"amount": "5"}, "amount", "minimum pre-payment is $10.00"),
    ({"amount": "ten"}, "amount", "as a number"),
    ({"amount": "-20"}, "amount", "cannot be negative"),
    ({"amount": ""}, "amount", "Enter an amount"),
    ({"amount": "0"}, "amount", "above zero"),
    ({"amount": "€50"}, "amount", "as a number"),  # another currency: the client's only
    ({"amount": "50.001"}, "amount", "at most 2 decimal places"),
    ({"amount": "50", "recurring": "1", "frequency": "hourly"}, "frequency", "frequency"),
    ({"amount": "50", "recurring": "1", "frequency": "monthly", "cycles": "1.5"}, "cycles",
     "whole number"),
    ({"amount": "50", "recurring": "1", "frequency": "monthly", "cycles": "-3"}, "cycles",
     "whole number"),
    ({"amount": "50", "recurring": "1", "frequency": "monthly", "cycles": "1"}, "cycles",
     "whole number"),
    ({"amount": "50", "note": "x" * 600}, "note", "under 500"),
]


@pytest.mark.parametrize("fields,field,message", BAD)
def test_bad_input_is_refused_at_its_field_and_nothing_is_written(client, auth, world, enabled,
                                                                   demo_gateway, fields, field,
                                                                   message):
    auth.login("a1@alpha.example")
    before = snapshot()
    response = submit(client, f"new:{demo_gateway.id}", **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="err-{field}"' in html and message in html
    assert 'aria-invalid="true" aria-describedby="err-' + field + '"' in html
    assert snapshot() == before


def test_recurrence_needs_a_saved_method(client, auth, world, conn, enabled):
    from tests.payments_support import make_gateway
    gateway = make_gateway("demo", token_mode="off")  # the business keeps no cards
    auth.login("a1@alpha.example")
    before = snapshot()
    response = submit(client, f"new:{gateway.id}", amount="50", recurring="1",
                      frequency="weekly")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "need a saved payment method" in html
    assert 'aria-describedby="err-recurring"' in html
    assert snapshot() == before


def test_german_contact_types_amounts_the_german_way(client, auth, world, enabled,
                                                     demo_gateway):
    models.Contact.update(locale="de_DE").where(models.Contact.id == world["a1"].id).execute()
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    token = models.GatewayToken.get()
    assert submit(client, f"token:{token.public_id}", amount="20,50").status_code == 303
    assert [p.amount for p in prepayments_of(world["a"])] == [2050]


# -- recurring ------------------------------------------------------------------------------

def start_recurring(client, gateway, **fields):
    """A new card, saved for the schedule as the first payment is taken."""
    done = pay_new_card(client, gateway, amount="25", recurring="1", **fields)
    assert done.status_code == 303, done.get_data(as_text=True)
    return models.PrepaymentSchedule.get()


def test_recurring_prepayment_saves_the_card_and_schedules_the_rest(app, client, auth, world,
                                                                    enabled, demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly", cycles="3")
    today = models.utcnow().date()
    token = models.GatewayToken.get()
    assert (sched.amount, sched.frequency, sched.remaining_cycles, sched.status) == (
        2500, "monthly", 2, "active")
    assert sched.payment_method_id == token.id and sched.start_date == today
    assert sched.next_date > today and sched.contact_id == world["a1"].id
    html = client.get(TAB).get_data(as_text=True)
    assert "Monthly" in html and "$25.00" in html and f"/pre_payment/{sched.public_id}/stop" in html
    # run-due charges the two remaining periods, then the schedule is complete
    later = sched.next_date + dt.timedelta(days=70)
    assert due(app, later)["charged"] == 2
    assert [p.amount for p in prepayments_of(world["a"])] == [2500, 2500, 2500]
    assert (reload(sched).status, reload(sched).next_date) == ("completed", None)
    assert due(app, later + dt.timedelta(days=400))["charged"] == 0


def test_catch_up_after_three_missed_periods_charges_each_once(app, client, auth, world, enabled,
                                                               demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="weekly")
    first = sched.next_date
    # run-due was down for three periods: each is charged once, the schedule moves past them
    today = first + dt.timedelta(days=14)
    assert due(app, today) == {"charged": 3, "failed": 0, "waiting": 0}
    keys = sorted(p.idempotency_key for p in prepayments_of(world["a"])[1:])
    assert [k[-12:-2] for k in keys] == [
        (first + dt.timedelta(days=7 * n)).isoformat() for n in range(3)]
    assert reload(sched).next_date == first + dt.timedelta(days=21)
    assert due(app, today)["charged"] == 0  # a second run finds nothing due
    assert len(prepayments_of(world["a"])) == 4


def test_two_overlapping_run_due_charge_each_period_once(app, client, auth, world, enabled,
                                                         demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="daily")
    today = sched.next_date + dt.timedelta(days=2)  # three periods due
    results = race(app, 2, lambda i: due(app, today))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(prepayments_of(world["a"])) == 4  # the first payment and three periods
    assert models.DemoCharge.select().count() == 4
    assert reload(sched).next_date == today + dt.timedelta(days=1)


def test_failed_charge_is_retried_three_times_then_paused_and_both_sides_told(app,
        client, auth, world, enabled, demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly")
    # The card starts declining (a charge_declined test card in its place).
    models.GatewayToken.update(token="demo_chargedeclined_0000").execute()
    day = sched.next_date
    assert due(app, day)["failed"] == 1
    assert due(app, day)["failed"] == 1
    assert reload(sched).status == "active" and reload(sched).failed_attempts == 2
    assert due(app, day)["failed"] == 1
    sched = reload(sched)
    assert (sched.status, sched.failed_attempts, sched.next_date) == ("paused", 3, day)
    assert "declined" in sched.last_error
    assert due(app, day + dt.timedelta(days=90)) == {
        "charged": 0, "failed": 0, "waiting": 0}
    assert len(prepayments_of(world["a"])) == 4  # the first and three failed attempts
    assert [p.status for p in prepayments_of(world["a"])][1:] == ["failed"] * 3
    mails = list(models.EmailMessage.select().order_by(models.EmailMessage.id))
    failures = [m for m in mails if "failed" in m.subject.lower()]
    to_contact = [m for m in failures if m.to == "a1@alpha.example"]
    to_business = [m for m in failures if m.to == "billing@test.example"]
    assert len(to_contact) == 3 and len(to_business) == 3
    # The first payment's money arrived: its receipt (one per contact) is all else sent.
    receipts = [m for m in mails if m not in failures]
    assert receipts and {m.subject for m in receipts} == {receipts[0].subject}
    assert receipts[0].subject.startswith("Receipt")
    assert len({m.to for m in receipts}) == len(receipts)
    assert "paused" in to_contact[-1].body_text and "$25.00" in to_contact[-1].body_text
    html = client.get(TAB).get_data(as_text=True)
    assert "Paused" in html and "declined" in html


def test_a_recovered_card_is_charged_on_the_next_tick(app, client, auth, world, enabled,
                                                      demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly")
    good = models.GatewayToken.get().token
    models.GatewayToken.update(token="demo_chargedeclined_0000").execute()
    assert due(app, sched.next_date)["failed"] == 1
    models.GatewayToken.update(token=good).execute()
    assert due(app, sched.next_date)["charged"] == 1
    assert reload(sched).failed_attempts == 0 and reload(sched).next_date > sched.next_date


def test_stop_asks_then_stops_and_a_foreign_schedule_is_not_found(app, client, auth, world, enabled,
                                                                  demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly")
    url = f"{TAB}/{sched.public_id}/stop"
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Stop this recurring pre-payment?" in \
        confirm.get_data(as_text=True)
    assert reload(sched).status == "active"  # asking changes nothing
    done = client.post(url, data={"csrf_token": csrf_token(client, url)})
    assert done.status_code == 303
    assert (reload(sched).status, reload(sched).next_date) == ("stopped", None)
    assert due(app, sched.next_date)["charged"] == 0
    assert "You have no recurring pre-payments" in client.get(TAB).get_data(as_text=True)
    # another client's contact: 404 for the page and the POST, nothing changed
    models.PrepaymentSchedule.update(status="active").execute()
    client.post("/client/logout", data={"csrf_token": csrf_token(client, TAB)})
    auth.login("b1@beta.example")
    assert client.get(url).status_code == 404
    assert client.post(url, data={"csrf_token": csrf_token(client, TAB)}).status_code == 404
    assert client.get(f"{TAB}/nonsense/stop").status_code == 404
    assert reload(sched).status == "active"


def test_run_due_cli_reports_prepayments(app, client, auth, world, enabled, demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="daily")
    models.PrepaymentSchedule.update(next_date=models.utcnow().date()).execute()
    lines = scheduler.run_due(app)
    assert "recurring pre-payments: 1 charged, 0 failed, 0 still processing" in lines
    assert reload(sched).next_date > models.utcnow().date()


# -- through Stripe (localstripe) ------------------------------------------------------------

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


def test_a_closed_account_pauses_its_schedule_at_once(app, client, auth, world, enabled,
                                                      demo_gateway):
    auth.login("a1@alpha.example")
    sched = start_recurring(client, demo_gateway, frequency="monthly")
    models.Contact.update(is_active=False).where(models.Contact.id == world["a1"].id).execute()
    assert due(app, sched.next_date)["failed"] == 1
    sched = reload(sched)
    assert (sched.status, sched.failed_attempts) == ("paused", 1)
    assert len(prepayments_of(world["a"])) == 1  # nothing charged


def test_a_scheduled_stripe_charge_needing_3ds_fails_instead_of_waiting(app, world, conn,
                                                                        enabled, localstripe,
                                                                        stripe_gateway):
    """Nobody is there to pass 3-D Secure at run-due: the charge is made off-session, so the
    bank's request for authentication is a failure the contact hears about, not a charge
    left pending for an hour."""
    from tests.payments_support import stripe_card
    _, card = stripe_card(localstripe, "4000002500003155")
    token = models.GatewayToken.create(
        client=world["a"], gateway=stripe_gateway, token=card.token,
        customer_reference=card.customer_reference, brand="visa", last4="3155",
        exp_month=12, exp_year=2031)
    today = models.utcnow().date()
    sched = models.PrepaymentSchedule.create(
        client=world["a"], contact=world["a1"], payment_method=token, amount=3000,
        currency="USD", frequency="monthly", next_date=today, start_date=today)
    assert due(app, today) == {"charged": 0, "failed": 1, "waiting": 0}
    assert reload(sched).failed_attempts == 1
    assert "confirm this payment" in reload(sched).last_error
    [attempt] = prepayments_of(world["a"])
    assert attempt.status == "failed"
    api = stripe.StripeClient("sk_test_portal", base_addresses={"api": localstripe}).v1
    assert api.payment_intents.retrieve(attempt.gateway_reference).status == "canceled"
