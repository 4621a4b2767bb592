"""Fixtures for tests/browser: one live portal and one Chromium for the whole package, and
a test's own app served live with a phone or desktop page."""
import os
import threading

import pytest
import waitress
from playwright.sync_api import sync_playwright

from tests.browser import support


@pytest.fixture(scope="package")
def _demo_server(tmp_path_factory):
    server = support.LiveServer(str(tmp_path_factory.mktemp("browser-instance")))
    server.seed()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def demo_server(_demo_server):
    """The demo portal, its database made current (other tests' apps re-point models.db).

    On PostgreSQL every test shares one database, which other tests' apps reset: seed the
    demo again when it is gone."""
    _demo_server.use()
    if not _demo_server.seeded():
        _demo_server.seed()
    return _demo_server


@pytest.fixture(scope="session")
def browser():
    """One Chromium for every browser test: Playwright's sync API allows one driver a process."""
    if not os.path.exists(support.CHROMIUM):
        pytest.fail(f"{support.CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=support.CHROMIUM, headless=True,
                                             args=support.CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(request):
    name = request.node.name.replace("[", "-").replace("]", "")
    return support.Shots(os.path.join(support.screenshot_dir(), name))


@pytest.fixture
def live_server(app):
    """This test's app served by waitress on a free loopback port; yields its base URL."""
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4,
                                    ident="portal-test")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(10)
    assert not thread.is_alive(), "the test server did not stop"


def _page(browser, **context_options):
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.console = support.ConsoleWatch(page)
    return context, page


def _close(context, page):
    context.close()
    # Any script error, console error or CSP violation on the way fails the test.
    assert page.console.unexpected() == []


@pytest.fixture
def phone(browser):
    """A 375 px touch page."""
    context, page = _page(browser, viewport=support.PHONE, device_scale_factor=2,
                          is_mobile=True, has_touch=True)
    yield page
    _close(context, page)


@pytest.fixture
def desktop(browser):
    context, page = _page(browser, viewport=support.DESKTOP)
    yield page
    _close(context, page)


@pytest.fixture
def open_page(browser):
    """Pages of their own (each its own context: its own cookies, so its own person), for a
    test that needs a width it is parametrized with, several people at once, or context
    options (no JavaScript, downloads): open_page("phone" | "desktop" | {size}, **options).
    Each fails its test on a console error or CSP violation, as `phone` and `desktop` do."""
    opened = []

    def open_(viewport="phone", **options):
        size = support.VIEWPORTS[viewport] if isinstance(viewport, str) else viewport
        context, page = _page(browser, viewport=size, **options)
        opened.append((context, page))
        return page

    yield open_
    for context, page in opened:
        _close(context, page)
