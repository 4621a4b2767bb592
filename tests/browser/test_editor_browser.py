"""Staff write an invoice in the browser: pick a product, add a line, see the totals, save."""
import re

import pytest
from playwright.sync_api import expect

from billing import products
from tests import factories
from tests.browser import support
from tests.core_support import opened

pytestmark = pytest.mark.browser
SHOTS = "/tmp/editor-browser"



def seed(app):
    with opened(app):
        factories.staff("boss@test.example")
        factories.client(name="Browser Buyer Ltd")
        products.create_product("Hosting", "Managed hosting, one month", 2500, "VAT", 20)


@pytest.mark.parametrize("size", support.VIEWPORTS)
def test_write_an_invoice_with_a_product_and_an_added_line(app, live_server, open_page, size):
    seed(app)
    page = open_page(size)
    support.log_in_staff(page, live_server, "boss@test.example", factories.PASSWORD)
    page.goto(f"{live_server}/admin/invoices/new")
    page.select_option("select[name=client]", label="Browser Buyer Ltd (USD)")
    product = page.get_by_label("Line 1 product")
    product.fill("Hosting")
    product.dispatch_event("change")
    # htmx answers the filled row; the totals box adds it up.
    expect(page.get_by_label("Line 1 unit price")).to_have_value("25.00")
    expect(page.locator("[data-total]")).to_have_attribute("data-total", "3000")
    page.click("button:has-text('Add a line')")
    page.wait_for_selector("input[aria-label='Line 4 product']")
    page.get_by_label("Line 2 description").fill("Setup")
    page.get_by_label("Line 2 unit price").fill("10.00")
    page.get_by_label("Line 2 unit price").dispatch_event("change")
    expect(page.locator("[data-total]")).to_have_attribute("data-total", "4000")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= support.VIEWPORTS[size]["width"], f"editor is {width}px wide"
    page.screenshot(path=f"{SHOTS}/{size}-editor.png", full_page=True, caret="initial")
    page.click("button:has-text('Create invoice')")
    page.wait_for_url(re.compile(r".*/admin/invoices/\d+$"))
    assert "$40.00" in page.content() and "Preview PDF" in page.content()
    page.screenshot(path=f"{SHOTS}/{size}-invoice.png", full_page=True, caret="initial")
