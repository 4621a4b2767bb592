"""DESIGN.md §3 weight budgets, as Chromium transfers them (compressed bodies plus headers)."""
import pytest
from playwright.sync_api import expect

from tests.browser import support

pytestmark = pytest.mark.browser

FIRST_PAGE_BUDGET = 40 * 1024
TAB_SWITCH_BUDGET = 4 * 1024


def test_first_page_and_tab_switch_weight(browser, demo_server):
    base = demo_server.url
    login = browser.new_context(viewport=support.DESKTOP)
    login_page = login.new_page()
    support.log_in(login_page, base)
    state = login.storage_state()
    login.close()

    # A fresh context has an empty HTTP cache: this is a contact's very first portal page.
    context = browser.new_context(viewport=support.DESKTOP, storage_state=state)
    page = context.new_page()
    recorder = support.Recorder(page)
    page.goto(base + "/client/invoices", wait_until="networkidle")
    expect(page.locator("table.records tbody tr")).to_have_count(25)
    urls = {r.url.split("?")[0].rsplit("/", 1)[-1] for r in recorder.finished}
    assert {"invoices", "portal.css", "brand.css", "htmx-2.0.11.min.js", "portal.js"} <= urls
    body, headers = recorder.transferred()
    first = body + headers
    encodings = {r.url.rsplit("/", 1)[-1]: r.response().headers.get("content-encoding")
                 for r in recorder.finished}

    switches = {}
    for label, path in (("Payments", "/client/payments"), ("Invoices", "/client/invoices")):
        recorder.clear()
        with page.expect_event("requestfinished", lambda r, p=path: r.url == base + p):
            page.locator("nav.tabs").get_by_role("link", name=label, exact=True).click()
        page.wait_for_load_state("networkidle")
        assert [r.url for r in recorder.finished] == [base + path]  # nothing else fetched
        body_, headers_ = recorder.transferred()
        switches[label] = body_ + headers_
    print(f"\nfirst page: {first} B ({body} body + {headers} headers); encodings {encodings}; "
          f"tab switches: {switches}")
    assert first < FIRST_PAGE_BUDGET, f"first page transferred {first} bytes"
    for label, size in switches.items():
        assert size < TAB_SWITCH_BUDGET, f"switch to {label} transferred {size} bytes"
    context.close()
