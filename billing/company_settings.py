"""Staff change the business's settings, one section of the settings page at a time.

Each save_* function checks everything its section holds first and writes only that
section's columns, inside one transaction with an activity row: a refusal (DomainError naming
the field) leaves the database as it was, and two staff saving different sections at once do
not undo each other's changes. The portal reads Company on every request, so a change takes
effect with the next page.
"""
import base64
import hashlib
import json
import os
import re
import zoneinfo

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies

import instance_files
import models
import money
from billing import DomainError, transaction, validation

DEFAULT_NAME = "Client Portal"
COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")
TTL_DAYS = (1, 3650)

LOGO_MAX_BYTES = 512 * 1024
# PNG and JPEG only: an SVG is a document that can carry script, served from our origin.
LOGO_TYPES = {"png": ("image/png", b"\x89PNG\r\n\x1a\n"), "jpeg": ("image/jpeg", b"\xff\xd8\xff")}
LOGO_NAME_RE = re.compile(r"logo-[0-9a-f]{16}-(png|jpeg)")

# What /client/register can ask besides the e-mail address and password (always required):
# (field, label, default rule).
REGISTRATION_FIELDS = [
    ("client_name", "Company or your name", "required"),
    ("first_name", "First name", "optional"),
    ("last_name", "Last name", "optional"),
    ("phone", "Phone", "hidden"),
    ("address", "Address", "hidden"),
    ("vat_number", "VAT or tax number", "hidden"),
]
RULES = ("required", "optional", "hidden")


def current():
    """The company row, or an unsaved one with defaults on an empty instance (saving it
    creates the row)."""
    return models.Company.current() or models.Company(name=DEFAULT_NAME)


def _store(company, action, staff, **fields):
    with transaction():
        if company.id is None:
            for name, value in fields.items():
                setattr(company, name, value)
            company.save()
        else:
            models.Company.update(**fields).where(models.Company.id == company.id).execute()
            for name, value in fields.items():
                setattr(company, name, value)
        models.Activity.log(action, company, staff=staff, detail=", ".join(sorted(fields)))
    return company


# ---------------------------------------------------------------- company profile

def save_profile(company, *, name, email, address, phone, vat_number, staff=None):
    name = validation.single_line(name, "Business name", "name")
    if not name:
        raise DomainError("Enter the business name.", "name")
    email = validation.email_address(email) if (email or "").strip() else ""
    address = validation.multi_line(address, "Address", "address", 1000)
    phone = validation.single_line(phone, "Phone", "phone", 50)
    vat_number = validation.single_line(vat_number, "VAT or tax number", "vat_number", 50)
    return _store(company, "settings.profile_saved", staff, name=name, email=email,
                  address=address, phone=phone, vat_number=vat_number)


# ---------------------------------------------------------------- logo and colour

def clean_color(value):
    value = (value or "").strip()
    if not COLOR_RE.fullmatch(value):
        raise DomainError("Enter the colour as # and six hex digits, for example #1f5fbf.",
                          "brand_color")
    return value.lower()


def _logo_kind(data):
    for kind, (_, magic) in LOGO_TYPES.items():
        if data.startswith(magic):
            return kind
    return None


def read_logo(stream):
    """The uploaded bytes and their kind ("png"/"jpeg"); DomainError when it is not one."""
    data = stream.read(LOGO_MAX_BYTES + 1)
    if len(data) > LOGO_MAX_BYTES:
        raise DomainError(f"The logo can be at most {LOGO_MAX_BYTES // 1024} KB.", "logo")
    if not data:
        raise DomainError("That file is empty.", "logo")
    kind = _logo_kind(data)
    if kind is None:
        # Judged by the bytes, not the name or the browser's claimed type.
        raise DomainError("The logo must be a PNG or JPEG image.", "logo")
    return data, kind


def save_branding(company, upload_path, *, brand_color, logo=None, remove_logo=False,
                  staff=None):
    """Colour, and a new logo (a file-like object) or its removal.

    The logo file is named by its content, so its URL changes exactly when the image does
    and browsers may cache it for good. The file is written before the row names it; an old
    logo's file stays (a backup or another process may still serve it; it is small)."""
    color = clean_color(brand_color)
    fields = {"brand_color": color}
    if logo is not None:
        data, kind = read_logo(logo)
        name = f"logo-{hashlib.sha256(data).hexdigest()[:16]}-{kind}"
        instance_files.private_dir(upload_path)
        path = os.path.join(upload_path, name)
        if not os.path.exists(path):
            tmp = os.path.join(upload_path, f"tmp-{name}")
            with instance_files.open_private(tmp) as out:
                out.write(data)
            os.replace(tmp, path)
        fields.update(logo_file=name, logo_url="")
    elif remove_logo:
        fields.update(logo_file="", logo_url="")
    return _store(company, "settings.branding_saved", staff, **fields)


