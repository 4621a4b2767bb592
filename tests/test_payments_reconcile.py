"""A crash between the charge and the bookkeeping, settled by `portal run-due` (issue 9, §3).

The crash is a BaseException raised inside the gateway call, the way kill -9 stops a
process: after the gateway took the money (or before it was asked) and before any of our
bookkeeping ran. Nothing catches it, so the attempt is left exactly as a killed process
leaves it: pending, with no gateway reference. run-due then asks the gateway, by the
attempt's idempotency key or metadata, how it ended.
"""
import datetime as dt
import json
import re
import threading

import pytest
import requests
import stripe

import models
from billing import DomainError, checkout, reconcile
from gateways.base import PaymentDeclined, SavedMethod
from gateways.demo import DemoGateway
from gateways.stripe_gateway import StripeGateway
from tests import factories
from tests.conftest import Auth
from tests.core_support import opened
from tests.payments_support import (
    make_gateway,
    minutes_pass,
    reload,
    review,
    run_due,
    started_3ds,
    stripe_card,
)


class Killed(BaseException):
    """The process died here. A BaseException, so no `except Exception` tidies up."""


def dies_after_charge(gateway_class):
    class DiesAfterCharge(gateway_class):
        def charge(self, *args, **kwargs):
            super().charge(*args, **kwargs)
            raise Killed()
    return DiesAfterCharge


def dies_before_charge(gateway_class):
    class DiesBeforeCharge(gateway_class):
        def charge(self, *args, **kwargs):
            raise Killed()
    return DiesBeforeCharge


def setup_client(conn):
    client = factories.client()
    contact = factories.contact(client)
    return client, contact, factories.invoice(client)  # 100.00, sent


def crash(contact, invoice, gateway, method, key):
    with pytest.raises(Killed):
        checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                     idempotency_key=key, gateway=gateway, new_method=method)
    payment = models.Payment.get(models.Payment.idempotency_key == key)
    assert (payment.status, payment.gateway_reference) == ("pending", None)
    assert reload(invoice).balance == 10000
    return payment


def demo_charges(key):
    return list(models.DemoCharge.select().where(models.DemoCharge.idempotency_key == key))


DEMO_CARD = SavedMethod(token="demo_ok_crash", brand="visa", last4="4242")


def test_demo_charge_then_crash_is_completed_by_run_due(app, conn):
    client, contact, invoice = setup_client(conn)
    config = make_gateway("demo")
    key = "crash-demo-" + "a" * 24
    payment = crash(contact, invoice, dies_after_charge(DemoGateway)(config), DEMO_CARD, key)
    assert len(demo_charges(key)) == 1  # the money was taken
    # Meanwhile another form cannot charge the card again, and the payment screen says why.
    with pytest.raises(DomainError, match="being processed"):
        checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                     idempotency_key="second-form-" + "b" * 24,
                     gateway=DemoGateway(config), new_method=DEMO_CARD)
    browser = app.test_client()
    Auth(browser).login(contact.email)
    page = review(browser, [invoice]).get_data(as_text=True)
    assert "is being processed" in page and "nothing more to pay" in page
    assert f'name="invoices" value="{invoice.public_id}"' not in page  # no second charge
    # Within the grace period run-due leaves it alone: the request may still be running.
    assert "pending payments: 0 completed" in run_due(app)
    assert reload(payment).status == "pending"
    minutes_pass(payment)
    assert "pending payments: 1 completed, 0 failed" in run_due(app)
    payment, charge = reload(payment), demo_charges(key)[0]
    assert (payment.status, payment.gateway_reference) == ("completed", charge.reference)
    assert payment.number.startswith("PAY-")
    assert (reload(invoice).status, reload(invoice).balance) == ("paid", 0)
    assert reload(client).paid_to_date == 10000
    assert models.DemoCharge.select().count() == 1  # exactly one charge, ever
    assert "pending payments: 0 completed, 0 failed" in run_due(app)  # nothing left to do
    assert [a.amount for a in payment.allocations] == [10000]


