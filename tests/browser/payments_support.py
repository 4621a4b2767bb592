"""Browser fixtures for the payment flows: the app under waitress; Chromium is the shared
`browser` fixture of tests/browser/conftest.py."""
import threading

import pytest
import waitress

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 375, "height": 812}


@pytest.fixture
def live_server(app):
    """The test app served by waitress on a free loopback port; yields its base URL."""
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4,
                                    ident="portal-test")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(10)
    assert not thread.is_alive(), "the test server did not stop"


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def log_in(page, base, email, password):
    page.goto(base + "/client/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form button")
    page.wait_for_url("**/client/invoices")
