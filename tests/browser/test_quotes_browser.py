"""A contact approves a quote on a phone and lands on the invoice it became."""
import re

import pytest

import models
from tests import factories
from tests.browser import support
from tests.core_support import opened
from tests.quotes_support import quote

pytestmark = pytest.mark.browser
SHOTS = "/tmp/quotes-browser"


def seed(app, **company):
    with opened(app):
        factories.company(**company)
        client = factories.client(name="Phone Buyer Ltd")
        factories.contact(client, email="phone@buyer.example", first_name="Sam")
        q = quote(client, notes="Includes two revision rounds.")
    return q


def converted(app, q):
    with opened(app):
        fresh = models.Quote.get_by_id(q.id)
        invoice = fresh.invoice
    return fresh, invoice


def assert_fits_phone(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= support.PHONE["width"], f"page is {width}px wide on a 375px phone"


def test_approve_then_land_on_invoice_at_phone_width(app, live_server, phone):
    q = seed(app)
    phone.on("dialog", lambda dialog: dialog.accept())  # the data-confirm before approving
    support.log_in(phone, live_server, "phone@buyer.example", factories.PASSWORD)
    phone.click("button.menu-button")
    phone.click("nav.tabs a[data-tab=quotes]")
    phone.wait_for_url(f"{live_server}/client/quotes")
    phone.click(f"text={q.number}")
    phone.wait_for_url(re.compile(rf".*/client/quotes/{q.public_id}$"))
    phone.wait_for_selector("#approve-button")
    assert_fits_phone(phone)
    assert not phone.locator("[data-signature-pad]").count()

    phone.click("#approve-button")
    phone.wait_for_url(re.compile(r".*/client/invoices/payment\?invoices=[^&]+$"))
    fresh, invoice = converted(app, q)
    assert fresh.status == "converted" and invoice.total == q.total
    assert phone.url.endswith(f"/client/invoices/payment?invoices={invoice.public_id}")
    body = phone.inner_text("main")
    assert "Pay invoice" in body and invoice.number in body and "ready to pay" in body
    assert_fits_phone(phone)
    phone.screenshot(path=f"{SHOTS}-plain.png", full_page=True)
    assert phone.console.errors == []


def test_required_signature_at_phone_width(app, live_server, phone):
    q = seed(app, quote_requires_signature=True, quote_requires_terms=True,
             quote_terms="Work starts after approval.")
    phone.on("dialog", lambda dialog: dialog.accept())  # the data-confirm before approving
    support.log_in(phone, live_server, "phone@buyer.example", factories.PASSWORD)
    phone.goto(f"{live_server}/client/quotes/{q.public_id}")
    phone.wait_for_selector("canvas")
    assert_fits_phone(phone)
    phone.check("input[name=accept_terms]")

    # No signature yet: the page refuses before any request and says why.
    phone.click("#approve-button")
    phone.wait_for_selector(".signature-pad.invalid")
    assert "signature is needed" in phone.inner_text(".signature-pad")
    assert converted(app, q)[0].status == "sent"

    support.draw_signature(phone)
    assert phone.input_value("input[name=signature]").startswith("data:image/png;base64,")
    phone.screenshot(path=f"{SHOTS}-signed.png", full_page=True)
    phone.click("#approve-button")
    phone.wait_for_url(re.compile(r".*/client/invoices/payment\?invoices=[^&]+$"))
    fresh, invoice = converted(app, q)
    assert fresh.status == "converted" and fresh.signature.startswith("data:image/png;base64,")
    assert len(fresh.signature) > 500  # strokes, not an empty canvas
    assert phone.url.endswith(f"/client/invoices/payment?invoices={invoice.public_id}")
    phone.screenshot(path=f"{SHOTS}-landed.png", full_page=True)

    # The signature shows on the quote page, as the contact signed it.
    phone.goto(f"{live_server}/client/quotes/{q.public_id}")
    assert phone.locator("img.signature").count() == 1
    assert "terms accepted" in phone.inner_text("main")
    pdf = phone.request.get(f"{live_server}/client/quotes/{q.public_id}/pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    with open(f"{SHOTS}-signed.pdf", "wb") as f:
        f.write(pdf.body())
    assert phone.console.errors == []
