"""The Stripe gateway against a real localstripe server on loopback (no mocks of Stripe):
cards saved and removed, charges, refunds and gateways that fail. Its webhooks are
tests/test_stripe_webhooks.py."""
import json

import pytest
import stripe

import gateways
import models
import portal
from billing import gateway_settings
from gateways.base import PaymentDeclined
from gateways.stripe_gateway import StripeGateway
from tests import factories
from tests.conftest import CSRF_RE, csrf_token
from tests.core_support import login_staff
from tests.payments_support import (
    SECRET_RE,
    add_card,
    confirm_in_browser,
    make_gateway,
    pay,
    reload,
    stripe_api,
)


def test_add_card_stores_only_token_brand_last4_expiry(client, auth, world, localstripe,
                                                       stripe_gateway, conn):
    auth.login("a1@alpha.example")
    page, confirmed, saved = add_card(client, localstripe, stripe_gateway)
    assert localstripe in page.headers["Content-Security-Policy"]
    assert f'src="{localstripe}/js.stripe.com/v3/"' in page.get_data(as_text=True)
    assert confirmed.status_code == 200 and saved.status_code == 303
    token = models.GatewayToken.get()
    assert token.token.startswith("pm_") and token.customer_reference.startswith("cus_")
    assert (token.method_type, token.brand, token.last4, token.exp_month, token.exp_year) == (
        "card", "visa", "4242", 12, 2031)
    # the card number is nowhere in our database
    for model in models.MODELS:
        for row in model.select().dicts():
            assert "4242424242424242" not in json.dumps(row, default=str)
    pm = stripe_api(localstripe).v1.payment_methods.retrieve(token.token)
    assert pm.customer == token.customer_reference
    # the tab lists it; other pages keep the strict CSP
    tab = client.get("/client/payment_methods")
    assert "Visa •••• 4242" in tab.get_data(as_text=True)
    assert tab.headers["Content-Security-Policy"] == portal.CSP


def test_declined_card_is_not_saved(client, auth, world, localstripe, stripe_gateway, conn):
    auth.login("a1@alpha.example")
    page = client.get("/client/payment_methods/create").get_data(as_text=True)
    seti, confirmed = confirm_in_browser(localstripe, SECRET_RE.search(page).group(1),
                                         "4000000000000002")
    assert confirmed.status_code == 402
    response = client.post("/client/payment_methods/create", data={
        "csrf_token": CSRF_RE.search(page).group(1), "setup_intent": seti})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert ">The card was not confirmed. Please enter it again.<" in html, html
    assert not models.GatewayToken.select().exists()


def test_someone_elses_setup_intent_is_refused(client, auth, world, localstripe,
                                               stripe_gateway, conn):
    auth.login("b1@beta.example")
    page = client.get("/client/payment_methods/create").get_data(as_text=True)
    their_seti, _ = confirm_in_browser(localstripe, SECRET_RE.search(page).group(1))
    auth.logout()
    auth.login("a1@alpha.example")
    token = csrf_token(client, "/client/payment_methods/create")
    response = client.post("/client/payment_methods/create",
                           data={"csrf_token": token, "setup_intent": their_seti})
    assert response.status_code == 422
    assert not models.GatewayToken.select().exists()


def test_pay_with_saved_stripe_card_and_remove_it(client, auth, world, localstripe,
                                                  stripe_gateway, conn):
    auth.login("a1@alpha.example")
    add_card(client, localstripe, stripe_gateway)
    token = models.GatewayToken.get()
    sent = world["invoices"]["sent"]
    done = pay(client, [sent], f"token:{token.public_id}")
    assert done.status_code == 303
    payment = models.Payment.get(models.Payment.status == "completed",
                                 models.Payment.gateway == stripe_gateway.id)
    intent = stripe_api(localstripe).v1.payment_intents.retrieve(payment.gateway_reference)
    assert (intent.status, intent.amount, intent.metadata["payment"]) == (
        "succeeded", 10000, payment.public_id)
    assert reload(sent).status == "paid"
    # removing detaches at Stripe too
    csrf = csrf_token(client, f"/client/payment_methods/{token.public_id}")
    client.post(f"/client/payment_methods/{token.public_id}/remove", data={"csrf_token": csrf})
    assert reload(token).deleted_at is not None
    assert stripe_api(localstripe).v1.payment_methods.retrieve(token.token).customer is None


