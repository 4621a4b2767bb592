"""What a contact clicks through, on a 375px phone and a 1280px desktop, with and without JS."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser import support

pytestmark = pytest.mark.browser


def switch_tab(page, viewport, label):
    """Switch tabs through the menu; returns the request htmx made."""
    nav = support.open_menu(page, viewport)
    link = nav.get_by_role("link", name=label, exact=True)
    href = link.get_attribute("href")
    with page.expect_request(lambda r: r.url.split("?")[0].endswith(href)) as info:
        link.click()
    expect(page.locator("#main h1")).to_contain_text(label)
    return info.value


def heading(page):
    return page.locator("#main h1")


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_login_list_invoice_tabs_history_pdf_logout(open_page, demo_server, shots, viewport):
    page = open_page(viewport, accept_downloads=True)
    recorder = support.Recorder(page)
    base = demo_server.url

    support.log_in(page, base)
    shots(page, "invoice list")
    expect(heading(page)).to_have_text("Invoices")
    rows = page.locator("table.records tbody tr")
    expect(rows).to_have_count(25)  # one full page; the rest is behind the pager
    expect(page.locator("nav.pager")).to_contain_text("Page 1 of 2")
    # Every row fits the phone screen: nothing may force a sideways scroll.
    assert page.evaluate("document.documentElement.scrollWidth") <= support.VIEWPORTS[
        viewport]["width"]

    # A marker on window survives htmx swaps and dies with a full page load.
    page.evaluate("window.__marker = 'kept'")
    first = rows.first.locator("a")
    number = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r".*/client/invoices/[\w-]+$"))
    expect(heading(page)).to_contain_text(f"Invoice {number}")
    invoice_url = page.url
    shots(page, "invoice")

    recorder.clear()
    request = switch_tab(page, viewport, "Payments")
    shots(page, "payments tab")
    assert request.headers.get("hx-request") == "true"
    assert request.resource_type in ("xhr", "fetch")
    assert not [r for r in recorder.requests if r.resource_type == "document"]
    assert "<html" not in request.response().text()
    expect(page).to_have_url(base + "/client/payments")
    assert page.evaluate("window.__marker") == "kept"
    expect(page.locator("nav.tabs a[data-tab=payments]")).to_have_attribute(
        "aria-current", "page")
    if viewport == "phone":
        expect(page.locator("nav.tabs")).to_be_hidden()  # the menu closes after a choice

    switch_tab(page, viewport, "Quotes")
    expect(page).to_have_url(base + "/client/quotes")
    shots(page, "quotes tab")

    page.go_back()
    page.wait_for_url(base + "/client/payments")
    expect(heading(page)).to_have_text("Payments")
    page.go_back()
    page.wait_for_url(invoice_url)
    expect(heading(page)).to_contain_text(f"Invoice {number}")
    page.go_forward()
    page.wait_for_url(base + "/client/payments")
    expect(heading(page)).to_have_text("Payments")
    assert page.evaluate("window.__marker") == "kept"
    shots(page, "after back and forward")

    page.reload()
    expect(heading(page)).to_have_text("Payments")
    assert page.evaluate("window.__marker") is None  # that really was a fresh page
    expect(page.locator("nav.tabs a[data-tab=payments]")).to_have_attribute(
        "aria-current", "page")
    shots(page, "after reload")

    page.goto(invoice_url)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"invoice-{number}.pdf"
    with open(download.path(), "rb") as f:
        data = f.read()
    assert data.startswith(b"%PDF") and len(data) > 5000

    support.open_menu(page, viewport)
    shots(page, "menu open")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/client/login$"))
    expect(page.locator(".flash")).to_contain_text("You have logged out.")
    shots(page, "logged out")
    page.goto(base + "/client/invoices")
    page.wait_for_url(re.compile(r".*/client/login\?next=.*"))


def test_core_flows_without_javascript(open_page, demo_server, shots):
    page = open_page("phone", java_script_enabled=False, accept_downloads=True)
    base = demo_server.url
    support.log_in(page, base)
    shots(page, "no-js invoice list")

    # The filter form has an Apply button when scripts are off.
    page.select_option("select[name=status]", "paid")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r".*status=paid.*"))
    statuses = page.locator("table.records .status").all_inner_texts()
    assert statuses and {s.lower() for s in statuses} == {"paid"}

    link = page.locator("table.records tbody tr a").first
    number = link.inner_text()
    link.click()
    page.wait_for_url(re.compile(r".*/client/invoices/[\w-]+$"))
    expect(heading(page)).to_contain_text(f"Invoice {number}")
    shots(page, "no-js invoice")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    with open(download_info.value.path(), "rb") as f:
        assert f.read(4) == b"%PDF"

    # Without JavaScript there is no menu button: the navigation shows expanded, plain links.
    nav = page.locator("nav.tabs")
    expect(page.locator("button.menu-button")).to_be_hidden()
    expect(nav).to_be_visible()
    shots(page, "no-js menu")
    nav.get_by_role("link", name="Statement", exact=True).click()
    page.wait_for_url(base + "/client/statement")
    expect(heading(page)).to_have_text("Statement")
    expect(page.locator("nav.tabs a[data-tab=statement]")).to_have_attribute(
        "aria-current", "page")
    shots(page, "no-js statement")


def test_no_console_errors_or_csp_violations(open_page, demo_server, shots):
    page = open_page("desktop", accept_downloads=True)
    base = demo_server.url
    support.log_in(page, base)
    page.locator("table.records tbody tr a").first.click()
    page.wait_for_url(re.compile(r".*/client/invoices/[\w-]+$"))
    labels = page.locator("nav.tabs a[data-tab]").all_inner_texts()
    assert len(labels) >= 9
    for label in labels:
        page.locator("nav.tabs").get_by_role("link", name=label, exact=True).click()
        page.wait_for_load_state("networkidle")
    page.goto(base + "/client/invoices?status=paid&sort=number")
    page.locator("input[type=search]").fill("zzz-no-such-invoice")
    expect(page.locator(".empty")).to_contain_text("No invoices match")
    shots(page, "empty search")
    page.go_back()
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.console.errors == []  # not even a 4xx: every page this walk opens exists
    assert page.console.csp == []
