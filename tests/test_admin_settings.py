"""The back office's settings page: every setting changed through its form reaches the
portal, and every bad input is refused with a message and changes nothing."""
import base64
import datetime as dt
import io
import re
import subprocess

import pytest

import models
from billing.accounts import wait_for_queued_resets
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import alert, login_staff, opened, snapshot
from tests.payments_support import pay, save_card
from tests.quotes_support import png_data_url
from tests.quotes_support import quote as make_quote

PNG = base64.b64decode(png_data_url(8, 8).split(",", 1)[1])
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200

DEFAULTS = {
    "profile": {"name": "Test Studio", "email": "billing@test.example", "address": "",
                "phone": "", "vat_number": ""},
    "branding": {"brand_color": "#1f5fbf"},
    "regional": {"currency": "USD", "locale": "en_US", "timezone": "UTC"},
    "modules": {"modules": ["invoices", "recurring_invoices", "payments", "quotes", "credits",
                            "payment_methods", "documents", "statement", "subscriptions",
                            "pre_payment"]},
    "portal": {"portal_login_enabled": "1", "reg_client_name": "required",
               "reg_first_name": "optional", "reg_last_name": "optional", "reg_phone": "hidden",
               "reg_address": "hidden", "reg_vat_number": "hidden"},
    "payments": {"minimum_prepayment": "", "minimum_partial_payment": ""},
    "quotes": {},
    "invitations": {"invitation_ttl_days": "90"},
}

TAB_PATHS = {
    "invoices": "/client/invoices", "recurring_invoices": "/client/recurring_invoices",
    "payments": "/client/payments", "quotes": "/client/quotes", "credits": "/client/credits",
    "payment_methods": "/client/payment_methods", "documents": "/client/documents",
    "statement": "/client/statement", "subscriptions": "/client/subscriptions",
    "pre_payment": "/client/pre_payment",
}


@pytest.fixture
def staff(app):
    """A second browser, logged in to the back office (the contact uses `client`)."""
    with opened(app):
        factories.staff("boss@test.example")
    http = app.test_client()
    assert login_staff(http, "boss@test.example").status_code == 302
    return http


def save(staff, section, files=None, **fields):
    data = {"csrf_token": csrf_token(staff, "/admin/settings"), **DEFAULTS[section], **fields}
    data = {k: v for k, v in data.items() if v is not None}
    if files:
        data.update(files)
        return staff.post(f"/admin/settings/{section}", data=data,
                          content_type="multipart/form-data")
    return staff.post(f"/admin/settings/{section}", data=data)


def saved(response):
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response


def company():
    return models.Company.current()


def text(response):
    return response.get_data(as_text=True)


def pdf_text(data):
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


def pdf_images(data, tmp_path):
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True,
                             check=True).stdout.decode()
    return [row for row in listing.splitlines()[2:] if row.split()[2] == "image"]


def email_invoice(staff, invoice):
    token = csrf_token(staff, "/admin/invoices")
    response = staff.post(f"/admin/invoices/{invoice.id}/email", data={"csrf_token": token})
    assert response.status_code in (302, 303)
    return models.EmailMessage.select().order_by(models.EmailMessage.id.desc()).first()


def refused(response, message, before, status=422):
    body = text(response)
    assert response.status_code == status, body[:2000]
    assert message in body
    assert snapshot() == before


# ---------------------------------------------------------------- the page itself

def test_settings_need_a_staff_login(app, client, world, conn):
    assert client.get("/admin/settings").headers["Location"].startswith("/admin/login")
    before = snapshot()
    token = csrf_token(client, "/client/login")
    response = client.post("/admin/settings/profile", data={"csrf_token": token,
                                                            "name": "Hijacked"})
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    # A contact's session is not a staff one.
    client.post("/client/login", data={"email": "a1@alpha.example",
                                       "password": factories.PASSWORD,
                                       "csrf_token": csrf_token(client)})
    assert client.get("/admin/settings").status_code == 302
    assert client.post("/admin/settings/profile", data={
        "csrf_token": csrf_token(client, "/client/profile"), "name": "Hijacked"}
    ).status_code == 302
    assert snapshot()["Company"] == before["Company"]


