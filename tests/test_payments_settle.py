"""run-due settling payment attempts over time (billing.reconcile): each at its own gateway,
the grace and abandon periods to the microsecond, a gateway that does not answer, a charge
for another amount, and withdrawing an abandoned 3-D Secure charge while Stripe's answers
are held up. Crashes between the charge and the bookkeeping are
tests/test_payments_reconcile.py; the helpers both use are tests/reconcile_support.py."""
import datetime as dt
import json
import re
import threading

import pytest
import requests
import stripe

import models
from billing import reconcile
from gateways.base import PaymentDeclined
from gateways.demo import DemoGateway
from gateways.stripe_gateway import StripeGateway
from tests import factories
from tests.core_support import opened
from tests.payments_support import (
    make_gateway,
    minutes_pass,
    reload,
    stripe_card,
)
from tests.reconcile_support import (
    DEMO_CARD,
    authenticate,
    crash,
    demo_charges,
    dies_after_charge,
    dies_before_charge,
    intents_for,
    run_due_line,
    settle_pending,
    settled,
    setup_client,
    three_d_secure,
)


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
