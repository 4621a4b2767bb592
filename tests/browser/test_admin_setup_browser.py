"""Issue 10's "done when": from an empty instance (`portal init`, `portal staff create`), staff
set the business up by clicking (settings, a gateway, a client and contact, an invoice
e-mailed), and the contact opens the e-mailed link and pays it; at 375 and 1280 px."""
import re

import pytest
from playwright.sync_api import expect

import models
from tests import factories
from tests.browser import support
from tests.conftest import reset_database
from tests.core_support import opened

pytestmark = pytest.mark.browser
STAFF = ("owner@acme.example", "owner-password-1")


@pytest.fixture
def empty_server(tmp_path):
    """A portal with nothing in it but one staff account: what `portal init` and
    `portal staff create` leave."""
    server = support.LiveServer(str(tmp_path))
    with opened(server.app):
        reset_database()
        factories.staff(STAFF[0], STAFF[1])
    server.start()
    yield server
    server.stop()


def admin_go(page, viewport, label):
    """Follow a back-office menu link (htmx-boosted), opening the phone menu first."""
    nav = support.open_menu(page, viewport)
    support.click_and_settle(page, nav.get_by_role("link", name=label, exact=True))
    expect(page.locator("h1").first).to_be_visible()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_set_up_the_business_from_an_empty_instance(open_page, empty_server, shots, viewport):
    base = empty_server.url
    page = open_page(viewport)
    page.set_default_timeout(20000)
    page.goto(base + "/admin/login")
    page.fill("input[name=email]", STAFF[0])
    page.fill("input[name=password]", STAFF[1])
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r".*/admin/.*"))

    # Settings: the company profile.
    admin_go(page, viewport, "Settings")
    profile = page.locator("#profile form")
    profile.locator("#s-name").fill("Acme Studio")
    profile.locator("#s-email").fill("billing@acme.example")
    profile.locator("#s-phone").fill("+1 555 0100")
    profile.locator("#s-vat").fill("US-123456789")
    profile.get_by_role("button").click()
    expect(page.locator(".flash-success")).to_be_visible()
    shots(page, f"settings-{viewport}")

    # A payment gateway (the offline demo one).
    admin_go(page, viewport, "Gateways")
    page.select_option("#kind-select", "demo")
    page.locator("#gateway-form input[name=label]").fill("Card (demo)")
    page.locator("#gateway-form form button").last.click()
    expect(page.locator(".flash-success")).to_be_visible()
    shots(page, f"gateway-{viewport}")

    # A client and its contact.
    admin_go(page, viewport, "Clients")
    page.get_by_role("link", name=re.compile("New client")).click()
    page.fill("#f-name", "Globex Corporation")
    page.fill("#f-email", "ap@globex.example")
    page.fill("#f-currency", "USD")
    page.get_by_role("button", name="Create client").click()
    expect(page.locator("h1")).to_contain_text("Globex Corporation")
    page.get_by_role("link", name="Add contact").click()
    page.fill("#f-first_name", "Pat")
    page.fill("#f-last_name", "Lee")
    page.fill("#f-email", "pat@globex.example")
    page.get_by_role("button", name="Add contact").click()
    expect(page.locator("body")).to_contain_text("pat@globex.example")
    shots(page, f"client-{viewport}")

    # An invoice with one line, e-mailed as it is created.
    admin_go(page, viewport, "Invoices")
    page.get_by_role("link", name=re.compile("New invoice")).click()
    page.select_option("select[name=client]", label="Globex Corporation (USD)")
    page.get_by_label("Line 1 description").fill("Website design")
    page.get_by_label("Line 1 quantity").fill("2")
    page.get_by_label("Line 1 unit price").fill("150.00")
    # The form swaps itself whole (htmx): choosing "then" before that swap lands is lost.
    support.click_and_settle(page, page.get_by_role("button", name="Update totals").last)
    expect(page.locator("#document-totals")).to_contain_text("$300.00")
    page.select_option("select[name=then]", "email")
    shots(page, f"invoice-editor-{viewport}")
    page.get_by_role("button", name="Create invoice").click()
    expect(page.locator(".flash-success")).to_be_visible()
    shots(page, f"invoice-{viewport}")
    assert support.fits_width(page)
    assert page.console.unexpected() == []

    # The e-mail that went out carries the link; the contact follows it and pays.
    with opened(empty_server.app):
        message = models.EmailMessage.get(models.EmailMessage.to == "pat@globex.example")
    assert "Acme Studio" in message.subject + message.body_text
    link = re.search(r"https?://\S+/client/invoice/\S+", message.body_text).group(0)
    portal = open_page(viewport)
    portal.set_default_timeout(20000)
    portal.goto(base + link[link.index("/client/"):])
    expect(portal.locator("h1")).to_contain_text("INV")
    expect(portal.locator("body")).to_contain_text("Website design")
    expect(portal.locator("body")).to_contain_text("$300.00")
    shots(portal, f"portal-invoice-{viewport}")
    portal.get_by_role("button", name=re.compile(r"Pay")).first.click()
    portal.locator("form.checkout button").click()
    portal.fill("input[name=card_number]", "4242 4242 4242 4242")
    portal.fill("input[name=exp_month]", "12")
    portal.fill("input[name=exp_year]", "2034")
    portal.fill("input[name=cvc]", "123")
    portal.click("#capture-submit")
    expect(portal.locator("body")).to_contain_text(re.compile("Payment received|Paid"))
    shots(portal, f"portal-paid-{viewport}")
    with opened(empty_server.app):
        invoice = models.Invoice.get()
        assert (invoice.status, invoice.balance, invoice.total) == ("paid", 0, 30000)
