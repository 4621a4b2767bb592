"""Switching plan in headless Chromium at phone width (375 px): the options, the prorated
amount shown before confirming, the invoice to pay; axe on every page, no console errors."""
import datetime as dt

import pytest

import models
from billing import subscriptions as service
from tests import factories
from tests.browser.support import assert_accessible, click_and_settle, fits_width, log_in, open_menu
from tests.core_support import opened

pytestmark = pytest.mark.browser



def test_switching_plan_at_phone_width(app, live_server, phone, world):
    with opened(app):
        factories.company()
        fields = {"currency": "USD", "frequency": "monthly", "plan_group": "main",
                  "allow_plan_changes": True, "allow_pause": True, "max_quantity": 10}
        basic = models.Plan.create(name="Basic", price=1000, **fields)
        models.Plan.create(name="Pro", price=3000, **fields)
        today = models.utcnow().date()
        sub = service.subscribe(world["a"], basic, start=today - dt.timedelta(days=3))
    page = phone
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, "a1@alpha.example", factories.PASSWORD)

    nav = open_menu(page, "phone")
    nav.locator("a:has-text('Subscriptions')").click()
    page.wait_for_selector("h1:has-text('Subscriptions')")
    click_and_settle(page, page.locator(f"a[href$='{sub.public_id}']").first)
    page.wait_for_selector("h1:has-text('Basic')")
    assert_accessible(page, "subscription")
    assert fits_width(page)

    click_and_settle(page, page.locator("a:has-text('Change plan or quantity')"))
    page.wait_for_selector("h1:has-text('Change plan or quantity')")
    assert "Change Basic" in page.title()
    assert_accessible(page, "change form")
    assert fits_width(page)

    # A bad quantity: 422, the message at the field, the form kept.
    page.check("label:has-text('Pro') input[type=radio]")
    page.fill("#change-quantity", "99")
    click_and_settle(page, page.locator("button:has-text('Show the price')"))
    page.wait_for_selector("#change-error")
    assert "at most 10" in page.inner_text("#change-error")
    assert page.get_attribute("#change-quantity", "aria-describedby") == "change-error"
    assert_accessible(page, "change form with an error")

    page.check("label:has-text('Pro') input[type=radio]")
    page.fill("#change-quantity", "1")
    click_and_settle(page, page.locator("button:has-text('Show the price')"))
    page.wait_for_selector("h1:has-text('Change to Pro')")
    assert "To pay now" in page.inner_text("#change-outcome")
    assert "Confirm the change to Pro" in page.title()
    assert_accessible(page, "confirmation")
    assert fits_width(page)

    page.click("button:has-text('Confirm the change')")
    page.wait_for_selector("h1:has-text('Invoice')")
    assert "covers the rest of this period" in page.inner_text("main")
    assert_accessible(page, "the invoice to pay")
    with opened(app):
        assert models.Subscription.get_by_id(sub.id).plan.name == "Pro"
        assert models.Invoice.select().where(models.Invoice.subscription == sub.id).count() == 1
    # The one 422 is the refused quantity above, which Chromium logs as a failed load.
    assert [e for e in errors if "status of 422" not in e] == []
