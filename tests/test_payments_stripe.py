"""The Stripe gateway against a real localstripe server on loopback (no mocks of Stripe)."""
import json
import time

import pytest

import gateways
import models
import portal
from billing import gateway_settings
from tests import factories
from tests.conftest import CSRF_RE, csrf_token
from tests.core_support import login_staff, snapshot
from tests.payments_support import (
    SECRET_RE,
    add_card,
    confirm_in_browser,
    event,
    make_gateway,
    pay,
    reload,
    signed,
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
    assert (token.brand, token.last4, token.exp_month, token.exp_year) == ("visa", "4242", 12,
                                                                           2031)
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
    assert response.status_code == 422 and "not confirmed" in response.get_data(as_text=True)
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


def post_event(client, body, signature=None):
    return client.post("/webhooks/stripe", data=body, headers={
        "Stripe-Signature": signature or signed(body), "Content-Type": "application/json"})


def test_webhook_with_a_bad_signature_is_refused_and_changes_nothing(client, world, conn,
                                                                     stripe_gateway):
    payment = models.Payment.create(client=world["a"], status="pending", currency="USD",
                                    date=models.utcnow().date(), amount=10000,
                                    gateway=stripe_gateway, gateway_reference="pi_bad",
                                    plan=json.dumps({"lines": [[world["invoices"]["sent"].id,
                                                                10000]], "credit": 0}))
    body = event("payment_intent.succeeded", {"id": "pi_bad", "amount": 10000,
                                              "currency": "usd", "metadata": {}})
    assert post_event(client, body, signed(body, "whsec_wrong")).status_code == 400
    assert post_event(client, body, "garbage").status_code == 400
    assert post_event(client, body + " ", signed(body)).status_code == 400  # tampered
    assert reload(payment).status == "pending"
    assert reload(world["invoices"]["sent"]).balance == 10000
    assert post_event(client, body).status_code == 200  # the genuine one applies
    assert reload(payment).status == "completed"
    assert reload(world["invoices"]["sent"]).balance == 0


def pending_stripe_payment(world, gateway, reference):
    invoice = world["invoices"]["sent"]
    return models.Payment.create(client=world["a"], status="pending", currency="USD",
                                 date=models.utcnow().date(), amount=10000, gateway=gateway,
                                 gateway_reference=reference,
                                 plan=json.dumps({"lines": [[invoice.id, 10000]], "credit": 0}))


@pytest.mark.parametrize("amount,currency", [(9999, "usd"), (10001, "usd"), (10000, "eur"),
                                             (None, "usd"), (10000, None)])
def test_succeeded_webhook_for_another_amount_or_currency_applies_nothing(
        client, world, conn, stripe_gateway, amount, currency):
    payment = pending_stripe_payment(world, stripe_gateway, "pi_odd")
    obj = {"id": "pi_odd", "metadata": {}}
    obj.update({k: v for k, v in (("amount", amount), ("currency", currency)) if v})
    before = snapshot()
    response = post_event(client, event("payment_intent.succeeded", obj))
    assert (response.status_code, response.get_json()["result"]) == (200, "amount mismatch")
    assert snapshot() == before
    assert reload(payment).status == "pending"
    assert reload(world["invoices"]["sent"]).balance == 10000


@pytest.mark.parametrize("age", [301, 3600, 10 * 365 * 86400])
def test_a_validly_signed_webhook_older_than_five_minutes_is_refused(client, world, conn,
                                                                      stripe_gateway, age):
    """A captured event replayed later must not apply, however good its signature."""
    payment = pending_stripe_payment(world, stripe_gateway, "pi_old")
    body = event("payment_intent.succeeded", {"id": "pi_old", "amount": 10000,
                                              "currency": "usd", "metadata": {}})
    stale = signed(body, timestamp=int(time.time()) - age)
    assert post_event(client, body, stale).status_code == 400
    assert reload(payment).status == "pending"
    assert reload(world["invoices"]["sent"]).balance == 10000
    fresh = signed(body, timestamp=int(time.time()) - 60)  # a minute late is delivery, fine
    assert post_event(client, body, fresh).status_code == 200
    assert reload(payment).status == "completed"


def test_failed_intent_webhook_marks_a_pending_payment_failed(client, world, conn,
                                                              stripe_gateway):
    payment = models.Payment.create(client=world["a"], status="pending", currency="USD",
                                    date=models.utcnow().date(), amount=10000,
                                    gateway=stripe_gateway, gateway_reference="pi_f",
                                    plan='{"lines": [], "credit": 0}')
    body = event("payment_intent.payment_failed", {
        "id": "pi_f", "last_payment_error": {"message": "Insufficient funds."}})
    assert post_event(client, body).status_code == 200
    assert (reload(payment).status, reload(payment).failure_message) == (
        "failed", "Insufficient funds.")


def test_refund_webhook_reopens_the_invoice_once(client, auth, world, localstripe,
                                                 stripe_gateway, conn):
    auth.login("a1@alpha.example")
    add_card(client, localstripe, stripe_gateway)
    token = models.GatewayToken.get()
    sent = world["invoices"]["sent"]
    pay(client, [sent], f"token:{token.public_id}")
    payment = models.Payment.get(models.Payment.gateway == stripe_gateway.id)
    gateway = gateways.for_config(stripe_gateway)
    gateway.refund(payment.gateway_reference, 4000)
    api = stripe_api(localstripe).v1
    intent = api.payment_intents.retrieve(payment.gateway_reference)
    charge = api.charges.retrieve(intent.latest_charge if isinstance(intent.latest_charge, str)
                                  else intent.latest_charge.id)
    body = event("charge.refunded", {"id": charge.id, "object": "charge",
                                     "payment_intent": charge.payment_intent,
                                     "amount": charge.amount,
                                     "amount_refunded": charge.amount_refunded})
    assert post_event(client, body).status_code == 200
    assert post_event(client, body).status_code == 200  # delivered twice
    payment = reload(payment)
    assert (payment.status, payment.refunded) == ("partially_refunded", 4000)
    assert (reload(sent).balance, reload(sent).status) == (4000, "partial")
    assert reload(world["a"]).paid_to_date == 6000
    html = client.get("/client/payments").get_data(as_text=True)
    assert "Partially refunded" in html


def test_detached_webhook_forgets_the_card(client, auth, world, localstripe, stripe_gateway,
                                           conn):
    auth.login("a1@alpha.example")
    add_card(client, localstripe, stripe_gateway)
    token = models.GatewayToken.get()
    body = event("payment_method.detached", {"id": token.token, "object": "payment_method"})
    assert post_event(client, body).status_code == 200
    assert reload(token).deleted_at is not None
    client.get("/client/payment_methods")  # the flash from adding it
    assert "4242" not in client.get("/client/payment_methods").get_data(as_text=True)


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


# -- What each webhook does to which record (billing.reconcile.stripe_event) --------------

def webhook(client, kind, obj):
    """Post one signed event; the word the endpoint answers with."""
    response = post_event(client, event(kind, obj))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["result"]


def succeeded(reference, payment=None, amount=10000):
    return {"id": reference, "object": "payment_intent", "amount": amount, "currency": "usd",
            "metadata": {"payment": payment.public_id} if payment else {}}


def test_webhooks_for_nothing_of_ours_change_nothing(client, world, conn, stripe_gateway):
    payment = pending_stripe_payment(world, stripe_gateway, "pi_ours")
    before = snapshot()
    assert webhook(client, "payment_intent.succeeded", succeeded("pi_theirs")) == \
        "unknown payment"
    assert webhook(client, "payment_intent.payment_failed", {"id": "pi_theirs"}) == \
        "unknown payment"
    assert webhook(client, "charge.refunded", {"id": "ch_theirs", "payment_intent": "pi_theirs",
                                               "amount_refunded": 10000}) == "unknown payment"
    # An event we do not act on, whatever object it carries.
    assert webhook(client, "customer.updated", {"id": "pi_ours", "object": "customer"}) == \
        "ignored"
    assert webhook(client, "payment_method.attached", {"id": "pi_ours"}) == "ignored"
    assert snapshot() == before
    assert reload(payment).status == "pending"


def test_failed_webhook_without_a_reason_says_the_payment_failed(client, world, conn,
                                                                 stripe_gateway):
    payment = pending_stripe_payment(world, stripe_gateway, "pi_quiet")
    assert webhook(client, "payment_intent.payment_failed", {"id": "pi_quiet"}) == "failed"
    assert (reload(payment).status, reload(payment).failure_message) == (
        "failed", "The payment failed.")
    assert reload(world["invoices"]["sent"]).balance == 10000


@pytest.mark.parametrize("stored", [None, ""])
def test_succeeded_webhook_finds_an_attempt_by_its_metadata_when_no_reference_was_kept(
        client, world, conn, stripe_gateway, stored):
    """The process died before storing the intent's id: the event's metadata names the
    attempt, which is completed and keeps the id from now on."""
    payment = pending_stripe_payment(world, stripe_gateway, stored)
    assert webhook(client, "payment_intent.succeeded", succeeded("pi_found", payment)) == \
        "completed"
    payment = reload(payment)
    assert (payment.status, payment.gateway_reference) == ("completed", "pi_found")
    assert (reload(world["invoices"]["sent"]).balance, reload(world["a"]).paid_to_date) == (
        0, 10000)


def test_succeeded_webhook_completes_the_attempt_it_names_and_no_other(client, world, conn,
                                                                       stripe_gateway):
    first = pending_stripe_payment(world, stripe_gateway, None)
    second = pending_stripe_payment(world, stripe_gateway, None)
    assert webhook(client, "payment_intent.succeeded", succeeded("pi_second", second)) == \
        "completed"
    assert (reload(second).status, reload(second).gateway_reference) == ("completed",
                                                                         "pi_second")
    assert (reload(first).status, reload(first).gateway_reference) == ("pending", None)


def test_succeeded_webhook_goes_by_the_reference_we_kept(client, world, conn, stripe_gateway):
    """The intent's id decides; metadata only helps when we never stored one."""
    first = pending_stripe_payment(world, stripe_gateway, "pi_first")
    second = pending_stripe_payment(world, stripe_gateway, "pi_second")
    obj = succeeded("pi_second")
    obj["metadata"] = {"payment": "not-one-of-ours"}
    assert webhook(client, "payment_intent.succeeded", obj) == "completed"
    assert (reload(second).status, reload(first).status) == ("completed", "pending")


def test_succeeded_webhook_naming_an_attempt_charged_elsewhere_applies_nothing(
        client, world, conn, stripe_gateway):
    payment = pending_stripe_payment(world, stripe_gateway, "pi_real")
    before = snapshot()
    assert webhook(client, "payment_intent.succeeded", succeeded("pi_other", payment)) == \
        "unknown payment"
    assert snapshot() == before


def test_refund_webhook_without_an_amount_refunds_nothing(client, world, conn,
                                                          stripe_gateway):
    payment = pending_stripe_payment(world, stripe_gateway, "pi_kept")
    assert webhook(client, "payment_intent.succeeded", succeeded("pi_kept")) == "completed"
    before = snapshot()
    for obj in ({"id": "ch_kept", "payment_intent": "pi_kept"},
                {"id": "ch_kept", "payment_intent": "pi_kept", "amount_refunded": 0}):
        assert webhook(client, "charge.refunded", obj) == "refunded"
    assert snapshot() == before
    assert (reload(payment).status, reload(payment).refunded) == ("completed", 0)


def test_detached_webhook_forgets_only_that_card(client, world, conn, stripe_gateway):
    cards = [models.GatewayToken.create(client=world["a"], gateway=stripe_gateway,
                                        token=f"pm_card{i}", customer_reference="cus_a",
                                        brand="visa", last4=f"424{i}") for i in range(2)]
    assert webhook(client, "payment_method.detached", {"id": "pm_card1"}) == "detached"
    assert reload(cards[1]).deleted_at is not None
    assert reload(cards[0]).deleted_at is None
    assert webhook(client, "payment_method.detached", {"id": "pm_unknown"}) == "detached"
    assert reload(cards[0]).deleted_at is None
