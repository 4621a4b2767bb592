"""Every portal and back-office page passes axe-core (WCAG 2.x A/AA and its best practices)
with no console error, at a 375 px phone and a 1280 px desktop; then what a keyboard or
screen-reader user and a zoomed-in reader meet: titles, focus after htmx swaps, search
forms that keep what is typed, no sideways scrolling at 320 px or 200 % text."""
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

import demo
from tests.browser import support

pytestmark = pytest.mark.browser

# Not pages: they change state, leave the site, or are files.
SKIP = re.compile(r"/(logout|pdf|download|receipt)(/|\?|$)|/impersonate|/static/|\.pdf")
# Chromium logs every non-2xx response; a 422 is how a form answers with its errors.
EXPECTED_422 = "the server responded with a status of 422"


def url_pattern(path):
    """One page per route: ids (numbers, or opaque public ids, which unlike route names
    have a digit or a capital) collapse to <id>."""
    return re.sub(r"/(\d+|(?=[^/]*[0-9A-Z])[A-Za-z0-9_-]{10,})(?=/|$)", "/<id>",
                  path.rstrip("/") or "/")


def console_errors(watch, allow_422=False):
    return [e for e in watch.errors + watch.csp
            if not (allow_422 and EXPECTED_422 in e)]


def check_page(page, viewport, seen_titles):
    """axe finds nothing; the page has its own <title>; a phone never scrolls sideways."""
    support.assert_accessible(page)
    title = page.title()
    path = url_pattern(urlsplit(page.url).path)
    assert title and title not in seen_titles.values() or seen_titles.get(path) == title, (
        f"{path} shares its title {title!r} with "
        f"{[p for p, t in seen_titles.items() if t == title]}")
    seen_titles[path] = title
    if viewport == "phone":
        assert no_sideways_scroll(page), f"{page.url} scrolls sideways at 375 px"


def no_sideways_scroll(page):
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def crawl(page, base, start, prefix, visit, limit=150):
    """Open start, then every same-site GET link under prefix, one page per route."""
    seen, queue = set(), [start]
    while queue and len(seen) < limit:
        url = queue.pop(0)
        key = url_pattern(urlsplit(url).path)
        if key in seen:
            continue
        seen.add(key)
        page.goto(url)
        visit(page)
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            parts = urlsplit(href)
            if (parts.netloc == urlsplit(base).netloc and parts.path.startswith(prefix)
                    and not SKIP.search(href) and url_pattern(parts.path) not in seen):
                queue.append(href.split("#")[0])
    return seen


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_every_portal_page_passes_axe(open_page, demo_server, viewport):
    page = open_page(viewport)
    watch = page.console
    base, titles = demo_server.url, {}
    for path in ("/client/login", "/client/password/reset"):
        page.goto(base + path)
        check_page(page, viewport, titles)
    support.log_in(page, base)
    seen = crawl(page, base, base + "/client/invoices", "/client/",
                 lambda p: check_page(p, viewport, titles))
    # A record page of each kind, every tab of the bar.
    for route in ("/client/invoices/<id>", "/client/quotes/<id>", "/client/credits/<id>",
                  "/client/payments/<id>", "/client/recurring_invoices/<id>",
                  "/client/statement", "/client/profile",
                  "/client/documents", "/client/payment_methods"):
        assert route in seen
    # The payment screen and adding a card are reached by forms, not links.
    for path in ("/client/invoices/payment?all=1", "/client/payment_methods/create"):
        page.goto(base + path)
        check_page(page, viewport, titles)
    assert console_errors(watch) == []


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_every_back_office_page_passes_axe(open_page, demo_server, viewport):
    page = open_page(viewport)
    watch = page.console
    base, titles = demo_server.url, {}
    page.goto(base + "/admin/login")
    check_page(page, viewport, titles)
    page.fill("input[name=email]", demo.STAFF[0])
    page.fill("input[name=password]", demo.STAFF[1])
    page.get_by_role("button", name=re.compile("Log in")).click()
    page.wait_for_url(re.compile(r".*/admin/(?!login).*"))
    seen = crawl(page, base, base + "/admin/invoices", "/admin/",
                 lambda p: check_page(p, viewport, titles))
    assert {"/admin/clients/<id>", "/admin/invoices/<id>/edit", "/admin/settings",
            "/admin/payments/new"} <= seen
    assert console_errors(watch) == []


