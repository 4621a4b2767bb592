"""Paying invoices and saving cards in headless Chromium: demo gateway at phone width,
Stripe through localstripe's stand-in Stripe.js."""
import json
import os
import time

import pytest
import requests
from flask import g, request, request_finished, request_started

import models
from tests import factories
from tests.browser.support import fits_width, log_in
from tests.core_support import opened
from tests.payments_support import WEBHOOK_SECRET, make_gateway

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PORTAL_SCREENSHOTS", "")


def shot(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, name + ".png"), full_page=True)


def fill_card(page, number, month, year, cvc):
    """Type a card into (localstripe's stand-in for) Stripe.js and submit it."""
    page.wait_for_selector("#card-element input[placeholder=number]")
    for name, value in (("number", number), ("exp_month", month), ("exp_year", year),
                        ("cvc", cvc), ("postal_code", "94105")):
        page.fill(f"#card-element input[placeholder={name}]", value)
    page.click("#capture-submit")



def test_demo_gateway_flows_at_phone_width(app, live_server, phone, world):
    with opened(app):
        gateway = make_gateway("demo", token_mode="optout")
        deposit = factories.invoice(world["a"], partial=3000)
    sent = world["invoices"]["sent"]
    page = phone
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, live_server, "a1@alpha.example", factories.PASSWORD)

    # Select two invoices on the list and pay them with a new card.
    assert fits_width(page)
    shot(page, "demo-0-invoices")
    target = page.locator("td.select label").first.bounding_box()
    assert target["height"] >= 44 and target["width"] >= 120  # a thumb-sized tap target
    page.check(f"input[name=invoices][value='{sent.public_id}']")
    page.check(f"input[name=invoices][value='{world['invoices']['partial'].public_id}']")
    page.click("button:has-text('Pay selected')")
    page.wait_for_selector("h1:has-text('Pay 2 invoices')")
    assert fits_width(page)
    shot(page, "demo-1-checkout")
    page.check(f"input[name=method][value='new:{gateway.id}']")
    page.click("form.checkout button")
    page.wait_for_selector("text=Demo gateway:")
    assert page.is_checked("input[name=save]")  # opt-out: saving is on unless unticked
    # A declined test card says why and keeps the person on the card form.
    page.fill("input[name=card_number]", "4000 0000 0000 0002")
    page.fill("input[name=exp_month]", "12")
    page.fill("input[name=exp_year]", "2034")
    page.fill("input[name=cvc]", "123")
    page.click("#capture-submit")
    page.wait_for_selector("#payment-error")
    assert "declined" in page.inner_text("#payment-error")
    page.fill("input[name=card_number]", "4242 4242 4242 4242")
    page.fill("input[name=exp_month]", "12")
    page.fill("input[name=exp_year]", "2034")
    page.fill("input[name=cvc]", "123")
    shot(page, "demo-2-card")
    page.click("#capture-submit")
    page.wait_for_selector("text=Payment received")
    assert fits_width(page)
    shot(page, "demo-3-confirmation")
    assert sent.number in page.inner_text("main")
    with page.expect_download() as download:
        page.click("text=Download receipt (PDF)")
    path = download.value.path()
    with open(path, "rb") as f:
        assert f.read(4) == b"%PDF"

    # One tap with the saved card from the invoice page; the contact chooses the deposit.
    page.goto(f"{live_server}/client/invoices/{deposit.public_id}")
    page.click("button:has-text('Pay $30.00')")
    page.wait_for_selector("text=Deposit $30.00")
    shot(page, "demo-6-saved-card-deposit")
    assert page.is_checked("input[name=method][value^='token:']")
    page.check("input[value=full]")
    page.click("form.checkout button")
    page.wait_for_selector("text=Payment received")
    assert models.Invoice.get_by_id(deposit.id).status == "paid"

    # The Payments tab lists both; the Payment Methods tab removes the card after confirming.
    page.goto(live_server + "/client/payments")
    assert page.locator("table.records tbody tr").count() == 2
    assert fits_width(page)
    shot(page, "demo-4-payments")
    page.goto(live_server + "/client/payment_methods")
    assert fits_width(page)
    shot(page, "demo-5-methods")
    page.click("text=Visa •••• 4242")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Remove')")
    page.wait_for_selector("text=was removed")
    assert models.GatewayToken.get().deleted_at is not None
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_stripe_add_card_and_pay_through_localstripe(app, live_server, desktop, world,
                                                     localstripe):
    with opened(app):
        gateway = make_gateway("stripe", publishable_key="pk_test_portal",
                               secret_key="sk_test_portal", webhook_secret=WEBHOOK_SECRET,
                               api_base=localstripe,
                               js_url=localstripe + "/js.stripe.com/v3/")
    # localstripe delivers its webhooks to us too: they race the browser's return.
    hook = f"{localstripe}/_config/webhooks/portal-{gateway.id}"
    requests.post(hook, data={
        "url": live_server + "/webhooks/stripe", "secret": WEBHOOK_SECRET,
        "events[]": ["payment_intent.succeeded"]}, timeout=10).raise_for_status()
    webhooks = []  # (payment intent, what our webhook endpoint answered), as it answered

    def note_intent(sender, **extra):
        if request.endpoint == "webhooks.stripe":
            # Read once and kept: the view's own read gets the same bytes.
            event = json.loads(request.get_data() or b"{}")
            g.webhook_intent = ((event.get("data") or {}).get("object") or {}).get("id")

    def note_webhook(sender, response, **extra):
        if request.endpoint == "webhooks.stripe":
            webhooks.append((g.get("webhook_intent"), response.status_code,
                             response.get_json()["result"]))

    request_started.connect(note_intent, app)
    request_finished.connect(note_webhook, app)
    try:
        pay_with_new_and_saved_cards(app, live_server, desktop, world, localstripe, gateway,
                                     webhooks)
    finally:
        request_started.disconnect(note_intent, app)
        request_finished.disconnect(note_webhook, app)
        # localstripe cannot forget a webhook: point it at an event that no test makes.
        requests.post(hook, data={"url": live_server + "/webhooks/stripe",
                                  "secret": WEBHOOK_SECRET,
                                  "events[]": ["account.application.deauthorized"]},
                      timeout=10).raise_for_status()


