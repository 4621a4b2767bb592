"""Staff switch a portal module off on the settings page; the contact's tab vanishes."""

import pytest
from playwright.sync_api import expect

import models
from tests.browser import support

pytestmark = pytest.mark.browser


def staff_log_in(page, base_url):
    support.log_in_staff(page, base_url, then="/admin/settings")


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_switch_a_module_off_and_the_tab_vanishes(open_page, demo_server, shots, viewport):
    with demo_server.app.app_context():
        before = models.Company.current().disabled_modules
    try:
        page = open_page(viewport)
        staff_log_in(page, demo_server.url)
        expect(page.locator("h1")).to_have_text("Settings")
        # Nothing wider than the screen: inputs and buttons fit a 375px phone.
        assert support.fits_width(page)
        shots(page, f"settings-{viewport}")
        modules = page.locator("#modules form")
        modules.get_by_label("Documents", exact=True).uncheck()
        modules.get_by_role("button", name="Save portal modules").click()
        expect(page.locator(".flash-success")).to_have_text("Portal modules saved.")
        expect(page.locator("#modules form").get_by_label("Documents", exact=True)) \
            .not_to_be_checked()
        assert page.console.unexpected() == []

        portal = open_page(viewport)
        support.log_in(portal, demo_server.url)
        nav = support.open_menu(portal, viewport)
        expect(nav.get_by_role("link", name="Invoices", exact=True)).to_be_visible()
        expect(nav.get_by_role("link", name="Documents", exact=True)).to_have_count(0)
        shots(portal, f"portal-without-documents-{viewport}")
        response = portal.goto(demo_server.url + "/client/documents")
        assert response.status == 404

        # A bad value is refused on the page, next to its field, and nothing is saved.
        page.fill("#s-ttl", "0")
        page.get_by_role("button", name="Save e-mailed links").click()
        expect(page.locator("#err-invitation_ttl_days")).to_contain_text("whole number of days")
        expect(page.locator("#s-ttl")).to_have_attribute("aria-invalid", "true")
        shots(page, f"settings-error-{viewport}")
    finally:
        with demo_server.app.app_context():
            models.Company.update(disabled_modules=before, invitation_ttl_days=90).execute()
