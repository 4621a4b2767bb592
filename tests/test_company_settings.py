"""The business's settings as a service (billing.company_settings), section by section: what
each takes and refuses word for word with its field, what it stores, and that a section
writes only its own columns with a log of them."""
import io
import json
import os

import pytest

import models
from billing import company_settings as settings
from tests import factories
from tests.core_support import activities, refused

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40


@pytest.fixture
def company(db):
    return factories.company(name="Shop Ltd", currency="USD", locale="en_US")



def stored(company):
    return models.Company.get_by_id(company.id)


def test_an_empty_instance_has_an_unsaved_company_that_saving_creates(db):
    models.Company.delete().execute()
    blank = settings.current()
    assert (blank.id, blank.name) == (None, "Client Portal")
    saved = settings.save_mail(blank, send_receipts=True, attach_pdf=False)
    assert models.Company.current().id == saved.id and saved.send_receipts is True


# ---------------------------------------------------------------- profile

def profile(company, **fields):
    return settings.save_profile(company, **{"name": "Shop Ltd", "email": "", "address": "",
                                             "phone": "", "vat_number": "", **fields})


def test_the_profile_is_kept_trimmed_and_logged_with_its_fields(company):
    staff = factories.staff()
    profile(company, name=" Shop GmbH ", email=" Billing@Shop.Example ", address=" 1 Road\n",
            phone=" 555 ", vat_number=" DE1 ", staff=staff)
    kept = stored(company)
    assert (kept.name, kept.email, kept.address, kept.phone, kept.vat_number) == (
        "Shop GmbH", "billing@shop.example", "1 Road", "555", "DE1")
    assert activities("settings.profile_saved") == [
        (company.id, None, None, staff.id, "address, email, name, phone, vat_number")]
    profile(company, email="  ")
    assert stored(company).email == ""


@pytest.mark.parametrize("fields, expected", [
    ({"name": " "}, ("Enter the business name.", "name")),
    ({"name": "x" * 201}, ("Business name can have at most 200 characters.", "name")),
    ({"email": "nope"}, None),
    ({"email": "a" * 243 + "@shop.example"}, ("E-mail address can have at most 254 characters.",
                                              "email")),
    ({"address": "x" * 1001}, ("Address can have at most 1000 characters.", "address")),
    ({"phone": "5" * 51}, ("Phone can have at most 50 characters.", "phone")),
    ({"vat_number": "x" * 51}, ("VAT or tax number can have at most 50 characters.",
                                "vat_number")),
])
def test_a_profile_that_cannot_work_changes_nothing(company, fields, expected):
    message, field = refused(profile, company, **fields)
    if expected is None:
        assert field == "email" and message.startswith("nope is not a valid e-mail address")
    else:
        assert (message, field) == expected
    assert stored(company).name == "Shop Ltd" and activities("settings.profile_saved") == []


# ---------------------------------------------------------------- branding

@pytest.mark.parametrize("typed, kept", [("#1F5FBF", "#1f5fbf"), (" #abcdef ", "#abcdef")])
def test_a_colour_is_six_hex_digits_kept_in_lower_case(typed, kept):
    assert settings.clean_color(typed) == kept


@pytest.mark.parametrize("typed", ["1f5fbf", "#1f5fb", "#1f5fbfa", "#gggggg", "", None, "red"])
def test_any_other_colour_is_refused(typed):
    assert refused(settings.clean_color, typed) == (
        "Enter the colour as # and six hex digits, for example #1f5fbf.", "brand_color")


def test_a_logo_is_judged_by_its_bytes_and_size():
    assert settings.read_logo(io.BytesIO(PNG)) == (PNG, "png")
    assert settings.read_logo(io.BytesIO(JPEG)) == (JPEG, "jpeg")
    largest = PNG + b"\x00" * (settings.LOGO_MAX_BYTES - len(PNG))
    assert settings.read_logo(io.BytesIO(largest))[1] == "png"
    assert refused(settings.read_logo, io.BytesIO(largest + b"\x00")) == (
        "The logo can be at most 512 KB.", "logo")
    assert refused(settings.read_logo, io.BytesIO(b"")) == ("That file is empty.", "logo")
    assert refused(settings.read_logo, io.BytesIO(b"<svg></svg>")) == (
        "The logo must be a PNG or JPEG image.", "logo")


