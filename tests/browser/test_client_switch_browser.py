"""One login, two clients, on a phone: log in, pick the other client in the switcher, and the
invoice list is that client's (issue 13 §4)."""
import re

import pytest
from playwright.sync_api import expect

import models
from billing import client_access
from tests import factories
from tests.browser import support
from tests.core_support import opened

pytestmark = pytest.mark.browser
PERSON = "both@switch.example"


def test_switch_client_on_a_phone(demo_server, phone, shots):
    with opened(demo_server.app):
        home = factories.client(name="Harbour Home Ltd")
        other = factories.client(name="Orchard Other GmbH")
        factories.contact(home, email=PERSON)
        client_access.grant(other, PERSON)
        own_invoice = factories.invoice(home, status="sent").number
        other_invoice = factories.invoice(other, status="sent").number
    try:
        page = phone
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
    finally:
        with opened(demo_server.app):
            models.Client.delete().where(models.Client.id.in_([home.id, other.id])).execute()
