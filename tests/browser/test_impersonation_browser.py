"""Staff open the portal as a contact and add a card for them: the page says staff are adding
it and asks for the client's consent first; the card is marked as added by staff."""
import re

import pytest
from playwright.sync_api import expect

import models
from tests.browser import support
from tests.core_support import opened

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_staff_add_a_card_as_a_contact_with_consent(open_page, demo_server, shots, viewport):
    with opened(demo_server.app):
        client_id = models.Contact.get(models.Contact.email == support.CONTACT).client_id
        before = {t.id for t in models.GatewayToken.select().where(
            models.GatewayToken.client == client_id)}
    try:
        page = open_page(viewport)
        page.set_default_timeout(20000)
        support.log_in_staff(page, demo_server.url, then=f"/admin/clients/{client_id}")
        row = page.locator("tr", has_text=support.CONTACT)
        row.get_by_role("button", name="Open portal as").click()
        expect(page.locator(".impersonation")).to_contain_text("Staff view")

        page.goto(demo_server.url + "/client/payment_methods")
        page.get_by_role("link", name="Add payment method").click()
        if page.locator("ul.choices").count():
            page.locator("ul.choices a", has_text="Demo").first.click()
        expect(page.locator("h1")).to_contain_text("Add a card for")
        expect(page.locator("main")).to_contain_text("You are staff")
        page.get_by_role("button", name="Continue to the card form").click()
        error = page.locator("#consent-error")
        expect(error).to_be_visible()  # refused without the box ticked
        shots(page, f"consent-refused-{viewport}")
        page.get_by_label(re.compile("I confirm the client has given consent")).check()
        page.get_by_role("button", name="Continue to the card form").click()
        page.fill("input[name=card_number]", "4242 4242 4242 4242")
        page.fill("input[name=exp_month]", "12")
        page.fill("input[name=exp_year]", "2034")
        page.fill("input[name=cvc]", "123")
        page.click("#capture-submit")
        expect(page.locator("main")).to_contain_text("Added by staff")
        shots(page, f"card-added-by-staff-{viewport}")
        assert support.fits_width(page)
        with opened(demo_server.app):
            added = list(models.GatewayToken.select().where(
                (models.GatewayToken.client == client_id)
                & models.GatewayToken.id.not_in(before or [0])))
            assert len(added) == 1 and added[0].created_by_staff_id is not None
    finally:
        with opened(demo_server.app):
            models.GatewayToken.delete().where(
                (models.GatewayToken.client == client_id)
                & models.GatewayToken.id.not_in(before or [0])).execute()