def test_demo_crash_before_the_charge_fails_the_attempt_and_frees_the_invoice(app, conn):
    client, contact, invoice = setup_client(conn)
    config = make_gateway("demo")
    key = "crash-early-" + "c" * 24
    payment = crash(contact, invoice, dies_before_charge(DemoGateway)(config), DEMO_CARD, key)
    assert demo_charges(key) == []
    minutes_pass(payment)
    assert "pending payments: 0 completed, 1 failed" in run_due(app)
    payment = reload(payment)
    assert payment.status == "failed" and "nothing was taken" in payment.failure_message
    assert reload(invoice).balance == 10000
    # The reservation is released: the invoice can be paid again, and is charged once.
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key="pay-again-" + "d" * 24,
                           gateway=DemoGateway(config), new_method=DEMO_CARD)
    assert outcome.status == "completed"
    assert (reload(invoice).status, reload(client).paid_to_date) == ("paid", 10000)
    assert models.DemoCharge.select().count() == 1


def test_two_run_due_at_once_complete_each_crashed_payment_once(app, conn):
    client, contact, _ = setup_client(conn)
    config = make_gateway("demo")
    invoices = [factories.invoice(client) for _ in range(4)]
    payments = [crash(contact, inv, dies_after_charge(DemoGateway)(config), DEMO_CARD,
                      f"crash-many-{i}-" + "e" * 24) for i, inv in enumerate(invoices)]
    for payment in payments:
        minutes_pass(payment)
    models.db.close()
    barrier = threading.Barrier(2, timeout=30)
    errors = []

    def tick():
        with app.app_context():
            models.db.connect(reuse_if_open=True)
            try:
                barrier.wait()
                reconcile.settle_pending()
            except Exception as exc:  # noqa: BLE001  (asserted below)
                errors.append(exc)
            finally:
                models.db.close()

    threads = [threading.Thread(target=tick, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), "a run-due never finished"
    assert errors == []
    for payment, invoice in zip(payments, invoices, strict=True):
        assert reload(payment).status == "completed"
        assert [a.amount for a in reload(payment).allocations] == [10000]
        assert reload(invoice).balance == 0
    assert reload(client).paid_to_date == 40000
    assert len({reload(p).number for p in payments}) == 4
    assert not models.Credit.select().exists()


# -- Stripe, against localstripe ---------------------------------------------------------

def intents_for(api, payment):
    """Every PaymentIntent localstripe holds for this payment (by our metadata)."""
    found, params = [], {"limit": 100}
    while True:
        page = api.payment_intents.list(params=params)
        found += [i for i in page.data if i.metadata.to_dict().get("payment")
                  == payment.public_id]
        if not page.has_more:
            return found
        params["starting_after"] = page.data[-1].id


def test_stripe_charge_then_crash_is_completed_by_run_due(app, conn, localstripe,
                                                          stripe_gateway):
    client, contact, invoice = setup_client(conn)
    api, card = stripe_card(localstripe)
    key = "crash-stripe-" + "f" * 24
    payment = crash(contact, invoice, dies_after_charge(StripeGateway)(stripe_gateway), card,
                    key)
    [intent] = intents_for(api, payment)
    assert (intent.status, intent.amount) == ("succeeded", 10000)
    minutes_pass(payment)
    assert "pending payments: 1 completed, 0 failed" in run_due(app)
    payment = reload(payment)
    assert (payment.status, payment.gateway_reference) == ("completed", intent.id)
    assert (reload(invoice).status, reload(client).paid_to_date) == ("paid", 10000)
    assert len(intents_for(api, payment)) == 1  # reconciling charged nothing more


def test_stripe_crash_before_the_charge_fails_the_attempt(app, conn, localstripe,
                                                          stripe_gateway):
    client, contact, invoice = setup_client(conn)
    api, card = stripe_card(localstripe)
    key = "crash-stripe-early-" + "g" * 20
    payment = crash(contact, invoice, dies_before_charge(StripeGateway)(stripe_gateway), card,
                    key)
    minutes_pass(payment)
    assert "pending payments: 0 completed, 1 failed" in run_due(app)
    assert reload(payment).status == "failed"
    assert intents_for(api, payment) == []
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key="stripe-again-" + "h" * 24,
                           gateway=StripeGateway(stripe_gateway), new_method=card)
    assert outcome.status == "completed" and reload(invoice).status == "paid"