def test_a_logo_is_stored_by_its_content_and_removed_on_request(company, tmp_path):
    folder = str(tmp_path / "uploads")
    staff = factories.staff()
    models.Company.update(logo_url="https://old.example/logo.png").execute()
    saved = settings.save_branding(stored(company), folder, brand_color="#ABCDEF",
                                   logo=io.BytesIO(PNG), staff=staff)
    name = saved.logo_file
    assert stored(company).logo_url == ""  # the uploaded logo replaces a linked one
    assert settings.LOGO_NAME_RE.fullmatch(name) and name.endswith("-png")
    assert (stored(company).logo_file, stored(company).brand_color) == (name, "#abcdef")
    path = settings.logo_path(folder, name)
    assert path == os.path.join(folder, name)
    with open(path, "rb") as kept:
        assert kept.read() == PNG
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.listdir(folder) == [name]  # no temporary file left
    assert settings.save_branding(company, folder, brand_color="#abcdef",
                                  logo=io.BytesIO(PNG)).logo_file == name
    assert settings.logo_content_type(name) == "image/png"
    assert settings.logo_data_url(stored(company), folder).startswith(
        "data:image/png;base64,iVBORw0KGgo")
    settings.save_branding(company, folder, brand_color="#abcdef")  # keeps the logo
    assert stored(company).logo_file == name
    models.Company.update(logo_url="https://old.example/logo.png").execute()
    settings.save_branding(company, folder, brand_color="#abcdef", remove_logo=True)
    assert stored(company).logo_url == ""
    assert stored(company).logo_file == "" and settings.logo_data_url(stored(company),
                                                                      folder) == ""
    assert activities("settings.branding_saved")[0] == (
        company.id, None, None, staff.id, "brand_color, logo_file, logo_url")


def test_only_our_own_logo_names_lead_to_a_file(tmp_path):
    (tmp_path / "secret").write_bytes(b"x")
    for name in ("", None, "secret", "../secret", "logo-0123456789abcdef-svg",
                 "logo-0123456789abcdef-png"):
        assert settings.logo_path(str(tmp_path), name) is None
    assert settings.logo_content_type("logo-0123456789abcdef-jpeg") == "image/jpeg"


# ---------------------------------------------------------------- regional

def test_regional_settings_are_checked_and_normalised(company):
    staff = factories.staff()
    settings.save_regional(company, currency=" eur ", locale="de-de",
                           timezone=" Europe/Berlin ", staff=staff)
    kept = stored(company)
    assert (kept.currency, kept.locale, kept.timezone) == ("EUR", "de_DE", "Europe/Berlin")
    assert activities("settings.regional_saved") == [
        (company.id, None, None, staff.id, "currency, locale, timezone")]
    assert settings.clean_timezone("UTC") == "UTC"
    assert settings.clean_locale("fr") == "fr"


@pytest.mark.parametrize("currency", ["", "US", "USDX", "XYZ", "U$D", None])
def test_an_unknown_currency_is_refused(currency):
    assert refused(settings.clean_currency, currency) == (
        "Choose a currency by its ISO code, for example USD or EUR.", "currency")


@pytest.mark.parametrize("locale", ["", "english", "zz_QQ", "d", "de_DE_x", None, "12"])
def test_an_unknown_locale_is_refused(locale):
    assert refused(settings.clean_locale, locale) == (
        "Choose a known language and region, for example en_US or de_DE.", "locale")


@pytest.mark.parametrize("zone", ["", "Mars/Olympus_Mons", "europe/berlin", None])
def test_an_unknown_time_zone_is_refused(zone):
    assert refused(settings.clean_timezone, zone) == (
        "Choose a time zone by its name, for example Europe/Berlin.", "timezone")


# ---------------------------------------------------------------- modules and access

def test_modules_left_off_are_stored_in_the_registrys_order(company):
    known = ["invoices", "quotes", "credits", "documents"]
    settings.save_modules(company, enabled=["documents", "invoices"], known=known)
    assert stored(company).disabled_modules == "quotes,credits"
    settings.save_modules(company, enabled=None, known=known)
    assert stored(company).disabled_modules == "invoices,quotes,credits,documents"
    assert refused(settings.save_modules, company, enabled=["invoices", "casino"],
                   known=known) == ("Choose modules from the list.", "modules")


DEFAULT_RULES = {"client_name": "required", "first_name": "optional", "last_name": "optional",
                 "phone": "hidden", "address": "hidden", "vat_number": "hidden"}


