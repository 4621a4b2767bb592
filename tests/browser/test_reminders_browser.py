"""Staff set up payment reminders and a late fee on the settings page, on a phone and a
desktop: a nonsense day is refused next to its field; good rules are saved and shown."""
import pytest
from playwright.sync_api import expect

import models
from tests.browser import support
from tests.browser.test_settings_browser import staff_log_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_set_up_reminders_and_a_late_fee(open_page, demo_server, shots, viewport):
    with demo_server.app.app_context():
        company = models.Company.current()
        before = (company.reminder_rules, company.late_fee_kind, company.late_fee_value)
    try:
        page = open_page(viewport)
        staff_log_in(page, demo_server.url)
        form = page.locator("#reminders form")
        form.get_by_label("Days from the due date").first.fill("500")
        form.locator("input[name=reminder1_enabled]").check()
        form.get_by_role("button", name="Save payment reminders").click()
        expect(page.locator("#err-reminder1_days")).to_contain_text("whole number from -365")
        expect(page.locator("#s-reminder1_days")).to_have_attribute("aria-invalid", "true")
        assert support.fits_width(page)
        shots(page, f"reminders-error-{viewport}")

        page.fill("#s-reminder1_days", "-3")
        page.fill("#s-reminder2_days", "7")
        page.locator("#reminders input[name=reminder2_enabled]").check()
        page.select_option("#s-late-fee-kind", "percent")
        page.fill("#s-late-fee-value", "1.5")
        page.get_by_role("button", name="Save payment reminders").click()
        expect(page.locator(".flash-success")).to_have_text(
            "Payment reminders and late fee saved.")
        expect(page.locator("#s-reminder1_days")).to_have_value("-3")
        expect(page.locator("#s-late-fee-value")).to_have_value("1.5")
    finally:
        with demo_server.app.app_context():
            models.Company.update(reminder_rules=before[0], late_fee_kind=before[1],
                                  late_fee_value=before[2]).execute()