def pay_with_new_and_saved_cards(app, live_server, desktop, world, localstripe, gateway,
                                 webhooks):
    page = desktop
    csp_errors = []
    page.on("console", lambda m: csp_errors.append(m.text)
            if "Content Security Policy" in m.text else None)
    log_in(page, live_server, "a1@alpha.example", factories.PASSWORD)

    page.goto(live_server + "/client/payment_methods")
    page.click("text=Add payment method")
    fill_card(page, "4242424242424242", "12", "31", "123")
    page.wait_for_selector("text=Visa •••• 4242 was saved")
    token = models.GatewayToken.get()
    assert token.token.startswith("pm_") and (token.exp_month, token.exp_year) == (12, 2031)

    # Pay an invoice with a new card through the checkout, not saving it.
    sent = world["invoices"]["sent"]
    page.goto(f"{live_server}/client/invoices/{sent.public_id}")
    page.click("button:has-text('Pay $100.00')")
    page.check(f"input[name=method][value='new:{gateway.id}']")
    page.click("form.checkout button")
    fill_card(page, "5555555555554444", "10", "32", "321")
    page.wait_for_selector("text=Payment received")

    # Then the other invoice with the saved card, in one tap.
    partial = world["invoices"]["partial"]
    page.goto(f"{live_server}/client/invoices/{partial.public_id}")
    page.click("button:has-text('Pay $100.00')")
    page.click("form.checkout button")
    page.wait_for_selector("text=Payment received")
    payments = list(models.Payment.select().where(models.Payment.status == "completed",
                                                  models.Payment.gateway == gateway.id))
    assert len(payments) == 2
    # localstripe sends each event about a second later to every hook that wants it, so an
    # earlier test's payment can reach this test's server too: only ours are counted.
    ours = {payment.gateway_reference for payment in payments}
    deadline = time.monotonic() + 15
    while len([w for w in webhooks if w[0] in ours]) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)  # time enough for a second delivery of either, had there been one
    answers = [(status, result) for intent, status, result in webhooks if intent in ours]
    assert answers == [(200, "completed")] * 2, webhooks  # one per payment, each applied once
    for payment in payments:
        assert payment.gateway_reference.startswith("pi_")
        assert [a.amount for a in payment.allocations] == [10000]
    assert models.GatewayToken.select().count() == 1  # the second card was not saved
    assert models.Invoice.get_by_id(sent.id).status == "paid"
    assert models.Invoice.get_by_id(partial.id).status == "paid"
    assert not csp_errors, csp_errors
    row = json.dumps(list(models.GatewayToken.select().dicts()), default=str)
    assert "5555555555554444" not in row and "4242424242424242" not in row


def test_stripe_card_needing_3d_secure(app, live_server, desktop, world, localstripe):
    """A card whose bank asks for authentication: saved after the 3-D Secure step, then
    charged with a second authentication on our confirm page."""
    with opened(app):
        gateway = make_gateway("stripe", publishable_key="pk_test_portal",
                               secret_key="sk_test_portal", webhook_secret=WEBHOOK_SECRET,
                               api_base=localstripe,
                               js_url=localstripe + "/js.stripe.com/v3/")
    page = desktop
    log_in(page, live_server, "a2@alpha.example", factories.PASSWORD)
    page.goto(live_server + "/client/payment_methods/create")
    fill_card(page, "4000002500003155", "12", "31", "123")
    page.click("text=Complete authentication")  # localstripe's stand-in 3-D Secure dialog
    page.wait_for_selector("text=Visa •••• 3155 was saved")

    sent = world["invoices"]["sent"]
    page.goto(f"{live_server}/client/invoices/{sent.public_id}")
    page.click("button:has-text('Pay $100.00')")
    page.click("form.checkout button")
    page.wait_for_selector("text=Confirm your payment")
    pending = models.Payment.get(models.Payment.gateway == gateway.id)
    assert pending.status == "pending" and models.Invoice.get_by_id(sent.id).balance == 10000
    page.click("text=Complete authentication")
    page.wait_for_selector("text=Payment received")
    assert models.Payment.get_by_id(pending.id).status == "completed"
    assert models.Invoice.get_by_id(sent.id).status == "paid"