def access(company, rules=None, **fields):
    return settings.save_portal_access(company, **{
        "login_enabled": True, "registration_enabled": False,
        "require_invitation_password": False, "rules": {**DEFAULT_RULES, **(rules or {})},
        **fields})


def test_portal_access_and_registration_rules_are_stored(company):
    access(company, registration_enabled=1, rules={"client_name": "optional", "phone":
                                                   "required"},
           contacts_edit_billing_details="on")
    kept = stored(company)
    assert (kept.portal_login_enabled, kept.registration_enabled,
            kept.require_invitation_password, kept.contacts_edit_billing_details) == (
        True, True, False, True)
    assert json.loads(kept.registration_fields) == {
        "client_name": "optional", "first_name": "optional", "last_name": "optional",
        "phone": "required", "address": "hidden", "vat_number": "hidden"}
    assert settings.registration_rules(kept)["phone"] == "required"
    assert settings.registration_open(kept) is True
    settings.save_portal_access(company, login_enabled=True, registration_enabled=True,
                                require_invitation_password=False, rules=DEFAULT_RULES)
    assert stored(company).contacts_edit_billing_details is False  # unless said
    access(company, login_enabled=False, registration_enabled=True)
    assert settings.registration_open(stored(company)) is False


def test_portal_access_refusals_name_their_field(company):
    assert refused(access, company, login_enabled=False, require_invitation_password=True) == (
        "E-mailed links can ask for the password only while portal login is on.",
        "require_invitation_password")
    assert refused(access, company, rules={"phone": "sometimes"}) == (
        "Choose whether Phone is required, optional or hidden.", "reg_phone")
    assert refused(settings.save_portal_access, company, login_enabled=True,
                   registration_enabled=False, require_invitation_password=False,
                   rules=None) == (
        "Choose whether Company or your name is required, optional or hidden.",
        "reg_client_name")


@pytest.mark.parametrize("stored_fields", ["not json", "[1, 2]", '{"phone": "maybe"}'])
def test_stored_registration_rules_are_read_tolerantly(company, stored_fields):
    company.registration_fields = stored_fields
    assert settings.registration_rules(company) == DEFAULT_RULES


# ---------------------------------------------------------------- payments, mail, quotes

def payments(company, **fields):
    return settings.save_payments(company, **{
        "prepayments_enabled": True, "minimum_prepayment": "", "allow_partial_payments": False,
        "minimum_partial_payment": "", "allow_over_payment": False, **fields})


def test_payment_minimums_are_read_in_the_companys_currency_and_locale(company):
    models.Company.update(auto_apply_prepayments=True).execute()
    company = stored(company)
    company.locale, company.currency = "de_DE", "EUR"
    payments(company, minimum_prepayment="1.250,50", minimum_partial_payment="  ",
             allow_partial_payments="on", allow_over_payment=1)
    kept = stored(company)
    assert (kept.prepayments_enabled, kept.minimum_prepayment, kept.allow_partial_payments,
            kept.minimum_partial_payment, kept.allow_over_payment,
            kept.auto_apply_prepayments) == (True, 125050, True, 0, True, True)
    payments(company, auto_apply_prepayments=False)
    assert stored(company).auto_apply_prepayments is False
    payments(company, auto_apply_prepayments="on", minimum_partial_payment="2.000,25")
    assert (stored(company).auto_apply_prepayments,
            stored(company).minimum_partial_payment) == (True, 200025)


def test_a_minimum_that_is_not_an_amount_is_refused_under_its_field(company):
    assert refused(payments, company, minimum_prepayment="-1") == (
        "Minimum pre-payment: The amount cannot be negative.", "minimum_prepayment")
    assert refused(payments, company, minimum_partial_payment="abc")[1] == (
        "minimum_partial_payment")
    assert refused(payments, company, minimum_partial_payment="abc")[0].startswith(
        "Minimum partial payment: ")


def test_switches_are_stored_as_switches(company):
    settings.save_mail(company, send_receipts="", attach_pdf="on")
    assert (stored(company).send_receipts, stored(company).attach_pdf_to_emails) == (
        False, True)
    settings.save_mail(company, send_receipts="on", attach_pdf="")
    settings.save_security(company, require_two_factor=1)
    settings.save_quote_approval(company, requires_terms=1, requires_signature=0,
                                 requires_po_number="yes")
    kept = stored(company)
    assert (kept.send_receipts, kept.attach_pdf_to_emails, kept.require_two_factor,
            kept.quote_requires_terms, kept.quote_requires_signature,
            kept.quote_requires_po_number) == (True, False, True, True, False, True)
    assert [a[4] for a in activities("settings.mail_saved")] == [
        "attach_pdf_to_emails, send_receipts"] * 2
    assert len(activities("settings.security_saved")) == 1
    assert len(activities("settings.quotes_saved")) == 1


