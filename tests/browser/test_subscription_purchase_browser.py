"""Buying a plan from its purchase page on a phone (375 px) with the demo gateway, as a new
customer: every page passes axe, nothing scrolls sideways, no console errors."""
import pytest

import models
from billing import subscriptions
from tests.browser.support import assert_accessible, fits_width
from tests.core_support import opened
from tests.factories import PLAN_FORM as GOOD
from tests.payments_support import make_gateway

pytestmark = pytest.mark.browser



def test_a_new_customer_buys_a_plan_on_a_phone(app, live_server, phone):
    with opened(app):
        make_gateway("demo", token_mode="optout")
        plan = subscriptions.create_plan({**GOOD, "trial_days": "0", "setup_fee": "10.00"},
                                         "en_US")
    page = phone
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/client/subscriptions/{plan.public_id}/purchase")
    assert page.title().startswith("Buy Pro")
    assert fits_width(page)
    assert_accessible(page, "purchase form")

    # A mistake first: the message sits by its field and the form keeps what was typed.
    page.fill("#buy-quantity", "2")
    page.fill("#buy-client_name", "Gamma LLC")
    page.fill("#buy-email", "gil@gamma.example")
    page.fill("#buy-password", "gamma-password")
    page.fill("#buy-confirm", "another-password")
    page.click("button:has-text('Continue')")
    page.wait_for_selector("#err-confirm")
    assert page.get_attribute("#buy-confirm", "aria-describedby") == "err-confirm"
    assert page.input_value("#buy-client_name") == "Gamma LLC"
    assert_accessible(page, "purchase form with an error")

    page.fill("#buy-password", "gamma-password")
    page.fill("#buy-confirm", "gamma-password")
    page.click("button:has-text('Continue')")
    page.wait_for_selector("h1:has-text('Pay by card')")
    assert "$68.00" in page.inner_text("main")
    assert fits_width(page)
    assert_accessible(page, "card page")
    button = page.locator("#capture-submit").bounding_box()
    assert button["height"] >= 44

    page.fill("#card-number", "4242 4242 4242 4242")
    page.fill("input[name=exp_month]", "12")
    page.fill("input[name=exp_year]", "2035")
    page.fill("input[name=cvc]", "123")
    page.click("#capture-submit")
    page.wait_for_selector("text=Your subscription is active")
    assert "/client/subscriptions/" in page.url and page.title().startswith("Subscription: Pro")
    assert fits_width(page)
    assert_accessible(page, "the new subscription")
    # The one 422 is the refused form above, which Chromium logs as a failed load.
    assert [e for e in errors if "status of 422" not in e] == []
    assert len(errors) == 1
    with opened(app):
        assert models.Subscription.get().status == "active"
        assert models.Payment.get().amount == 6800