def test_declined_charge_records_nothing(client, auth, world, localstripe, stripe_gateway,
                                         conn):
    auth.login("a1@alpha.example")
    add_card(client, localstripe, stripe_gateway, "4000000000000341")  # saves, charge fails
    token = models.GatewayToken.get()
    response = pay(client, [world["invoices"]["sent"]], f"token:{token.public_id}")
    html = response.get_data(as_text=True)
    # Stripe's own reason (localstripe's failed charge), not our fallback's words.
    assert response.status_code == 422 and "Your card was declined." in html
    assert "Try another card" not in html
    assert not models.PaymentAllocation.select().exists()
    assert reload(world["invoices"]["sent"]).balance == 10000


def test_gateway_down_is_retryable_and_records_nothing(client, auth, world, conn):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # closed: connection refused
    config = make_gateway("stripe", publishable_key="pk_test_x", secret_key="sk_test_x",
                          api_base=dead, timeout=2)
    token = models.GatewayToken.create(client=world["a"], gateway=config, token="pm_x",
                                       customer_reference="cus_x", brand="visa", last4="4242")
    auth.login("a1@alpha.example")
    response = pay(client, [world["invoices"]["sent"]], f"token:{token.public_id}",
                   key="r" * 32)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "did not answer" in html and "try again" in html
    assert not models.PaymentAllocation.select().exists()
    assert models.Payment.get().status == "failed"  # kept only to make the retry idempotent
    assert "Processing" not in client.get("/client/payments").get_data(as_text=True)


def test_demo_gateway_refused_in_production(app, conn, monkeypatch):
    config = make_gateway("demo")
    assert gateways.for_config(config) is not None
    monkeypatch.setenv("PORTAL_ENV", "production")
    assert gateways.for_config(config) is None and gateway_settings.enabled() == []
    from billing import DomainError
    try:
        gateway_settings.save(None, kind="demo", label="", settings_text="{}",
                              token_mode="optin", is_enabled=True, production=True)
    except DomainError as exc:
        assert "production" in exc.message
    else:
        raise AssertionError("the demo gateway was enabled in production")


def test_staff_configure_gateways_and_record_a_manual_payment(client, world, conn):
    staff = factories.staff(email="boss@test.example")
    assert login_staff(client, staff.email).status_code == 302
    token = csrf_token(client, "/admin/gateways")
    bad = client.post("/admin/gateways", data={"csrf_token": token, "kind": "stripe",
                                               "setting_publishable_key": "nope",
                                               "token_mode": "optin", "is_enabled": "1"})
    assert bad.status_code == 422 and "pk_test_" in bad.get_data(as_text=True)
    ok = client.post("/admin/gateways", data={
        "csrf_token": token, "kind": "manual", "label": "Bank transfer",
        "setting_instructions": "IBAN X", "token_mode": "off", "is_enabled": "1"})
    assert ok.status_code == 303 and models.GatewayConfig.get().kind == "manual"
    token = csrf_token(client, "/admin/payments/new")
    sent = world["invoices"]["sent"]
    form = {"csrf_token": token, "client": world["a"].id, "amount": "150.00",
            "invoice": sent.id, f"amount_{sent.id}": "100.00", "method": "bank_transfer",
            "reference": "TRX-9", "key": "m" * 32}
    first = client.post("/admin/payments/new", data=form)
    assert first.status_code == 303, first.get_data(as_text=True)[-3000:]
    assert client.post("/admin/payments/new", data=form).status_code == 303  # double submit
    assert models.Payment.select().count() == 1
    assert reload(sent).status == "paid"
    assert models.Credit.get(models.Credit.reason == "overpayment").balance == 5000
    wrong = client.post("/admin/payments/new", data={**form, "key": "n" * 32,
                                                     "client": world["b"].id})
    assert wrong.status_code == 422 and "another client" in wrong.get_data(as_text=True)