def focused(page):
    return page.evaluate("(() => { const e = document.activeElement;"
                         " return e ? e.tagName + ' ' + (e.textContent || '').trim() : ''; })()")


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_keyboard_menu_htmx_swaps_titles_focus_and_errors(open_page, demo_server, viewport):
    page = open_page(viewport)
    watch = page.console
    base = demo_server.url
    support.log_in(page, base)
    company = page.title().split(" · ", 1)[1]
    assert page.title() == f"Invoices · {company}"

    # The skip link is the first stop of the keyboard and lands in <main>.
    page.keyboard.press("Tab")
    assert focused(page) == "A Skip to content"
    page.keyboard.press("Enter")
    # The jump is the browser's own and can land a moment after the key is pressed.
    expect(page).to_have_url(re.compile(r".*#main$"))

    # The phone menu, opened.
    nav = support.open_menu(page, viewport)
    support.assert_accessible(page)

    # A tab switched by htmx: its own title, the focus on its heading, at the top.
    nav.get_by_role("link", name="Payments", exact=True).click()
    expect(page).to_have_title(f"Payments · {company}")
    expect(page.locator("#main h1")).to_be_focused()
    support.assert_accessible(page)

    # A record opened from the bottom of a long list starts at its top (not scrolled to
    # where the list was) and announces itself.
    nav = support.open_menu(page, viewport)
    nav.get_by_role("link", name="Invoices", exact=True).click()
    expect(page).to_have_title(f"Invoices · {company}")
    last = page.locator("#main table.records tbody tr a.row-link").last
    number = last.inner_text()
    last.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 0
    last.click()
    expect(page).to_have_title(f"Invoice {number} · {company}")
    expect(page.locator("#main h1")).to_be_focused()
    assert page.evaluate("window.scrollY") == 0
    heading_box = page.locator("#main h1").bounding_box()
    header_box = page.locator("header.topbar").bounding_box()
    assert heading_box["y"] >= header_box["y"] + header_box["height"]  # not under the header
    support.assert_accessible(page)

    # Back after tab switches: the page and its title come back with no CSP error
    # (htmx's own indicator styles would be refused inline styles).
    page.go_back()
    expect(page).to_have_title(f"Invoices · {company}")
    page.go_back()
    expect(page).to_have_title(f"Payments · {company}")
    page.go_forward()
    page.go_forward()
    expect(page).to_have_title(f"Invoice {number} · {company}")
    assert console_errors(watch) == []

    # A form showing an error: the statement refuses a period that ends before it starts.
    page.goto(base + "/client/statement")
    page.fill("input[name=start_date]", "2025-12-31")
    page.fill("input[name=end_date]", "2025-01-01")
    with page.expect_response(lambda r: r.status == 422):
        page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_contain_text("start date")
    expect(page.locator("input[name=start_date]")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Show")).to_be_focused()
    support.assert_accessible(page)
    assert console_errors(watch, allow_422=True) == []


def test_search_keeps_focus_and_typed_text_across_its_swap(open_page, demo_server):
    page = open_page("desktop")
    watch = page.console
    support.log_in(page, demo_server.url)
    search = page.get_by_role("searchbox", name="Search")
    search.click()
    # Type, pause until the search goes out, and type on while its answer arrives: the
    # keyboard types into whatever has the focus, as a person's would.
    with page.expect_request(lambda r: "q=INV" in r.url):
        page.keyboard.type("INV")
    page.keyboard.type("-0001", delay=60)
    page.wait_for_url(re.compile(r".*q=INV-0001.*"))
    expect(page.locator("#invoice-results tbody tr").first).to_contain_text("INV-0001")
    expect(search).to_be_focused()
    expect(search).to_have_value("INV-0001")

    # Sorting by a column keeps the focus on its header link and the phone's sort menu
    # in step; aria-sort sits on the column header.
    with page.expect_response(lambda r: "sort=-total" in r.url):
        page.locator("#sort-total").click()
    expect(page.locator("th[aria-sort] #sort-total")).to_be_visible()
    expect(page.locator("#sort-total")).to_be_focused()
    expect(page.locator("#invoice-sort")).to_have_value("-total")

    # A filter swaps the results too, and the focus stays on it.
    status = page.locator("#main select[name=status]")
    status.focus()
    with page.expect_response(lambda r: "status=paid" in r.url):
        status.select_option("paid")
    expect(status).to_be_focused()
    expect(search).to_have_value("INV-0001")
    expect(page.locator("#invoice-results")).to_contain_text(
        re.compile(r"Paid|No invoices match “INV-0001” among paid invoices"))
    for row in page.locator("#invoice-results tbody tr").all():
        expect(row).to_contain_text("Paid")

    # The quotes' filter swaps the whole tab; htmx puts the focus back on it by its id.
    page.goto(demo_server.url + "/client/quotes")
    quote_status = page.locator("#quote-status")
    quote_status.focus()
    value = quote_status.locator("option").nth(1).get_attribute("value")
    with page.expect_response(lambda r: f"status={value}" in r.url):
        quote_status.select_option(value)
    expect(page.locator("#quote-status")).to_be_focused()
    expect(page.locator("#quote-status")).to_have_value(value)

    # The statement form: showing a period keeps the focus on its button.
    page.goto(demo_server.url + "/client/statement")
    page.fill("input[name=start_date]", "2024-01-01")
    page.get_by_role("button", name="Show").focus()
    with page.expect_response(lambda r: "start_date=2024-01-01" in r.url):
        page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Show")).to_be_focused()
    expect(page.locator("input[name=start_date]")).to_have_value("2024-01-01")
    expect(page.locator("#statement-results")).to_contain_text("Closing balance")
    assert console_errors(watch) == []


KEY_PAGES = ("/client/invoices", "/client/invoices/<first>", "/client/invoices/payment?all=1",
             "/client/statement", "/client/payments", "/client/quotes", "/client/profile",
             "/client/payment_methods/create")


@pytest.mark.parametrize("zoom", ["320px", "200% text"])
def test_no_sideways_scroll_at_320px_or_200_percent_text(open_page, demo_server, zoom):
    width = 320 if zoom == "320px" else support.DESKTOP["width"] // 2
    page = open_page({"width": width, "height": 700})
    wide = []

    def check(path):
        if zoom != "320px":
            # Text zoom: every size is in rem, so the root font size scales the page.
            page.evaluate("document.documentElement.style.fontSize = '200%'")
        if not no_sideways_scroll(page):
            wide.append((path, page.evaluate("document.documentElement.scrollWidth")))

    page.goto(demo_server.url + "/client/login")
    check("/client/login")
    support.log_in(page, demo_server.url)
    first = page.locator("#main a.row-link").first.get_attribute("href")
    for path in KEY_PAGES:
        page.goto(demo_server.url + path.replace("/client/invoices/<first>", first))
        check(path)
    assert wide == []


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_tap_targets_and_focus_clear_of_the_sticky_header(open_page, demo_server, viewport):
    page = open_page(viewport)
    watch = page.console
    base = demo_server.url
    page.goto(base + "/client/login")
    assert page.get_by_role("link", name="Forgot your password?").bounding_box()["height"] >= 44
    support.log_in(page, base)
    # Focus moved to an element is never under the sticky header: the page keeps that much
    # room at its top when it scrolls something into view.
    room = page.evaluate("parseFloat(getComputedStyle(document.documentElement)"
                         ".scrollPaddingTop)")
    assert room >= page.locator("header.topbar").bounding_box()["height"]
    row = page.locator("#main table.records tbody tr").nth(3)
    link = row.locator("a.row-link")
    number = link.inner_text()
    if viewport == "phone":
        # The whole card opens the record, not only its 19 px number.
        row.scroll_into_view_if_needed()
        assert row.bounding_box()["height"] >= 44
        date_cell = row.locator("td[data-label=Date]").bounding_box()
        page.mouse.click(date_cell["x"] + date_cell["width"] / 2,
                         date_cell["y"] + date_cell["height"] / 2)
    else:
        link.click()
    expect(page.locator("#main h1")).to_contain_text(f"Invoice {number}")
    assert page.locator("p.crumbs a").bounding_box()["height"] >= 44
    assert console_errors(watch) == []
