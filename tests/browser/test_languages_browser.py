"""The portal in German, French and Spanish on a phone: login → invoices → invoice → pay page,
the language picked with the keyboard on the login page; axe-core on every page."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser import support

pytestmark = pytest.mark.browser

# (language link, log-in button, Invoices heading, word on an invoice page, pay page heading)
LANGUAGES = {
    "de": ("Deutsch", "Anmelden", "Rechnungen", "PDF herunterladen", "Rechnung bezahlen"),
    "fr": ("Français", "Se connecter", "Factures", "Télécharger le PDF", "Payer la facture"),
    "es": ("Español", "Iniciar sesión", "Facturas", "Descargar PDF", "Pagar la factura"),
}
# What portal.js says when a page has gone, and when the network is down.
SCRIPT_MESSAGES = {
    "de": ("Diese Seite gibt es nicht mehr.",
           "Sie scheinen offline zu sein. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut."),
    "fr": ("Cette page n’existe plus.",
           "Vous semblez être hors ligne. Vérifiez votre connexion et réessayez."),
    "es": ("Esa página ya no existe.",
           "Parece que no tiene conexión. Compruebe su conexión e inténtelo de nuevo."),
}



def ask(page, path):
    """An htmx request for #main, as a tab link makes (its promise rejects on a failure)."""
    page.evaluate("path => { htmx.ajax('GET', path, '#main').catch(() => {}); }", path)


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_a_contact_pays_in_their_language_on_a_phone(open_page, demo_server, shots, lang):
    link, log_in, invoices, download, pay = LANGUAGES[lang]
    page = open_page("phone")
    base = demo_server.url

    page.goto(base + "/client/login")
    # The picker is plain links: reach one with the keyboard and follow it.
    picker = page.get_by_role("navigation", name="Language")
    picker.get_by_role("link", name=link, exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/client/login\?lang={lang}$"))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_role("button", name=log_in, exact=True)).to_be_visible()
    shots(page, f"login {lang}")
    support.assert_accessible(page, f"login ({lang})")

    page.fill("input[name=email]", support.CONTACT)
    page.fill("input[name=password]", support.demo.PASSWORD)
    page.get_by_role("button", name=log_in, exact=True).click()
    page.wait_for_url(re.compile(r".*/client/invoices$"))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("#main h1")).to_have_text(invoices)
    assert page.evaluate("document.documentElement.scrollWidth") <= support.PHONE["width"]
    shots(page, f"invoices {lang}")
    support.assert_accessible(page, f"invoices ({lang})")

    # A payable invoice: its row has the "select to pay" box.
    row = page.locator("table.records tbody tr").filter(
        has=page.locator("input[name=invoices]")).first
    number = row.locator("a.row-link").inner_text()
    row.locator("a.row-link").click()
    page.wait_for_url(re.compile(r".*/client/invoices/[\w-]+$"))
    expect(page.locator("#main h1")).to_contain_text(number)
    expect(page.get_by_text(download, exact=True)).to_be_visible()
    shots(page, f"invoice {lang}")
    support.assert_accessible(page, f"invoice ({lang})")

    page.locator("#main form[action$='/client/invoices/payment'] button").click()
    expect(page.locator("#main h1")).to_have_text(pay)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    assert page.evaluate("document.documentElement.scrollWidth") <= support.PHONE["width"]
    shots(page, f"pay {lang}")
    support.assert_accessible(page, f"pay page ({lang})")

    # The page's script speaks the language too: a page gone, then the network down.
    gone, offline = SCRIPT_MESSAGES[lang]
    page.console.provoke(r"/client/(invoices/no-such-invoice|quotes)\b|ERR_FAILED"
                         r"|^htmx:(afterRequest|sendError|responseError),")
    ask(page, "/client/invoices/no-such-invoice")
    expect(page.locator("#toast")).to_have_text(gone)
    page.route("**/client/quotes", lambda route: route.abort())
    ask(page, "/client/quotes")
    expect(page.locator("#toast")).to_have_text(offline)
    expect(page.locator("#main h1")).to_have_text(pay)  # neither failure swapped anything