def test_stripe_3ds_finished_but_never_reported_is_completed_by_reference(
        app, conn, localstripe, stripe_gateway):
    """The customer passed 3-D Secure, then the browser never came back and no webhook
    arrived: run-due reads the PaymentIntent by the reference we stored."""
    api, client, contact, invoice, outcome = started_3ds(conn, localstripe, stripe_gateway,
                                                         "stripe-3ds-" + "i" * 24)
    payment = reload(outcome.payment)
    minutes_pass(payment)
    assert "1 still processing" in run_due(app)  # still waiting for the customer's bank
    assert reload(payment).status == "pending"
    response = requests.post(
        f"{localstripe}/v1/payment_intents/{payment.gateway_reference}/_authenticate",
        json={"key": "pk_test_portal", "client_secret": outcome.client_secret,
              "success": True}, timeout=10)
    assert response.status_code == 200, response.text
    assert "pending payments: 1 completed" in run_due(app)
    assert reload(payment).status == "completed" and reload(invoice).status == "paid"
    assert reload(client).paid_to_date == 10000


def test_stripe_3ds_failed_at_the_bank_says_stripes_reason(app, conn, localstripe,
                                                            stripe_gateway):
    """The customer fails 3-D Secure and comes back: the page says why, in Stripe's words
    (its last_payment_error), not only that the card was declined."""
    api, client, contact, invoice, outcome = started_3ds(conn, localstripe, stripe_gateway,
                                                         "stripe-3ds-failed-" + "m" * 24)
    payment = reload(outcome.payment)
    response = requests.post(
        f"{localstripe}/v1/payment_intents/{payment.gateway_reference}/_authenticate",
        json={"key": "pk_test_portal", "client_secret": outcome.client_secret,
              "success": False}, timeout=10)
    assert response.status_code == 200, response.text
    with pytest.raises(checkout.PaymentFailed) as refused:
        checkout.complete_action(contact, payment.public_id)
    assert refused.value.message == "The provided PaymentMethod has failed authentication."
    assert reload(payment).status == "failed" and reload(invoice).balance == 10000

def test_stripe_3ds_abandoned_for_an_hour_is_cancelled_and_frees_the_invoice(
        app, conn, localstripe, stripe_gateway):
    api, client, contact, invoice, outcome = started_3ds(conn, localstripe, stripe_gateway,
                                                         "stripe-3ds-gone-" + "j" * 24)
    payment = reload(outcome.payment)
    minutes_pass(payment, 30)
    assert "1 still processing" in run_due(app)  # the customer may still be at their bank
    minutes_pass(payment, 61)
    assert "pending payments: 0 completed, 1 failed" in run_due(app)
    assert reload(payment).status == "failed"
    assert api.payment_intents.retrieve(payment.gateway_reference).status == "canceled"
    # The cancelled intent can no longer take the money; the invoice is open to pay again.
    response = requests.post(
        f"{localstripe}/v1/payment_intents/{payment.gateway_reference}/_authenticate",
        json={"key": "pk_test_portal", "client_secret": outcome.client_secret,
              "success": True}, timeout=10)
    assert response.status_code == 400
    _, card = stripe_card(localstripe)
    again = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                         idempotency_key="stripe-3ds-again-" + "k" * 24,
                         gateway=StripeGateway(stripe_gateway), new_method=card)
    assert again.status == "completed" and reload(invoice).status == "paid"
    assert reload(client).paid_to_date == 10000


def run_due_line(app):
    """run-due's line about pending payments."""
    [line] = [line for line in run_due(app).splitlines() if line.startswith("pending payments")]
    return line


def settled(completed=0, failed=0, waiting=0, mismatch=0):
    return (f"pending payments: {completed} completed, {failed} failed, {waiting} still "
            f"processing, {mismatch} for staff to check")


def settle_pending(app, **kwargs):
    """reconcile.settle_pending() as run-due calls it, at a chosen moment: its counts."""
    with app.app_context():
        return reconcile.settle_pending(**kwargs)


def three_d_secure(contact, invoice, gateway, key):
    """A charge left waiting for the customer's bank (3-D Secure), as the browser left it."""
    _, card = stripe_card(gateway.settings["api_base"], "4000002500003155")
    outcome = checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                           idempotency_key=key, gateway=gateway, new_method=card)
    assert outcome.status == "requires_action"
    return reload(outcome.payment), outcome.client_secret