def test_gateway_that_never_answers_times_out_retryably(client, auth, world, conn):
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers a byte
    try:
        config = make_gateway("stripe", publishable_key="pk_test_x", secret_key="sk_test_x",
                              api_base=f"http://127.0.0.1:{silent.getsockname()[1]}",
                              timeout=1)
        auth.login("a1@alpha.example")
        # Adding a card: the SetupIntent cannot be created; the page says so, saves nothing.
        page = client.get("/client/payment_methods/create")
        assert page.status_code == 503 and "did not answer" in page.get_data(as_text=True)
        assert 'id="capture-form"' not in page.get_data(as_text=True)
        # Paying with a new card: back to the checkout with a retryable message.
        response = pay(client, [world["invoices"]["sent"]], f"new:{config.id}")
        assert response.status_code == 422 and "did not answer" in response.get_data(True)
        token = models.GatewayToken.create(client=world["a"], gateway=config, token="pm_y",
                                           customer_reference="cus_y", brand="visa",
                                           last4="4242")
        response = pay(client, [world["invoices"]["sent"]], f"token:{token.public_id}")
        assert response.status_code == 422 and "try again" in response.get_data(True)
    finally:
        silent.close()
    assert not models.PaymentAllocation.select().exists()
    assert reload(world["invoices"]["sent"]).balance == 10000
    assert not models.Payment.select().where(models.Payment.status != "failed").exists()


def test_staff_refund_at_stripe_once_even_when_submitted_twice(client, auth, world,
                                                                localstripe, stripe_gateway,
                                                                conn):
    auth.login("a1@alpha.example")
    add_card(client, localstripe, stripe_gateway)
    token = models.GatewayToken.get()
    sent = world["invoices"]["sent"]
    pay(client, [sent], f"token:{token.public_id}")
    payment = models.Payment.get(models.Payment.gateway == stripe_gateway.id)
    auth.logout()
    staff = factories.staff(email="refunds@test.example")
    assert login_staff(client, staff.email).status_code == 302
    csrf = csrf_token(client, "/admin/payments")
    form = {"csrf_token": csrf, "amount": "25.00", "expected_refunded": "0"}
    assert client.post(f"/admin/payments/{payment.id}/refund", data=form).status_code == 303
    assert client.post(f"/admin/payments/{payment.id}/refund", data=form).status_code == 303
    payment = reload(payment)
    assert (payment.refunded, payment.status) == (2500, "partially_refunded")
    refunds = stripe_api(localstripe).v1.refunds.list(
        params={"payment_intent": payment.gateway_reference})
    assert [r.amount for r in refunds.data] == [2500]
    assert (reload(sent).balance, reload(sent).status) == (2500, "partial")
    too_much = client.post(f"/admin/payments/{payment.id}/refund",
                           data={**form, "expected_refunded": "2500", "amount": "80.00"})
    assert too_much.status_code == 303 and reload(payment).refunded == 2500


def test_stripe_pages_allow_stripe_js_its_api_and_its_frames_and_nothing_more():
    """A card page must let Stripe.js load, call Stripe's API and show its frames (3-D Secure
    through hooks.stripe.com); against localstripe, that one origin. A wrong CSP blocks the
    card form in production, where no test talks to Stripe."""
    def stripe_with(**settings):
        return StripeGateway(models.GatewayConfig(kind="stripe", settings=json.dumps(settings)))

    live = stripe_with(publishable_key="pk_live_x", secret_key="sk_live_x")
    assert live.csp(portal.CSP) == portal.CSP.replace(
        "script-src 'self'", "script-src 'self' https://js.stripe.com") + (
        "; connect-src 'self' https://api.stripe.com https://js.stripe.com"
        "; frame-src https://js.stripe.com https://hooks.stripe.com")
    local = stripe_with(api_base="http://127.0.0.1:8420/",
                        js_url="http://127.0.0.1:8420/js.stripe.com/v3/")
    assert local.csp(portal.CSP) == portal.CSP.replace(
        "script-src 'self'", "script-src 'self' http://127.0.0.1:8420") + (
        "; connect-src 'self' http://127.0.0.1:8420 http://127.0.0.1:8420"
        "; frame-src http://127.0.0.1:8420")
    assert live.js_url == "https://js.stripe.com/v3/"
    assert local.js_url == "http://127.0.0.1:8420/js.stripe.com/v3/"


