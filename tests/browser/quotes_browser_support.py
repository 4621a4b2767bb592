"""A live portal (waitress in a thread, free port) and headless Debian Chromium for the
quote browser tests; Chromium itself is the shared `browser` fixture (conftest.py)."""
import threading

import pytest
from waitress.server import create_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def live_url(app):
    """The test app served by waitress on 127.0.0.1 and a port the OS picked."""
    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="portal-test")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(10)
    assert not thread.is_alive(), "the test server did not stop"


@pytest.fixture
def phone(browser):
    """A 375px-wide touch page that records CSP violations and script errors."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, has_touch=True)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(m.text)
            if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("dialog", lambda d: d.accept())  # the data-confirm before approving
    yield page
    context.close()


def log_in(page, base, email, password):
    page.goto(f"{base}/client/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/client/invoices")


def draw_signature(page, selector="canvas"):
    box = page.locator(selector).bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.1, y + h * 0.7)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x + w * (0.1 + 0.04 * step), y + h * (0.7 - 0.4 * (step % 2)), steps=3)
    page.mouse.up()