def logo_path(upload_path, name):
    """The stored logo's file for a name from a URL, or None: only our own logo names."""
    if not name or not LOGO_NAME_RE.fullmatch(name):
        return None
    path = os.path.join(upload_path, name)
    return path if os.path.isfile(path) else None


def logo_content_type(name):
    return LOGO_TYPES[name.rsplit("-", 1)[1]][0]


def logo_data_url(company, upload_path):
    """The logo as a data: URL, for PDFs (WeasyPrint fetches nothing from the network)."""
    path = logo_path(upload_path, company.logo_file)
    if path is None:
        return ""
    with open(path, "rb") as f:
        data = f.read()
    return f"data:{logo_content_type(company.logo_file)};base64," + \
        base64.b64encode(data).decode()


# ---------------------------------------------------------------- currency, locale, zone

def clean_currency(value):
    code = (value or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code) or code not in list_currencies():
        raise DomainError("Choose a currency by its ISO code, for example USD or EUR.",
                          "currency")
    return code


def clean_locale(value):
    text = (value or "").strip().replace("-", "_")
    try:
        locale = Locale.parse(text) if re.fullmatch(r"[A-Za-z]{2,3}(_[A-Za-z0-9]{2,4})?",
                                                    text) else None
    except (UnknownLocaleError, ValueError):
        locale = None
    if locale is None:
        raise DomainError("Choose a known language and region, for example en_US or de_DE.",
                          "locale")
    return str(locale)


def clean_timezone(value):
    text = (value or "").strip()
    if text not in zoneinfo.available_timezones() and text != "UTC":
        raise DomainError("Choose a time zone by its name, for example Europe/Berlin.",
                          "timezone")
    return text


def save_regional(company, *, currency, locale, timezone, staff=None):
    return _store(company, "settings.regional_saved", staff,
                  currency=clean_currency(currency), locale=clean_locale(locale),
                  timezone=clean_timezone(timezone))


# ---------------------------------------------------------------- portal modules

def save_modules(company, *, enabled, known, staff=None):
    """`known`: every module key (the portal's tab registry); `enabled`: those left on."""
    enabled = set(enabled or ())
    unknown = enabled - set(known)
    if unknown:
        raise DomainError("Choose modules from the list.", "modules")
    disabled = ",".join(key for key in known if key not in enabled)
    return _store(company, "settings.modules_saved", staff, disabled_modules=disabled)


# ---------------------------------------------------------------- client portal access

def registration_rules(company):
    """{field: rule} for the registration form, defaults filled in."""
    try:
        stored = json.loads(company.registration_fields or "{}")
    except ValueError:
        stored = {}
    if not isinstance(stored, dict):
        stored = {}
    return {field: stored.get(field) if stored.get(field) in RULES else default
            for field, _, default in REGISTRATION_FIELDS}


def registration_open(company):
    # Registering creates a password login: there is nothing to register for without one.
    return bool(company.registration_enabled and company.portal_login_enabled)


def save_portal_access(company, *, login_enabled, registration_enabled,
                       require_invitation_password, rules, contacts_edit_billing_details=False,
                       staff=None):
    """Who can get into the portal, and how.

    Login off means no password logins at all: the login form, password resets and
    registration are closed, and contacts reach the portal only through the links the
    business e-mails them (which stay a login to that one record, for the link's lifetime).
    A link that asked for the password could then never be opened, so that combination is
    refused rather than saved."""
    if not login_enabled and require_invitation_password:
        raise DomainError("E-mailed links can ask for the password only while portal login "
                          "is on.", "require_invitation_password")
    cleaned = {}
    for field, label, _ in REGISTRATION_FIELDS:
        rule = (rules or {}).get(field) or ""
        if rule not in RULES:
            raise DomainError(f"Choose whether {label} is required, optional or hidden.",
                              f"reg_{field}")
        cleaned[field] = rule
    return _store(company, "settings.portal_saved", staff,
                  portal_login_enabled=bool(login_enabled),
                  registration_enabled=bool(registration_enabled),
                  require_invitation_password=bool(require_invitation_password),
                  registration_fields=json.dumps(cleaned),
                  contacts_edit_billing_details=bool(contacts_edit_billing_details))


# ---------------------------------------------------------------- online payments