@pytest.mark.parametrize("fields, expected", [
    # Stripe's own reason when it gives one, else ours
    ({"status": "requires_payment_method",
      "last_payment_error": {"message": "Your card has insufficient funds."}},
     "Your card has insufficient funds."),
    ({"status": "requires_payment_method", "last_payment_error": None},
     "Your card was declined. Try another card."),
    ({"status": "requires_payment_method", "last_payment_error": {"code": "card_declined"}},
     "Your card was declined. Try another card."),
    ({"status": "canceled"}, "The payment was cancelled."),
])
def test_an_intent_that_took_no_money_is_a_decline_that_says_why(fields, expected):
    intent = stripe.PaymentIntent.construct_from(
        {"id": "pi_1", "object": "payment_intent", "amount": 1000, "currency": "usd",
         "client_secret": "pi_1_secret_x", **fields}, "sk_test_x")
    gateway = StripeGateway(models.GatewayConfig(kind="stripe", settings="{}"))
    with pytest.raises(PaymentDeclined) as caught:
        gateway._result(intent)
    assert caught.value.message == expected


@pytest.mark.parametrize("fields, secret, currency", [
    ({"client_secret": "pi_1_secret_x", "currency": "eur"}, "pi_1_secret_x", "EUR"),
    ({"client_secret": None, "currency": None}, "", ""),
])
def test_an_intent_under_way_reads_as_our_charge_result(fields, secret, currency):
    intent = stripe.PaymentIntent.construct_from(
        {"id": "pi_1", "object": "payment_intent", "amount": 1234, "status": "processing",
         **fields}, "sk_test_x")
    result = StripeGateway(models.GatewayConfig(kind="stripe", settings="{}"))._result(intent)
    assert (result.reference, result.status, result.amount, result.client_secret,
            result.currency) == ("pi_1", "processing", 1234, secret, currency)


def test_a_silent_stripe_is_given_up_on_after_the_configured_timeout(conn):
    """One try, cut off at the gateway's timeout: a request thread never waits on Stripe for
    longer than that, and run-due, not the HTTP client, decides when to ask again."""
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        config = make_gateway("stripe", publishable_key="pk_test_x", secret_key="sk_test_x",
                              api_base=f"http://127.0.0.1:{silent.getsockname()[1]}",
                              timeout=0.5)
        gateway = gateways.for_config(config)
        started = time.monotonic()
        with pytest.raises(gateways.base.GatewayError):
            gateway.start_setup("cus_x")
        assert time.monotonic() - started < 5
    finally:
        silent.close()


def raising(error):
    def call():
        raise error
    return call


@pytest.mark.parametrize("error, expected", [
    (stripe.CardError("Your card has insufficient funds.", None, "card_declined"),
     "Your card has insufficient funds."),
    (stripe.CardError(None, None, "card_declined"), "Your card was declined."),
    (stripe.InvalidRequestError("No such PaymentMethod: 'pm_x'", "payment_method"),
     "The card could not be used for this payment. Try another card."),
])
def test_stripes_refusals_reach_the_payer_as_declines_that_say_why(error, expected):
    """Stripe's words when it has words for the payer, ours when it has none; a request it
    refuses is a card that cannot be used, never Stripe's developer message."""
    gateway = StripeGateway(models.GatewayConfig(kind="stripe", settings="{}"))
    with pytest.raises(PaymentDeclined) as caught:
        gateway._call(raising(error))
    assert caught.value.message == expected


@pytest.mark.parametrize("error", [
    stripe.APIConnectionError("connection refused"), stripe.RateLimitError("slow down"),
    stripe.APIError("Stripe is down"), stripe.AuthenticationError("bad key"),
])
def test_stripe_being_unreachable_or_refusing_us_is_retryable_not_a_decline(error):
    gateway = StripeGateway(models.GatewayConfig(kind="stripe", settings="{}"))
    with pytest.raises(gateways.base.GatewayError) as caught:
        gateway._call(raising(error))
    assert not isinstance(caught.value, PaymentDeclined)
    assert caught.value.message == ("The payment service did not answer. Nothing was "
                                    "charged; please try again in a moment.")
