"""Browser test support: a live portal served by waitress, Chromium, screenshots, recorders."""
import os
import re
import tempfile
import threading

import waitress

import demo
import models
from billing import invoices
from portal import create_app
from tests import factories
from tests.conftest import TEST_DB, reset_database
from tests.core_support import opened

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 375, "height": 800}
DESKTOP = {"width": 1280, "height": 800}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
CONTACT = "ap@northwind.example"  # demo client with invoices in every state
EXTRA_INVOICES = 30  # more than a page, so the pager shows


class LiveServer:
    """The portal on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, instance_path):
        self.app = create_app({
            "TESTING": True,
            "DATABASE_URL": TEST_DB or f"sqlite:///{instance_path}/portal.sqlite3",
            "OUTBOX_PATH": os.path.join(instance_path, "outbox"),
            "UPLOAD_PATH": os.path.join(instance_path, "uploads"),
            "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "browser-test-secret",
        })
        self.database = models.db.obj
        self.server = waitress.create_server(self.app, host="127.0.0.1", port=0, threads=4,
                                             ident="portal-test")
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def seed(self):
        with opened(self.app):
            reset_database()
            demo.seed()
            client = models.Contact.get(models.Contact.email == CONTACT).client
            for n in range(EXTRA_INVOICES):
                invoice = factories.invoice(client, date=models.utcnow().date().replace(day=1))
                if n % 3:
                    invoices.mark_paid(invoice)

    def seeded(self):
        with self.app.app_context():
            models.db.connect(reuse_if_open=True)
            try:
                return models.Contact.select().where(models.Contact.email == CONTACT).exists()
            except Exception:  # noqa: BLE001 - tables dropped by another test's reset
                return False
            finally:
                models.db.close()

    def use(self):
        """Point the shared database proxy back at this server's database.

        models.db is process-wide and other tests' apps re-initialise it."""
        models.db.initialize(self.database)

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.close()
        self.server.task_dispatcher.shutdown()


def open_menu(page, viewport):
    """On a phone the navigation hides behind the menu button (portal and back office alike);
    on a desktop it shows. Returns the navigation."""
    from playwright.sync_api import expect
    nav = page.locator("nav.tabs")
    if viewport == "phone":
        # A swap still settling closes the menu when it settles (portal.js): open it after.
        wait_for_htmx_to_settle(page)
        expect(nav).to_be_hidden()
        button = page.locator("button.menu-button")
        expect(button).to_have_attribute("aria-expanded", "false")
        button.click()
        expect(button).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    return nav


def wait_for_htmx_to_settle(page):
    """No htmx request in flight and no swap still settling (htmx marks both with classes,
    and drops the settling one in the same task that fires htmx:afterSettle)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def fits_width(page):
    """Nothing scrolls sideways: the page is no wider than the window (one pixel of rounding
    allowed)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def click_and_settle(page, target):
    """Click a boosted link or form button and wait until htmx has swapped the answer in and
    settled it. Neither the old page's headings nor Playwright's load events say that much:
    a select changed before htmx has wired the new content sends no request."""
    page.evaluate("""() => { window.htmxSettled = false;
        document.addEventListener('htmx:afterSettle', () => { window.htmxSettled = true },
                                  {once: true}); }""")
    target.click()
    page.wait_for_function("() => window.htmxSettled === true")


def screenshot_dir():
    """Outside the repository: screenshots are for looking at, not for committing."""
    return os.environ.get("PORTAL_SCREENSHOT_DIR") or os.path.join(
        tempfile.gettempdir(), "portal-browser-screens")


