"""One login, two clients, on a phone: log in, pick the other client in the switcher, and the
invoice list is that client's (issue 13 §4)."""
import re

import pytest
from playwright.sync_api import expect

import models
from billing import client_access
from tests import factories
from tests.browser import support

pytestmark = pytest.mark.browser
PERSON = "both@switch.example"


def test_switch_client_on_a_phone(browser, demo_server, shots):
    with demo_server.app.test_request_context():
        models.db.connect(reuse_if_open=True)
        home = factories.client(name="Harbour Home Ltd")
        other = factories.client(name="Orchard Other GmbH")
        factories.contact(home, email=PERSON)
        client_access.grant(other, PERSON)
        own_invoice = factories.invoice(home, status="sent").number
        other_invoice = factories.invoice(other, status="sent").number
        models.db.close()
    context = browser.new_context(viewport=support.PHONE)
    try:
        page = context.new_page()
        page.set_default_timeout(20000)
        console = support.ConsoleWatch(page)
        support.log_in(page, demo_server.url, PERSON, factories.PASSWORD)
        main = page.locator("main")
        expect(main).to_contain_text(own_invoice)
        expect(main).not_to_contain_text(other_invoice)
        switcher = page.get_by_label("Working for")
        expect(switcher).to_be_visible()  # outside the phone menu: always in sight
        expect(switcher).to_have_value(home.public_id)
        support.assert_accessible(page, "invoices with the client switcher")
        shots(page, "switcher-home")
        switcher.select_option(label="Orchard Other GmbH")
        button = page.get_by_role("button", name="Switch", exact=True)
        for control in (switcher, button):
            assert control.bounding_box()["height"] >= 44
        # A plain form (no htmx): the answer is a redirect and a whole new page.
        with page.expect_navigation():
            button.click()
        page.wait_for_url(re.compile(r".*/client/invoices$"))
        expect(main).to_contain_text(other_invoice)
        expect(main).not_to_contain_text(own_invoice)
        expect(page.get_by_label("Working for")).to_have_value(other.public_id)
        expect(page.locator(".flash-success")).to_contain_text("Orchard Other GmbH")
        assert support.fits_width(page)
        support.assert_accessible(page, "invoices after switching")
        shots(page, "switcher-other")
        assert console.errors == [] and console.csp == [], console.errors
    finally:
        context.close()
        with demo_server.app.app_context():
            models.db.connect(reuse_if_open=True)
            models.Client.delete().where(models.Client.id.in_([home.id, other.id])).execute()
            models.db.close()
