"""A one-off pre-payment in headless Chromium at phone width (375 px), demo gateway."""
import pytest

import models
from tests import factories
from tests.browser.support import fits_width, log_in, open_menu
from tests.core_support import opened
from tests.payments_support import make_gateway

pytestmark = pytest.mark.browser



def test_one_off_prepayment_at_phone_width(app, live_server, phone, world):
    with opened(app):
        factories.company(prepayments_enabled=True, minimum_prepayment=1000)
        gateway = make_gateway("demo")
    page = phone
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, "a1@alpha.example", factories.PASSWORD)

    nav = open_menu(page, "phone")
    nav.locator("a:has-text('Pre-Payment')").click()
    page.wait_for_selector("h1:has-text('Pre-Payment')")
    assert fits_width(page)
    # The schedule's fields show only once "Enable recurring" is ticked (CSS, no script).
    assert not page.is_visible("#pp-frequency")
    page.check("#pp-recurring")
    assert page.is_visible("#pp-frequency") and page.is_visible("#pp-cycles")
    page.uncheck("#pp-recurring")

    # Below the minimum: the message sits at the field, and nothing is charged.
    page.fill("#pp-amount", "5")
    page.click("button:has-text('Continue to payment')")
    page.wait_for_selector("#err-amount")
    assert "minimum pre-payment is $10.00" in page.inner_text("#err-amount")
    assert page.get_attribute("#pp-amount", "aria-describedby") == "err-amount"

    page.fill("#pp-amount", "75.50")
    page.fill("#pp-note", "Towards the spring project")
    page.check(f"input[name=method][value='new:{gateway.id}']")
    button = page.locator("button:has-text('Continue to payment')").bounding_box()
    assert button["height"] >= 44
    page.click("button:has-text('Continue to payment')")
    page.wait_for_selector("text=Demo gateway:")
    assert "$75.50" in page.inner_text("main")
    assert fits_width(page)
    page.fill("input[name=card_number]", "4242 4242 4242 4242")
    page.fill("input[name=exp_month]", "12")
    page.fill("input[name=exp_year]", "2034")
    page.fill("input[name=cvc]", "123")
    page.click("#capture-submit")
    page.wait_for_url("**/client/payments/*")
    text = page.inner_text("main")
    assert "Payment received" in text and "$75.50 unapplied" in text
    assert "Towards the spring project" in text
    assert fits_width(page)
    # The refused amount's page is a 422, which Chromium logs; nothing else may be.
    assert [e for e in errors if "status of 422" not in e] == [], errors
    with opened(app):
        payment = models.Payment.get(models.Payment.is_prepayment == True)  # noqa: E712
        assert (payment.status, payment.amount, payment.applied) == ("completed", 7550, 0)