def authenticate(base, reference, client_secret, success=True):
    """What the customer does at their bank: pass (or fail) 3-D Secure."""
    response = requests.post(f"{base}/v1/payment_intents/{reference}/_authenticate",
                             json={"key": "pk_test_portal", "client_secret": client_secret,
                                   "success": success}, timeout=10)
    assert response.status_code == 200, response.text


def test_each_attempt_is_asked_at_its_own_gateway(app, conn, localstripe, stripe_gateway):
    """A Stripe gateway and a demo gateway side by side: each crashed attempt is settled by
    the gateway that took it (the demo one is created second, so it is not the first row)."""
    client, contact, invoice = setup_client(conn)
    config = make_gateway("demo")
    key = "crash-two-gateways-" + "l" * 20
    payment = crash(contact, invoice, dies_after_charge(DemoGateway)(config), DEMO_CARD, key)
    minutes_pass(payment)
    assert run_due_line(app) == settled(completed=1)
    payment = reload(payment)
    assert (payment.status, payment.gateway_id) == ("completed", config.id)
    assert payment.gateway_reference == demo_charges(key)[0].reference
    assert reload(invoice).status == "paid"


def test_an_attempt_is_settled_once_the_grace_period_is_over_to_the_microsecond(app, conn):
    client, contact, invoice = setup_client(conn)
    config = make_gateway("demo")
    key = "crash-grace-" + "m" * 24
    payment = crash(contact, invoice, dies_after_charge(DemoGateway)(config), DEMO_CARD, key)
    started = reload(payment).created_at
    grace = dt.timedelta(seconds=reconcile.GRACE_SECONDS)
    early = settle_pending(app, now=started + grace - dt.timedelta(microseconds=1))
    assert early == {} and reload(payment).status == "pending"
    assert settle_pending(app, now=started + grace) == {"completed": 1}
    assert reload(payment).status == "completed" and reload(invoice).status == "paid"


def test_an_attempt_whose_gateway_may_not_run_here_waits(app, conn, monkeypatch):
    """The demo gateway refuses to run in production: its attempt is left for later, never
    failed (the money may have been taken)."""
    client, contact, invoice = setup_client(conn)
    config = make_gateway("demo")
    key = "crash-refused-" + "n" * 24
    payment = crash(contact, invoice, dies_after_charge(DemoGateway)(config), DEMO_CARD, key)
    minutes_pass(payment)
    monkeypatch.setenv("PORTAL_ENV", "production")
    assert settle_pending(app) == {"waiting": 1}
    assert reload(payment).status == "pending" and reload(invoice).balance == 10000
    monkeypatch.delenv("PORTAL_ENV")
    assert settle_pending(app) == {"completed": 1}


def test_a_gateway_that_does_not_answer_leaves_the_attempt_waiting(app, conn):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # closed: connection refused
    config = make_gateway("stripe", publishable_key="pk_test_x", secret_key="sk_test_x",
                          api_base=dead, timeout=2)
    client, contact, invoice = setup_client(conn)
    payment = models.Payment.create(client=client, contact=contact, status="pending",
                                    currency="USD", date=models.utcnow().date(), amount=10000,
                                    gateway=config, gateway_reference="pi_unanswered",
                                    plan='{"lines": [], "credit": 0}')
    minutes_pass(payment)
    assert run_due_line(app) == settled(waiting=1)
    assert (reload(payment).status, reload(payment).failure_message) == ("pending", "")


def test_stripe_3ds_failed_at_the_bank_fails_the_attempt_with_the_gateways_reason(
        app, conn, localstripe, stripe_gateway):
    client, contact, invoice = setup_client(conn)
    payment, secret = three_d_secure(contact, invoice, StripeGateway(stripe_gateway),
                                     "stripe-3ds-no-" + "o" * 24)
    authenticate(localstripe, payment.gateway_reference, secret, success=False)
    minutes_pass(payment)
    assert run_due_line(app) == settled(failed=1)
    payment = reload(payment)
    with pytest.raises(PaymentDeclined) as declined:  # what the gateway says of it
        StripeGateway(stripe_gateway).retrieve_charge(payment.gateway_reference)
    assert (payment.status, payment.failure_message) == ("failed", declined.value.message)
    assert reload(invoice).balance == 10000 and reload(client).paid_to_date == 0


