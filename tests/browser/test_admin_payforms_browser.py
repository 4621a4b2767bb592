"""The back office on a 375px phone and a 1280px desktop: the menu button, recording a
payment against one client's invoice, and the portal's menu button by keyboard."""
import os
import re

import pytest
from playwright.sync_api import expect

from tests.browser import support

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PORTAL_PAYFORMS_SHOTS", "/tmp/shots-payforms")


def shots_for(name):
    return support.Shots(os.path.join(SHOTS, name))


def open_menu_by_keyboard(page, viewport):
    """Phone: Tab to the menu button, Enter opens it (aria-expanded true). Desktop: the
    navigation shows and the button does not."""
    button = page.locator("button.menu-button")
    nav = page.locator("nav#site-nav")
    if viewport == "desktop":
        expect(button).to_be_hidden()
        expect(nav).to_be_visible()
        return nav
    expect(nav).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    page.keyboard.press("Escape")  # closes and gives the focus back to the button
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(nav).to_be_visible()
    return nav


def assert_no_sideways_scroll(page, viewport):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= support.VIEWPORTS[viewport]["width"], f"page is {width}px wide"


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_staff_record_a_payment_through_the_menu(open_page, demo_server, viewport):
    shots = shots_for(f"record-payment-{viewport}")
    page = open_page(viewport)
    base = demo_server.url
    support.log_in_staff(page, base)
    shots(page, "invoices")

    nav = open_menu_by_keyboard(page, viewport)
    expect(nav.get_by_role("button", name="Log out")).to_be_visible()
    for label in ("Clients", "Invoices", "Payments", "Gateways", "Outbox"):
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    shots(page, "menu open")
    nav.get_by_role("link", name="Payments", exact=True).click()
    page.wait_for_url(base + "/admin/payments")
    expect(page.locator("#main h1")).to_have_text("Payments")
    expect(page.locator("nav#site-nav a[aria-current=page]")).to_have_text("Payments")
    if viewport == "phone":
        expect(page.locator("nav#site-nav")).to_be_hidden()  # closed after the choice
    shots(page, "payments")
    assert_no_sideways_scroll(page, viewport)

    page.get_by_role("link", name="Record a payment").click()
    page.wait_for_url(base + "/admin/payments/new")
    expect(page.locator("#main h1")).to_have_text("Record a payment")
    # Choosing the client swaps step 2 in by htmx: the page itself is not reloaded.
    page.evaluate("window.__marker = 'kept'")
    select = page.get_by_label("Client who paid")
    option = select.locator("option", has_text="Northwind Traders").first
    select.select_option(option.get_attribute("value"))
    amount_inputs = page.locator("#payment-step input[name^=amount_]")
    expect(amount_inputs.first).to_be_visible()
    assert page.evaluate("window.__marker") == "kept"
    expect(page).to_have_url(re.compile(r".*client=\d+"))
    shots(page, "step two")
    assert_no_sideways_scroll(page, viewport)

    row = page.locator("#payment-step tbody tr").first
    number = row.locator("td").first.inner_text().strip()
    box = amount_inputs.first.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= support.VIEWPORTS[viewport]["width"]

    # A wrong amount first: 422, the message by the row, the other values kept.
    amount_inputs.first.fill("abc")
    page.get_by_label("Amount received (USD)").fill("12.00")
    page.get_by_label("Reference").fill(f"BROWSER-{viewport}")
    # The form is boosted: htmx posts it, and the 422 page is swapped in (no reload).
    with page.expect_request(lambda r: r.method == "POST") as posted:
        page.get_by_role("button", name="Record payment").click()
    assert posted.value.headers.get("hx-request") == "true"
    expect(page.locator("#payment-step .field-error")).to_contain_text("as a number")
    assert page.evaluate("window.__marker") == "kept"
    expect(page.locator("#amount_" + amount_inputs.first.get_attribute("name")[7:])
           ).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Reference")).to_have_value(f"BROWSER-{viewport}")
    shots(page, "error")

    page.locator("#payment-step input[name^=amount_]").first.fill("12.00")
    page.get_by_label("Method").select_option("cheque")
    page.get_by_role("button", name="Record payment").click()
    page.wait_for_url(base + "/admin/payments")
    expect(page.locator(".flash-success")).to_contain_text("recorded")
    assert page.evaluate("window.__marker") == "kept"
    expect(page).to_have_title(re.compile("Back office"))
    first = page.locator("table.records tbody tr").first
    expect(first).to_contain_text(f"BROWSER-{viewport}")
    expect(first).to_contain_text("12.00")
    shots(page, "recorded")
    assert number
    assert_no_sideways_scroll(page, viewport)

    # Amounts, numbers and dates never wrap onto a second line.
    lines = page.evaluate("""() => [...document.querySelectorAll(
        'table.records td.num, table.records td.nowrap')].slice(0, 12).map(td => {
          const range = document.createRange(); range.selectNodeContents(td);
          return [td.textContent.trim(), new Set([...range.getClientRects()]
            .filter(r => r.width > 0).map(r => Math.round(r.top))).size]; })""")
    assert lines and all(count == 1 for _, count in lines), lines


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_gateway_form_masks_secrets(open_page, demo_server, viewport):
    shots = shots_for(f"gateways-{viewport}")
    page = open_page(viewport)
    base = demo_server.url
    support.log_in_staff(page, base)
    page.goto(base + "/admin/gateways")
    page.get_by_label("Kind of gateway").select_option("stripe")
    expect(page.get_by_label("Secret key")).to_be_visible()
    shots(page, "stripe form")
    assert_no_sideways_scroll(page, viewport)
    page.get_by_label("Secret key").fill("sk_test_nottherightprefix")
    page.get_by_label("Publishable key").fill("sk_test_wrong")
    page.get_by_role("button", name="Save gateway").click()
    expect(page.locator("#setting_publishable_key-error")).to_contain_text("pk_test_")
    expect(page.get_by_label("Secret key")).to_have_value("")
    shots(page, "stripe error")


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_portal_menu_button_by_keyboard(open_page, demo_server, viewport):
    shots = shots_for(f"portal-menu-{viewport}")
    page = open_page(viewport)
    support.log_in(page, demo_server.url)
    nav = open_menu_by_keyboard(page, viewport)
    shots(page, "portal menu")
    expect(nav.get_by_role("button", name="Log out")).to_be_visible()
    nav.get_by_role("link", name="Payments", exact=True).click()
    page.wait_for_url(demo_server.url + "/client/payments")
    expect(page.locator("#main h1")).to_contain_text("Payments")
    if viewport == "phone":
        expect(page.locator("button.menu-button")).to_have_attribute("aria-expanded", "false")


def test_back_office_menu_without_javascript(open_page, demo_server):
    shots = shots_for("no-js-admin")
    page = open_page("phone", java_script_enabled=False)
    base = demo_server.url
    support.log_in_staff(page, base)
    expect(page.locator("button.menu-button")).to_be_hidden()
    nav = page.locator("nav#site-nav")
    expect(nav).to_be_visible()
    shots(page, "nav expanded")
    nav.get_by_role("link", name="Payments", exact=True).click()
    page.wait_for_url(base + "/admin/payments")
    page.get_by_role("link", name="Record a payment").click()
    select = page.get_by_label("Client who paid")
    select.select_option(select.locator("option", has_text="Northwind Traders").first
                         .get_attribute("value"))
    page.get_by_role("button", name="Show open invoices").click()
    page.wait_for_url(re.compile(r".*/admin/payments/new\?client=\d+"))
    expect(page.locator("#payment-step input[name^=amount_]").first).to_be_visible()
    shots(page, "step two without js")
