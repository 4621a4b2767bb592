"""The back office's settings page: the page itself, the company profile, the logo and
colour, and the currency, language and time zone; every setting changed through its form
reaches the portal (pages, e-mails, PDFs), and every bad input is refused with a message
and changes nothing.

The sections about what the portal offers (modules, portal access, online payments, quote
approval, e-mailed links) are tests/test_admin_settings_portal.py; shared helpers and the
back-office browser are tests/settings_support.py."""
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
from tests.core_support import opened, snapshot
from tests.quotes_support import png_data_url
from tests.quotes_support import quote as make_quote
from tests.settings_support import DEFAULTS, company, email_invoice, refused, save, saved, text

PNG = base64.b64decode(png_data_url(8, 8).split(",", 1)[1])
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200


@pytest.fixture
def staff(staff_browser):
    """The back office in a second browser: `staff_browser` (tests/settings_support.py)
    under the name these tests use; other modules' `staff` fixtures mean other things."""
    return staff_browser


def pdf_text(data):
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


def pdf_images(data, tmp_path):
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True,
                             check=True).stdout.decode()
    return [row for row in listing.splitlines()[2:] if row.split()[2] == "image"]


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