@pytest.mark.parametrize("amount,currency", [(9999, "usd"), (10000, "eur")])
def test_a_charge_for_another_amount_is_left_for_staff(app, conn, localstripe, stripe_gateway,
                                                       amount, currency):
    """The intent our attempt names took another amount (or currency) than we asked for:
    run-due applies nothing and says staff should look, every time it runs."""
    client, contact, invoice = setup_client(conn)
    api, card = stripe_card(localstripe)
    payment = models.Payment.create(client=client, contact=contact, status="pending",
                                    currency="USD", date=models.utcnow().date(), amount=10000,
                                    gateway=stripe_gateway, idempotency_key="odd-" + "p" * 24,
                                    plan=json.dumps({"lines": [[invoice.id, 10000]],
                                                     "credit": 0}))
    intent = api.payment_intents.create(params={
        "amount": amount, "currency": currency, "confirm": True, "payment_method": card.token,
        "customer": card.customer_reference, "metadata": {"payment": payment.public_id}})
    assert intent.status == "succeeded"
    minutes_pass(payment)
    for _ in range(2):
        assert run_due_line(app) == settled(mismatch=1)
    payment = reload(payment)
    assert (payment.status, payment.gateway_reference) == ("pending", None)
    assert reload(invoice).balance == 10000 and reload(client).paid_to_date == 0


def test_stripe_3ds_crash_keeps_the_reference_it_finds_then_withdraws_it(
        app, conn, localstripe, stripe_gateway):
    """Died after Stripe asked for 3-D Secure and before the reference was stored: run-due
    finds the intent, stores its reference on this attempt only, and later withdraws it."""
    client, contact, invoice = setup_client(conn)
    api, card = stripe_card(localstripe, "4000002500003155")
    key = "crash-3ds-" + "q" * 24
    payment = crash(contact, invoice, dies_after_charge(StripeGateway)(stripe_gateway), card,
                    key)
    # Another attempt, still within its grace period, also without a reference.
    other_invoice = factories.invoice(client)
    other = crash(contact, other_invoice, dies_before_charge(DemoGateway)(make_gateway("demo")),
                  DEMO_CARD, "crash-recent-" + "r" * 24)
    [intent] = intents_for(api, payment)
    assert intent.status == "requires_action"
    minutes_pass(payment)
    assert run_due_line(app) == settled(waiting=1)
    assert (reload(payment).status, reload(payment).gateway_reference) == ("pending", intent.id)
    assert reload(other).gateway_reference is None
    minutes_pass(payment, 61)
    assert run_due_line(app) == settled(failed=1)
    assert reload(payment).status == "failed"
    assert reload(payment).failure_message == reconcile.ABANDONED
    assert api.payment_intents.retrieve(intent.id).status == "canceled"
    assert (reload(other).status, reload(other).gateway_reference) == ("pending", None)


def test_stripe_3ds_is_withdrawn_once_abandoned_to_the_microsecond(app, conn, localstripe,
                                                                   stripe_gateway):
    client, contact, invoice = setup_client(conn)
    payment, _ = three_d_secure(contact, invoice, StripeGateway(stripe_gateway),
                                "stripe-3ds-edge-" + "s" * 24)
    hour = dt.timedelta(seconds=reconcile.ABANDON_SECONDS)
    just_before = payment.created_at + hour - dt.timedelta(microseconds=1)
    assert settle_pending(app, now=just_before) == {"waiting": 1}
    assert settle_pending(app, now=payment.created_at + hour) == {"failed": 1}
    assert reload(payment).status == "failed"


# -- Withdrawing an abandoned 3-D Secure charge, with Stripe's answers held up -------------

class StripeRelay:
    """A loopback HTTP relay in front of localstripe. It forwards every request as it is,
    except those a test holds up (answering 503 as Stripe does when it cannot) or lets
    something happen at Stripe first (the customer finishing 3-D Secure at that moment)."""

    def __init__(self, upstream):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.upstream, self.rules, self.seen = upstream, [], []
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                relay.handle(self)

            do_POST = do_DELETE = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def on(self, method, path_pattern, action):
        """action() runs when a matching request arrives: a (status, body) answers it, None
        forwards it."""
        self.rules.append((method, re.compile(path_pattern), action))

    def handle(self, request):
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        self.seen.append((request.command, request.path.split("?")[0]))
        answer = None
        for method, pattern, action in self.rules:
            if method == request.command and pattern.fullmatch(request.path.split("?")[0]):
                answer = action()
                break
        if answer is None:
            headers = {k: v for k, v in request.headers.items()
                       if k.lower() not in ("host", "content-length", "connection")}
            upstream = requests.request(request.command, self.upstream + request.path,
                                        data=body, headers=headers, timeout=10)
            status, content = upstream.status_code, upstream.content
        else:
            status, content = answer[0], json.dumps(answer[1]).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(content)))
        request.end_headers()
        request.wfile.write(content)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