def test_page_shows_each_section_as_its_own_form(staff, conn):
    page = staff.get("/admin/settings")
    html = text(page)
    assert page.status_code == 200 and html.count("<h1") == 1
    for section in DEFAULTS:
        assert f'action="/admin/settings/{section}"' in html
    assert html.count('name="csrf_token"') >= len(DEFAULTS)
    assert 'href="/admin/settings">Settings</a>' in html
    # Each field shows what is saved now (the defaults on a fresh instance).
    for shown in ('name="name" required maxlength="200" value="Test Studio"',
                  'name="brand_color" value="#1f5fbf"',
                  'name="timezone" maxlength="64" value="UTC"',
                  'name="invitation_ttl_days" inputmode="numeric" value="90"',
                  'value="invoices" checked', '<option value="required" selected>'):
        assert shown in html
    assert 'name="allow_partial_payments" value="1" checked' not in html
    assert staff.post("/admin/settings/bogus", data={
        "csrf_token": csrf_token(staff, "/admin/settings")}).status_code == 404


def test_missing_csrf_token_is_refused(staff, conn):
    before = snapshot()
    response = staff.post("/admin/settings/profile", data={"name": "No token"})
    assert response.status_code == 400
    assert snapshot() == before


def test_a_save_is_logged_and_leaves_other_sections_alone(staff, conn):
    saved(save(staff, "regional", currency="EUR"))
    saved(save(staff, "profile", name="New Name"))
    c = company()
    assert (c.name, c.currency) == ("New Name", "EUR")
    actions = [a.action for a in models.Activity.select().order_by(models.Activity.id)]
    assert "settings.regional_saved" in actions and "settings.profile_saved" in actions
    logged = models.Activity.get(models.Activity.action == "settings.profile_saved")
    assert logged.staff.email == "boss@test.example"


def test_a_refusal_keeps_what_was_typed_and_marks_the_field(staff, conn):
    response = save(staff, "invitations", invitation_ttl_days="0")
    html = text(response)
    assert response.status_code == 422
    assert 'value="0"' in html
    assert 'aria-invalid="true" aria-describedby="err-invitation_ttl_days"' in html
    assert 'id="err-invitation_ttl_days" role="alert"' in html


# ---------------------------------------------------------------- company profile

def test_profile_reaches_the_portal_and_the_invoice_pdf(staff, client, auth, world, conn):
    saved(save(staff, "profile", name="Nordlicht Design", phone="+49 30 1234567",
               vat_number="DE123456789", address="Hauptstr. 1\n10115 Berlin",
               email="Billing@Nordlicht.example"))
    assert company().email == "billing@nordlicht.example"
    auth.login("a1@alpha.example")
    assert "Nordlicht Design" in text(client.get("/client/invoices"))
    invoice = world["invoices"]["sent"]
    response = client.get(f"/client/invoices/{invoice.public_id}/pdf")
    words = pdf_text(response.data)
    for expected in ("Nordlicht Design", "+49 30 1234567", "DE123456789", "10115 Berlin",
                     "billing@nordlicht.example"):
        assert expected in words


@pytest.mark.parametrize("fields, message", [
    ({"name": ""}, "Enter the business name."),
    ({"name": "x" * 201}, "at most 200 characters"),
    ({"email": "not-an-address"}, "is not a valid e-mail address"),
    ({"phone": "123\n456"}, "cannot contain line breaks"),
    ({"vat_number": "V" * 51}, "at most 50 characters"),
    ({"address": "a\x1bb"}, "cannot contain control characters"),
])
def test_bad_profile_is_refused(staff, conn, fields, message):
    before = snapshot()
    refused(save(staff, "profile", **fields), message, before)


# ---------------------------------------------------------------- logo and colour

def test_brand_colour_reaches_portal_css_emails_and_pdfs(staff, client, auth, world, conn):
    auth.login("a1@alpha.example")
    old_css = re.search(r'href="([^"]*brand\.css[^"]*)"', text(client.get("/client/invoices")))
    saved(save(staff, "branding", brand_color="#AA3300"))
    assert company().brand_color == "#aa3300"
    page = text(client.get("/client/invoices"))
    css_url = re.search(r'href="([^"]*brand\.css[^"]*)"', page).group(1)
    assert css_url != old_css.group(1)  # a new URL, so cached copies are not reused
    assert "--brand:#aa3300" in text(client.get(css_url))
    message = email_invoice(staff, world["invoices"]["draft"])
    assert "background:#aa3300" in message.body_html
    from flask import render_template

    from billing import documents
    with opened(client.application):
        inv = world["invoices"]["sent"]
        html = render_template("pdf/invoice.html", doc=inv, kind="Invoice", lines=[],
                               taxes=documents.tax_summary([]), client=inv.client,
                               company=company(), logo_src="")
    assert "solid #aa3300" in html


