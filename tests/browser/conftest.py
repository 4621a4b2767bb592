"""Fixtures for tests/browser: one live portal and one Chromium for the whole package."""
import os

import pytest
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