UNAVAILABLE = (503, {"error": {"type": "api_error", "message": "Service unavailable."}})
INTENT = r"/v1/payment_intents/pi_\w+"


@pytest.fixture
def relay(localstripe):
    relay = StripeRelay(localstripe)
    yield relay
    relay.close()


@pytest.fixture
def relayed_gateway(app, relay):
    with opened(app):
        config = make_gateway("stripe", publishable_key="pk_test_portal",
                              secret_key="sk_test_portal", api_base=relay.url)
    return config


def abandoned_3ds(conn, gateway_config, key):
    client, contact, invoice = setup_client(conn)
    payment, secret = three_d_secure(contact, invoice, StripeGateway(gateway_config), key)
    minutes_pass(payment, 61)
    return client, invoice, payment, secret


def test_3ds_finished_just_as_run_due_withdraws_it_is_completed(
        app, conn, localstripe, relay, relayed_gateway):
    client, invoice, payment, secret = abandoned_3ds(conn, relayed_gateway,
                                                     "relay-late-" + "t" * 24)
    reference = payment.gateway_reference
    # The customer passes 3-D Secure after run-due read the intent, before its cancel lands:
    # Stripe refuses the cancel, and the re-read finds the money taken.
    relay.on("POST", INTENT + "/cancel",
             lambda: authenticate(localstripe, reference, secret))
    assert run_due_line(app) == settled(completed=1)
    assert ("POST", f"/v1/payment_intents/{reference}/cancel") in relay.seen
    payment = reload(payment)
    assert (payment.status, payment.gateway_reference) == ("completed", reference)
    assert (reload(invoice).status, reload(client).paid_to_date) == ("paid", 10000)
    api = stripe.StripeClient("sk_test_portal", base_addresses={"api": localstripe}).v1
    assert api.payment_intents.retrieve(reference).status == "succeeded"


def test_a_cancel_stripe_does_not_answer_leaves_the_attempt_waiting(
        app, conn, localstripe, relay, relayed_gateway):
    client, invoice, payment, _ = abandoned_3ds(conn, relayed_gateway,
                                                "relay-cancel-" + "u" * 24)
    relay.on("POST", INTENT + "/cancel", lambda: UNAVAILABLE)
    assert run_due_line(app) == settled(waiting=1)  # still open at Stripe: ask again later
    assert reload(payment).status == "pending"
    api = stripe.StripeClient("sk_test_portal", base_addresses={"api": localstripe}).v1
    assert api.payment_intents.retrieve(payment.gateway_reference).status == "requires_action"
    relay.rules.clear()
    assert run_due_line(app) == settled(failed=1)
    assert (reload(payment).status, reload(payment).failure_message) == (
        "failed", reconcile.ABANDONED)
    assert reload(invoice).balance == 10000 and reload(client).paid_to_date == 0


def test_a_cancel_whose_outcome_stripe_does_not_tell_leaves_the_attempt_waiting(
        app, conn, localstripe, relay, relayed_gateway):
    client, invoice, payment, _ = abandoned_3ds(conn, relayed_gateway,
                                                "relay-reread-" + "v" * 24)
    cancelled = []

    def cancel():
        cancelled.append(True)  # forwarded: Stripe cancels it

    relay.on("POST", INTENT + "/cancel", cancel)
    relay.on("GET", INTENT, lambda: UNAVAILABLE if cancelled else None)
    assert run_due_line(app) == settled(waiting=1)  # cancelled, but we were not told
    assert cancelled and reload(payment).status == "pending"
    relay.rules.clear()
    assert run_due_line(app) == settled(failed=1)  # the next run reads it cancelled
    assert (reload(payment).status, reload(payment).failure_message) == (
        "failed", "The payment was cancelled.")
    assert reload(invoice).balance == 10000 and reload(client).paid_to_date == 0