class Shots:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        os.makedirs(folder, exist_ok=True)

    def __call__(self, page, name):
        self.count += 1
        path = os.path.join(self.folder, f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', name)}.png")
        # caret="hide" (the default) injects a <style>, which our CSP rightly refuses.
        page.screenshot(path=path, full_page=True, caret="initial")
        return path


class Recorder:
    """Requests a page made, with their transfer sizes once finished."""

    def __init__(self, page):
        self.requests = []
        self.finished = []
        page.on("request", lambda request: self.requests.append(request))
        page.on("requestfinished", lambda request: self.finished.append(request))

    def clear(self):
        self.requests.clear()
        self.finished.clear()

    def matching(self, path):
        return [r for r in self.requests if r.url.split("?")[0].endswith(path)]

    def transferred(self):
        """(body bytes as sent on the wire, header bytes) over the finished requests."""
        body = headers = 0
        for request in self.finished:
            sizes = request.sizes()
            body += sizes["responseBodySize"]
            headers += sizes["responseHeadersSize"]
        return body, headers


class ConsoleWatch:
    """Console errors, page errors and CSP violations seen while a page is open."""

    SCRIPT = ("document.addEventListener('securitypolicyviolation', function (e) {"
              " window.__reportCsp([e.violatedDirective, e.blockedURI, e.sourceFile, e.lineNumber,"
              " e.sample].join(' ')); });")

    def __init__(self, page):
        self.errors = []
        self.csp = []
        self.provoked = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.expose_function("__reportCsp", lambda text: self.csp.append(text))
        page.add_init_script(self.SCRIPT)

    def unexpected(self):
        """Errors a test did not provoke: the browser also logs every 4xx answer (a form
        refused with 422, say) as a console error, and the test checks those answers itself."""
        return [error for error in self.errors
                if not re.search(r"the server responded with a status of 4\d\d", error)
                and not any(re.search(pattern, error) for pattern in self.provoked)
                ] + self.csp

    def provoke(self, pattern):
        """A test that makes a request fail on purpose: errors matching `pattern` are its
        doing (and it checks what the person saw), so they do not fail it."""
        self.provoked.append(pattern)

    def _console(self, message):
        if message.type == "error":
            where = message.location
            self.errors.append(f"{message.text} at {where.get('url')}:{where.get('lineNumber')}")
            if "Content Security Policy" in message.text:
                self.csp.append(message.text)


def log_in_staff(page, base_url, email=demo.STAFF[0], password=demo.STAFF[1], then=None):
    """Log in to the back office, landing on `then` (a path) or its first page."""
    page.goto(base_url + "/admin/login" + (f"?next={then}" if then else ""))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(".*" + re.escape(then or "/admin/invoices") + "$"))


def log_in(page, base_url, email=CONTACT, password=demo.PASSWORD):
    page.goto(base_url + "/client/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r".*/client/invoices$"))


# axe-core (npm package, vendored with its licence); version in the file name.
AXE = os.path.join(os.path.dirname(__file__), "vendor", "axe-4.14.1.min.js")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_violations(page):
    """axe-core's WCAG 2.x A/AA violations on the page as it is now, one line each.

    Evaluated through the DevTools protocol, which our CSP does not govern: add_script_tag
    makes an inline <script>, which the CSP rightly refuses (and bypass_csp would hide the
    CSP errors the console check is there to catch). An htmx swap keeps it loaded."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    results = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
                            " resultTypes: ['violations']})", AXE_TAGS)
    lines = []
    for violation in results["violations"]:
        for node in violation["nodes"]:
            lines.append(f"{violation['id']} ({violation['impact']}): {', '.join(node['target'])}"
                         f" — {node['failureSummary'].splitlines()[-1].strip()}"
                         f" — {node['html'][:160]}")
    return lines


def assert_accessible(page, where=""):
    """Fail listing every axe-core violation of WCAG 2.x A/AA on the page as it is now."""
    lines = axe_violations(page)
    assert not lines, f"axe violations on {where or page.url}:\n" + "\n".join(lines)


_axe_source = []


def axe_source():
    if not _axe_source:
        with open(AXE, encoding="utf-8") as file:
            _axe_source.append(file.read())
    return _axe_source[0]


def draw_signature(page, selector="canvas"):
    """Sign a signature pad with the mouse: a zig-zag across the canvas."""
    box = page.locator(selector).bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.1, y + h * 0.7)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x + w * (0.1 + 0.04 * step), y + h * (0.7 - 0.4 * (step % 2)), steps=3)
    page.mouse.up()