@pytest.mark.parametrize("days, kept", [("1", 1), (" 3650 ", 3650), (90, 90)])
def test_links_live_from_a_day_to_ten_years(company, days, kept):
    settings.save_invitations(company, ttl_days=days)
    assert stored(company).invitation_ttl_days == kept


@pytest.mark.parametrize("days", ["0", "3651", "-1", "1.5", "ten", "", None, "٣"])
def test_any_other_lifetime_is_refused(company, days):
    assert refused(settings.save_invitations, company, ttl_days=days) == (
        "Enter a whole number of days from 1 to 3650.", "invitation_ttl_days")


# ---------------------------------------------------------------- subscriptions

def test_cancellation_reasons_default_until_saved_and_keep_their_order(company):
    assert settings.cancellation_reasons(company) == list(
        settings.DEFAULT_CANCELLATION_REASONS)
    settings.save_subscriptions(company, cancellation_reasons=" Too dear \n\nToo DEAR\nMoved\n",
                                failed_renewal_status="suspended")
    kept = stored(company)
    assert settings.cancellation_reasons(kept) == ["Too dear", "Moved"]
    assert kept.failed_renewal_status == "suspended"
    settings.save_subscriptions(company, cancellation_reasons="Other")
    assert stored(company).failed_renewal_status == "suspended"  # None leaves it


def test_an_instance_without_a_company_offers_the_default_reasons(db):
    assert settings.cancellation_reasons(None) == list(settings.DEFAULT_CANCELLATION_REASONS)


def test_cancellation_reasons_must_be_given(company):
    assert refused(settings.save_subscriptions, company, cancellation_reasons=None) == (
        "Enter at least one reason, one a line.", "cancellation_reasons")


SAVES = {
    "settings.modules_saved": lambda c, staff: settings.save_modules(
        c, enabled=["invoices"], known=["invoices", "quotes"], staff=staff),
    "settings.portal_saved": lambda c, staff: settings.save_portal_access(
        c, login_enabled=True, registration_enabled=False, require_invitation_password=False,
        rules=DEFAULT_RULES, staff=staff),
    "settings.payments_saved": lambda c, staff: payments(c, staff=staff),
    "settings.mail_saved": lambda c, staff: settings.save_mail(
        c, send_receipts=1, attach_pdf=1, staff=staff),
    "settings.security_saved": lambda c, staff: settings.save_security(
        c, require_two_factor=1, staff=staff),
    "settings.quotes_saved": lambda c, staff: settings.save_quote_approval(
        c, requires_terms=1, requires_signature=1, requires_po_number=1, staff=staff),
    "settings.invitations_saved": lambda c, staff: settings.save_invitations(
        c, ttl_days=30, staff=staff),
    "settings.subscriptions_saved": lambda c, staff: settings.save_subscriptions(
        c, cancellation_reasons="Other", staff=staff),
}


@pytest.mark.parametrize("action", sorted(SAVES))
def test_each_settings_section_logs_who_saved_it_under_its_own_name(company, action):
    staff = factories.staff()
    SAVES[action](company, staff)
    assert [a[3] for a in activities(action)] == [staff.id]
    assert len(models.Activity.select()) == 1


def test_cancellation_reasons_refused_word_for_word(company):
    assert refused(settings.save_subscriptions, company, cancellation_reasons=" \n ") == (
        "Enter at least one reason, one a line.", "cancellation_reasons")
    assert refused(settings.save_subscriptions, company,
                   cancellation_reasons="\n".join(f"R{i}" for i in range(21))) == (
        "Enter at most 20 reasons.", "cancellation_reasons")
    settings.save_subscriptions(company, cancellation_reasons="\n".join(
        f"R{i}" for i in range(20)))
    assert refused(settings.save_subscriptions, company,
                   cancellation_reasons="x" * 101) == (
        "Each reason can have at most 100 characters.", "cancellation_reasons")
    assert refused(settings.save_subscriptions, company, cancellation_reasons="Other",
                   failed_renewal_status="cancelled") == (
        "Choose what happens when a renewal cannot be charged.", "failed_renewal_status")