@pytest.mark.parametrize("color", ["red", "#12345", "#gggggg", "", "#1234567",
                                   "#123456;}body{x:y"])
def test_bad_colour_is_refused(staff, conn, color):
    before = snapshot()
    refused(save(staff, "branding", brand_color=color), "six hex digits", before)


def test_logo_upload_shows_in_portal_emails_and_pdfs(staff, client, auth, world, conn,
                                                      tmp_path):
    saved(save(staff, "branding", files={"logo": (io.BytesIO(PNG), "logo.png")}))
    name = company().logo_file
    assert re.fullmatch(r"logo-[0-9a-f]{16}-png", name)
    url = f"/client/logo?v={name}"
    # Before logging in too: the login page carries the logo.
    assert f'src="{url}"' in text(client.get("/client/login"))
    served = client.get(url)
    assert served.status_code == 200 and served.data == PNG
    assert served.headers["Content-Type"] == "image/png"
    assert "immutable" in served.headers["Cache-Control"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    # A stale version still gets today's logo, but nothing caches that answer for long.
    assert client.get("/client/logo?v=old").headers["Cache-Control"] == "no-cache"
    auth.login("a1@alpha.example")
    assert f'<img src="{url}"' in text(client.get("/client/invoices"))
    message = email_invoice(staff, world["invoices"]["draft"])
    assert f'src="http://portal.test{url}"' in message.body_html
    invoice = world["invoices"]["sent"]
    assert len(pdf_images(client.get(f"/client/invoices/{invoice.public_id}/pdf").data,
                          tmp_path)) == 1
    statement = client.get("/client/statement/pdf?start_date=2026-01-01&end_date=2026-12-31")
    assert len(pdf_images(statement.data, tmp_path)) == 1

    # A JPEG replaces it; then removing it takes it off every page.
    saved(save(staff, "branding", files={"logo": (io.BytesIO(JPEG), "logo.jpg")}))
    jpeg_url = f"/client/logo?v={company().logo_file}"
    assert client.get(jpeg_url).headers["Content-Type"] == "image/jpeg"
    assert client.get(url).data == JPEG  # the old URL no longer shows the old logo
    saved(save(staff, "branding", remove_logo="1"))
    assert company().logo_file == ""
    assert "/client/logo?" not in text(client.get("/client/invoices"))
    assert client.get(jpeg_url).status_code == 404
    assert pdf_images(client.get(f"/client/invoices/{invoice.public_id}/pdf").data,
                      tmp_path) == []


@pytest.mark.parametrize("data, filename, message", [
    (b"hello, not an image", "logo.png", "must be a PNG or JPEG"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.svg",
     "must be a PNG or JPEG"),
    (b"GIF89a" + b"\x00" * 20, "logo.gif", "must be a PNG or JPEG"),
    (PNG[:8] + b"\x00" * (512 * 1024), "big.png", "at most 512 KB"),
    (b"", "empty.png", "That file is empty."),
])
def test_bad_logo_is_refused(staff, conn, app, data, filename, message):
    before = snapshot()
    refused(save(staff, "branding", files={"logo": (io.BytesIO(data), filename)}), message,
            before)


# ---------------------------------------------------------------- currency, locale, zone

def test_currency_is_what_new_clients_get(staff, client, conn):
    saved(save(staff, "regional", currency="eur"))
    saved(save(staff, "portal", registration_enabled="1"))
    token = csrf_token(client, "/client/register")
    response = client.post("/client/register", data={
        "csrf_token": token, "client_name": "Euro GmbH", "email": "eu@example.com",
        "password": factories.PASSWORD, "confirm": factories.PASSWORD})
    assert response.status_code == 200, text(response)
    wait_for_queued_resets()
    assert models.Client.get(models.Client.name == "Euro GmbH").currency == "EUR"


def test_locale_changes_language_tag_and_number_format(staff, client, auth, world, conn):
    saved(save(staff, "regional", locale="de-DE"))
    assert company().locale == "de_DE"
    assert re.search(r'<html[^>]* lang="de">', text(client.get("/client/login")))
    auth.login("a1@alpha.example")  # the contact chose no locale: the company's applies
    assert "100,00\xa0$" in text(client.get("/client/invoices"))


def test_time_zone_decides_the_day_a_moment_falls_on(staff, client, auth, world, conn):
    q = make_quote(world["a"], status="sent")
    models.Quote.update(status="approved", approved_at=dt.datetime(2026, 3, 1, 23, 30)).where(
        models.Quote.id == q.id).execute()
    auth.login("a1@alpha.example")
    assert "Mar 1, 2026" in text(client.get(f"/client/quotes/{q.public_id}"))
    saved(save(staff, "regional", timezone="Pacific/Kiritimati"))  # UTC+14
    assert "Mar 2, 2026" in text(client.get(f"/client/quotes/{q.public_id}"))


@pytest.mark.parametrize("fields, message", [
    ({"currency": "XYZ"}, "Choose a currency"),
    ({"currency": "US"}, "Choose a currency"),
    ({"currency": ""}, "Choose a currency"),
    ({"locale": "xx_YY"}, "Choose a known language"),
    ({"locale": "de_DE;evil"}, "Choose a known language"),
    ({"locale": ""}, "Choose a known language"),
    ({"timezone": "Mars/Olympus_Mons"}, "Choose a time zone"),
    ({"timezone": "../../etc/passwd"}, "Choose a time zone"),
    ({"timezone": ""}, "Choose a time zone"),
])
def test_bad_regional_settings_are_refused(staff, conn, fields, message):
    before = snapshot()
    refused(save(staff, "regional", **fields), message, before)


# ---------------------------------------------------------------- portal modules

@pytest.mark.parametrize("key", list(TAB_PATHS))
def test_a_module_switched_off_leaves_the_portal(staff, client, auth, world, conn, key):
    saved(save(staff, "payments", prepayments_enabled="1"))  # Pre-Payment needs both
    auth.login("a1@alpha.example")
    assert client.get(TAB_PATHS[key]).status_code == 200
    assert f'data-tab="{key}"' in text(client.get("/client/profile"))
    others = [k for k in DEFAULTS["modules"]["modules"] if k != key]
    saved(save(staff, "modules", modules=others))
    assert not company().module_enabled(key)
    assert f'data-tab="{key}"' not in text(client.get("/client/profile"))
    assert client.get(TAB_PATHS[key]).status_code == 404
    saved(save(staff, "modules"))
    assert client.get(TAB_PATHS[key]).status_code == 200


def test_unknown_module_is_refused(staff, conn):
    before = snapshot()
    refused(save(staff, "modules", modules=["invoices", "casino"]), "Choose modules", before)


# ---------------------------------------------------------------- client portal access

def test_login_switched_off_refuses_passwords_but_links_still_open(staff, client, world,
                                                                     conn):
    with opened(client.application):
        key = models.Invitation.issue(world["a1"], 30, invoice=world["invoices"]["sent"])
    saved(save(staff, "portal", portal_login_enabled=None, registration_enabled="1"))
    assert company().portal_login_enabled is False
    page = client.get("/client/login")
    assert "switched off" in text(page) and 'name="password"' not in text(page)
    before = snapshot()
    response = client.post("/client/login", data={
        "csrf_token": csrf_token(client, "/admin/login"), "email": "a1@alpha.example",
        "password": factories.PASSWORD})
    assert response.status_code == 403 and "switched off" in alert(response)
    assert client.get("/client/invoices").status_code == 302  # not logged in
    assert snapshot() == before
    assert client.get("/client/password/reset").status_code == 404
    assert client.get("/client/register").status_code == 404
    opened_link = client.get(f"/client/invoice/{key}")
    assert opened_link.status_code == 302
    assert client.get("/client/invoices").status_code == 200
    saved(save(staff, "portal"))
    client.post("/client/logout", data={"csrf_token": csrf_token(client, "/client/profile")})
    response = client.post("/client/login", data={
        "csrf_token": csrf_token(client), "email": "a1@alpha.example",
        "password": factories.PASSWORD})
    assert response.status_code == 302


def test_links_can_ask_for_the_password(staff, client, world, conn):
    with opened(client.application):
        key = models.Invitation.issue(world["a1"], 30, invoice=world["invoices"]["sent"])
    saved(save(staff, "portal", require_invitation_password="1"))
    assert 'name="password"' in text(client.get(f"/client/invoice/{key}"))


def test_links_cannot_ask_for_a_password_nobody_can_use(staff, conn):
    before = snapshot()
    refused(save(staff, "portal", portal_login_enabled=None, require_invitation_password="1"),
            "only while portal login is on", before)


def test_registration_switch_and_field_rules(staff, client, conn):
    assert client.get("/client/register").status_code == 404
    assert "Create an account" not in text(client.get("/client/login"))
    saved(save(staff, "portal", registration_enabled="1", reg_phone="required",
               reg_client_name="hidden", reg_last_name="required", reg_address="optional"))
    assert "Create an account" in text(client.get("/client/login"))
    form = text(client.get("/client/register"))
    assert 'name="client_name"' not in form
    assert re.search(r'name="phone"[^>]*required', form)
    assert re.search(r'name="last_name"[^>]*required', form)
    assert "Address (optional)" in form
    data = {"csrf_token": csrf_token(client, "/client/register"), "first_name": "Ada",
            "last_name": "Lovelace", "email": "ada@example.com",
            "password": factories.PASSWORD, "confirm": factories.PASSWORD,
            "client_name": "Ignored Ltd"}
    before = snapshot()
    missing = client.post("/client/register", data=data)
    assert missing.status_code == 422 and "Enter your phone number." in text(missing)
    assert 'aria-describedby="err-phone"' in text(missing)
    assert snapshot() == before
    done = client.post("/client/register", data={**data, "phone": "+44 20 7946 0000"})
    assert done.status_code == 200
    wait_for_queued_resets()
    contact = models.Contact.get(models.Contact.email == "ada@example.com")
    assert contact.phone == "+44 20 7946 0000"
    assert contact.client.name == "Ada Lovelace"  # the business did not ask for one
    saved(save(staff, "portal"))
    assert client.get("/client/register").status_code == 404


@pytest.mark.parametrize("fields, message", [
    ({"reg_phone": "mandatory"}, "Choose whether Phone is required"),
    ({"reg_client_name": ""}, "Choose whether Company or your name is required"),
])
def test_bad_registration_rules_are_refused(staff, conn, fields, message):
    before = snapshot()
    refused(save(staff, "portal", **fields), message, before)


# ---------------------------------------------------------------- online payments

def test_partial_and_over_payment_settings_change_checkout(staff, client, auth, world,
                                                           demo_gateway, conn):
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    card = f"token:{models.GatewayToken.get().public_id}"
    sent = world["invoices"]["sent"]  # balance $100.00
    assert "must be paid in full" in text(pay(client, [sent], card, amounts={sent: "10.00"}))
    saved(save(staff, "payments", allow_partial_payments="1", minimum_partial_payment="20.00"))
    assert company().minimum_partial_payment == 2000
    below = pay(client, [sent], card, amounts={sent: "10.00"})
    assert below.status_code == 422 and "minimum payment is $20.00" in text(below)
    assert pay(client, [sent], card, amounts={sent: "25.00"}).status_code == 303
    over = pay(client, [sent], card, amounts={sent: "100.00"})
    assert over.status_code == 422 and "cannot pay more than that" in text(over)
    saved(save(staff, "payments", allow_partial_payments="1", allow_over_payment="1"))
    assert pay(client, [sent], card, amounts={sent: "100.00"}).status_code == 303
    assert models.Credit.get(models.Credit.reason == "overpayment").balance == 2500


def test_prepayment_switch_and_minimum(staff, client, auth, world, conn):
    auth.login("a1@alpha.example")
    assert 'data-tab="pre_payment"' not in text(client.get("/client/invoices"))
    assert client.get("/client/pre_payment").status_code == 404
    saved(save(staff, "payments", prepayments_enabled="1", minimum_prepayment="1,250.50"))
    assert company().minimum_prepayment == 125050
    assert 'data-tab="pre_payment"' in text(client.get("/client/invoices"))
    assert "minimum pre-payment is $1,250.50" in text(client.get("/client/pre_payment"))
    saved(save(staff, "payments"))
    assert client.get("/client/pre_payment").status_code == 404


@pytest.mark.parametrize("fields, message", [
    ({"minimum_prepayment": "-5"}, "cannot be negative"),
    ({"minimum_partial_payment": "-0.01"}, "cannot be negative"),
    ({"minimum_partial_payment": "ten"}, "as a number"),
    ({"minimum_prepayment": "1.234"}, "at most 2 decimal places"),
    ({"minimum_prepayment": "9" * 30}, "too large"),
])
def test_bad_payment_settings_are_refused(staff, conn, fields, message):
    before = snapshot()
    refused(save(staff, "payments", allow_partial_payments="1", **fields), message, before)


# ---------------------------------------------------------------- quote approval

def test_quote_po_number_requirement(staff, client, auth, world, conn):
    q = make_quote(world["a"], status="sent")
    auth.login("a1@alpha.example")
    assert 'name="po_number"' not in text(client.get(f"/client/quotes/{q.public_id}"))
    saved(save(staff, "quotes", quote_requires_po_number="1"))
    assert 'name="po_number"' in text(client.get(f"/client/quotes/{q.public_id}"))
    path = f"/client/quotes/{q.public_id}/approve"
    before = snapshot()
    missing = client.post(path, data={"csrf_token": csrf_token(client, "/client/quotes"),
                                      "po_number": "  "})
    assert missing.status_code == 422 and "purchase order (PO) number" in text(missing)
    assert 'aria-invalid="true"' in text(missing)
    assert snapshot() == before
    bad = client.post(path, data={"csrf_token": csrf_token(client, "/client/quotes"),
                                  "po_number": "PO\n1"})
    assert bad.status_code == 422 and snapshot() == before
    done = client.post(path, data={"csrf_token": csrf_token(client, "/client/quotes"),
                                   "po_number": "PO-2026-17"})
    assert done.status_code == 303
    invoice = models.Quote.get_by_id(q.id).invoice
    assert invoice.po_number == "PO-2026-17"
    assert "PO-2026-17" in text(client.get(f"/client/invoices/{invoice.public_id}"))


def test_quote_terms_and_signature_requirements(staff, client, auth, world, conn):
    q = make_quote(world["a"], status="sent")
    auth.login("a1@alpha.example")
    saved(save(staff, "quotes", quote_requires_terms="1", quote_requires_signature="1"))
    page = text(client.get(f"/client/quotes/{q.public_id}"))
    assert 'name="accept_terms"' in page and "signature-canvas" in page
    path = f"/client/quotes/{q.public_id}/approve"
    response = client.post(path, data={"csrf_token": csrf_token(client, "/client/quotes")})
    assert response.status_code == 422 and "accept the terms" in text(response)
    response = client.post(path, data={"csrf_token": csrf_token(client, "/client/quotes"),
                                       "accept_terms": "1"})
    assert response.status_code == 422 and "sign in the box" in text(response)
    saved(save(staff, "quotes"))
    page = text(client.get(f"/client/quotes/{q.public_id}"))
    assert 'name="accept_terms"' not in page and "signature-canvas" not in page
    response = client.post(path, data={"csrf_token": csrf_token(client, "/client/quotes")})
    assert response.status_code == 303


# ---------------------------------------------------------------- e-mailed links

def test_invitation_lifetime_sets_new_links_expiry(staff, world, conn):
    saved(save(staff, "invitations", invitation_ttl_days="7"))
    email_invoice(staff, world["invoices"]["draft"])
    invitation = models.Invitation.select().order_by(models.Invitation.id.desc()).first()
    lifetime = invitation.expires_at - invitation.created_at
    assert dt.timedelta(days=7) - dt.timedelta(minutes=1) < lifetime <= dt.timedelta(days=7)


@pytest.mark.parametrize("value", ["0", "10000", "-3", "abc", "", "7.5", "３"])
def test_bad_invitation_lifetime_is_refused(staff, conn, value):
    before = snapshot()
    refused(save(staff, "invitations", invitation_ttl_days=value), "whole number of days",
            before)
