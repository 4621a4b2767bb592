"""On a phone: set up two-factor sign-in from the profile (the QR code's key typed into an
"app", here pyotp), see the recovery codes, log out, and log in again with a code. axe-core
checks every page of the flow; the CSP must not refuse anything (the QR code is inline SVG)."""
import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

import models
from tests import factories
from tests.browser import support
from tests.core_support import opened

pytestmark = pytest.mark.browser

EMAIL = "two-factor-browser@test.example"


def test_set_up_two_factor_then_log_in_with_a_code(open_page, demo_server, shots):
    with opened(demo_server.app):
        client = models.Contact.get(models.Contact.email == support.CONTACT).client
        contact = models.Contact.get_or_none(models.Contact.email == EMAIL) or \
            factories.contact(client, email=EMAIL)
        models.TwoFactor.delete().where(models.TwoFactor.contact == contact.id).execute()
    try:
        page = open_page("phone")
        page.set_default_timeout(20000)
        support.log_in(page, demo_server.url, EMAIL, factories.PASSWORD)
        page.goto(demo_server.url + "/client/profile")
        page.get_by_role("link", name="Set up two-factor sign-in").click()
        expect(page.locator("h1")).to_have_text("Two-factor sign-in")
        page.get_by_role("button", name="Set up two-factor sign-in").click()
        qr = page.get_by_role("img", name="QR code to scan with your authenticator app")
        expect(qr).to_be_visible()
        assert qr.bounding_box()["width"] <= support.PHONE["width"]
        support.assert_accessible(page, "two-factor set-up")
        shots(page, "two-factor-setup-phone")
        # A person without a camera types the key shown under the QR code into their app.
        secret = page.locator("code.secret").inner_text().replace(" ", "")
        app = pyotp.TOTP(secret)
        page.get_by_label("Code from your app").fill(app.now())
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
        expect(page.locator("h1")).to_have_text("Your recovery codes")
        expect(page.locator(".recovery-codes li")).to_have_count(10)
        support.assert_accessible(page, "recovery codes")
        shots(page, "two-factor-codes-phone")
        page.get_by_role("link", name="I have saved my codes").click()
        expect(page.locator("main")).to_contain_text("Two-factor sign-in is on")

        support.open_menu(page, "phone").get_by_role("button", name="Log out").click()
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", factories.PASSWORD)
        page.click("button:has-text('Log in')")
        page.wait_for_url(re.compile(r".*/client/login/code$"))
        expect(page.locator("h1")).to_have_text("Enter your sign-in code")
        support.assert_accessible(page, "sign-in code")
        shots(page, "two-factor-code-phone")
        # The set-up used this 30-second step's code; the next step's is good (one step of
        # clock drift is allowed), and is what the app shows half a minute later.
        page.get_by_label("6-digit code from your authenticator app").fill(
            app.at(time.time() + 30))
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(re.compile(r".*/client/invoices$"))
        assert support.fits_width(page)
    finally:
        with opened(demo_server.app):
            contact = models.Contact.get(models.Contact.email == EMAIL)
            models.TwoFactor.delete().where(models.TwoFactor.contact == contact.id).execute()