def _minimum(text, field, label, currency, locale):
    if not (text or "").strip():
        return 0
    try:
        return money.parse(text, currency, locale)
    except money.MoneyError as exc:
        raise DomainError(f"{label}: {exc}", field) from None


def save_payments(company, *, prepayments_enabled, minimum_prepayment, allow_partial_payments,
                  minimum_partial_payment, allow_over_payment, auto_apply_prepayments=None,
                  staff=None):
    """Amounts are typed in the company's currency and locale; blank means no minimum.
    auto_apply_prepayments None leaves that setting as it is."""
    prepay_min = _minimum(minimum_prepayment, "minimum_prepayment", "Minimum pre-payment",
                          company.currency, company.locale)
    partial_min = _minimum(minimum_partial_payment, "minimum_partial_payment",
                           "Minimum partial payment", company.currency, company.locale)
    extra = {} if auto_apply_prepayments is None else {
        "auto_apply_prepayments": bool(auto_apply_prepayments)}
    return _store(company, "settings.payments_saved", staff,
                  prepayments_enabled=bool(prepayments_enabled), minimum_prepayment=prepay_min,
                  allow_partial_payments=bool(allow_partial_payments),
                  minimum_partial_payment=partial_min,
                  allow_over_payment=bool(allow_over_payment), **extra)


# ---------------------------------------------------------------- e-mails

def save_mail(company, *, send_receipts, attach_pdf, staff=None):
    return _store(company, "settings.mail_saved", staff, send_receipts=bool(send_receipts),
                  attach_pdf_to_emails=bool(attach_pdf))


def save_security(company, *, require_two_factor, staff=None):
    """Contacts without two-factor sign-in are sent to set it up at their next page."""
    return _store(company, "settings.security_saved", staff,
                  require_two_factor=bool(require_two_factor))


# ---------------------------------------------------------------- quotes and links

def save_quote_approval(company, *, requires_terms, requires_signature, requires_po_number,
                        staff=None):
    return _store(company, "settings.quotes_saved", staff,
                  quote_requires_terms=bool(requires_terms),
                  quote_requires_signature=bool(requires_signature),
                  quote_requires_po_number=bool(requires_po_number))


def save_invitations(company, *, ttl_days, staff=None):
    low, high = TTL_DAYS
    text = str(ttl_days or "").strip()
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise DomainError(f"Enter a whole number of days from {low} to {high}.",
                          "invitation_ttl_days")
    return _store(company, "settings.invitations_saved", staff, invitation_ttl_days=int(text))


# ---------------------------------------------------------------- subscriptions

DEFAULT_CANCELLATION_REASONS = (
    "It costs too much",
    "I no longer need it",
    "I am switching to another provider",
    "It is missing something I need",
    "I am not satisfied with the service",
    "Other",
)
MAX_REASONS = 20
REASON_LENGTH = 100


def cancellation_reasons(company):
    """The reasons a contact chooses from when cancelling a subscription, in the business's
    order; the defaults until staff save their own."""
    stored = [line.strip() for line in (getattr(company, "cancellation_reasons", "") or
                                        "").splitlines()]
    return [line for line in stored if line] or list(DEFAULT_CANCELLATION_REASONS)


def save_subscriptions(company, *, cancellation_reasons, failed_renewal_status=None,
                       staff=None):
    """One reason a line; blank lines and repeats are dropped, and at least one must stay
    (a contact cannot cancel without choosing one). failed_renewal_status: what a
    subscription becomes when a renewal's charge is given up (billing.renewals.AFTER_FAILURE);
    None leaves it as it is."""
    from billing import renewals
    extra = {}
    if failed_renewal_status is not None:
        if failed_renewal_status not in renewals.AFTER_FAILURE:
            raise DomainError("Choose what happens when a renewal cannot be charged.",
                              "failed_renewal_status")
        extra["failed_renewal_status"] = failed_renewal_status
    reasons = []
    for line in (cancellation_reasons or "").splitlines():
        reason = validation.single_line(line, "Each reason", "cancellation_reasons",
                                        REASON_LENGTH)
        if reason and reason.casefold() not in {r.casefold() for r in reasons}:
            reasons.append(reason)
    if not reasons:
        raise DomainError("Enter at least one reason, one a line.", "cancellation_reasons")
    if len(reasons) > MAX_REASONS:
        raise DomainError(f"Enter at most {MAX_REASONS} reasons.", "cancellation_reasons")
    return _store(company, "settings.subscriptions_saved", staff,
                  cancellation_reasons="\n".join(reasons), **extra)
