"""Cancelling a subscription in headless Chromium at phone width (375 px): a reason, the
confirmation that says when it ends, then undoing it; axe on every page, no console errors."""
import datetime as dt

import pytest

import models
from billing import subscriptions as service
from tests import factories
from tests.browser.support import assert_accessible, click_and_settle, fits_width, log_in
from tests.core_support import opened

pytestmark = pytest.mark.browser


def test_cancel_then_keep_a_subscription_at_phone_width(app, live_server, phone, world):
    with opened(app):
        factories.company()
        plan = models.Plan.create(name="Care", price=2500, currency="USD", frequency="monthly",
                                  cancellation="at_period_end")
        sub = service.subscribe(world["a"], plan,
                                start=models.utcnow().date() - dt.timedelta(days=3))
    page = phone
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, live_server, "a1@alpha.example", factories.PASSWORD)
    page.goto(f"{live_server}/client/subscriptions/{sub.public_id}")
    page.wait_for_selector("h1:has-text('Care')")

    click_and_settle(page, page.locator("a:has-text('Cancel subscription')"))
    page.wait_for_selector("h1:has-text('Cancel Care')")
    assert_accessible(page, "cancel form")
    # No reason chosen: refused at the field, nothing cancelled. (The select is required, so
    # the browser itself stops the submit: remove that to see the server's answer.)
    page.evaluate("() => document.querySelector('#cancel-reason').removeAttribute('required')")
    click_and_settle(page, page.locator("button:has-text('Continue')"))
    page.wait_for_selector("#cancel-error")
    assert page.get_attribute("#cancel-reason", "aria-invalid") == "true"

    page.select_option("#cancel-reason", index=1)
    page.fill("#cancel-comment", "Budget cuts this quarter")
    click_and_settle(page, page.locator("button:has-text('Continue')"))
    page.wait_for_selector("h1:has-text('Cancel Care?')")
    assert "at the end of the paid period" in page.inner_text("main")
    assert_accessible(page, "cancel confirmation")
    with opened(app):
        assert not models.Subscription.get_by_id(sub.id).cancel_at_period_end  # not yet

    click_and_settle(page, page.locator("button:has-text('Yes, cancel my subscription')"))
    page.wait_for_selector("button:has-text('Keep my subscription')")
    assert "You cancelled this subscription" in page.inner_text("main")
    assert_accessible(page, "cancelled, undo offered")
    with opened(app):
        assert models.Subscription.get_by_id(sub.id).cancel_at_period_end

    click_and_settle(page, page.locator("button:has-text('Keep my subscription')"))
    page.wait_for_selector("a:has-text('Cancel subscription')")
    with opened(app):
        kept = models.Subscription.get_by_id(sub.id)
        assert (kept.status, kept.cancel_at_period_end) == ("active", False)
    assert fits_width(page)
    assert [e for e in errors if "status of 422" not in e] == []
