"""Back office: the settings page. One page of sections; each section is its own form and
is saved on its own by billing.company_settings."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from billing import DomainError, reminders, renewals
from billing import company_settings as settings
from views.admin import current_staff, staff_required
from views.tabs import MODULE_KEYS, TABS

bp = Blueprint("admin_settings", __name__, url_prefix="/admin/settings")

SECTION_TITLES = {
    "profile": "Company profile",
    "branding": "Logo and colour",
    "regional": "Currency, language and time zone",
    "modules": "Portal modules",
    "portal": "Client portal access",
    "security": "Sign-in security",
    "payments": "Online payments",
    "quotes": "Quote approval",
    "invitations": "E-mailed links",
    "mail": "Receipts and attachments",
    "reminders": "Payment reminders and late fee",
    "subscriptions": "Subscriptions",
}


def _checked(name):
    return request.form.get(name) == "1"


def _text(name, limit=2000):
    # Cut well above every field's own limit: the service's message names the real one.
    return request.form.get(name, "")[:limit]


def _profile(company, staff):
    return settings.save_profile(company, name=_text("name"), email=_text("email"),
                                 address=_text("address", 5000), phone=_text("phone"),
                                 vat_number=_text("vat_number"), staff=staff)


def _branding(company, staff):
    upload = request.files.get("logo")
    logo = upload.stream if upload is not None and upload.filename else None
    return settings.save_branding(company, current_app.config["UPLOAD_PATH"],
                                  brand_color=_text("brand_color", 20), logo=logo,
                                  remove_logo=_checked("remove_logo"), staff=staff)


def _regional(company, staff):
    return settings.save_regional(company, currency=_text("currency", 20),
                                  locale=_text("locale", 40), timezone=_text("timezone", 100),
                                  staff=staff)


def _modules(company, staff):
    return settings.save_modules(company, enabled=request.form.getlist("modules")[:50],
                                 known=MODULE_KEYS, staff=staff)


def _portal(company, staff):
    rules = {field: _text(f"reg_{field}", 20) for field, _, _ in settings.REGISTRATION_FIELDS}
    return settings.save_portal_access(
        company, login_enabled=_checked("portal_login_enabled"),
        registration_enabled=_checked("registration_enabled"),
        require_invitation_password=_checked("require_invitation_password"), rules=rules,
        contacts_edit_billing_details=_checked("contacts_edit_billing_details"), staff=staff)


def _security(company, staff):
    return settings.save_security(company, require_two_factor=_checked("require_two_factor"),
                                  staff=staff)


def _payments(company, staff):
    return settings.save_payments(
        company, prepayments_enabled=_checked("prepayments_enabled"),
        minimum_prepayment=_text("minimum_prepayment", 100),
        allow_partial_payments=_checked("allow_partial_payments"),
        minimum_partial_payment=_text("minimum_partial_payment", 100),
        allow_over_payment=_checked("allow_over_payment"),
        auto_apply_prepayments=_checked("auto_apply_prepayments"), staff=staff)


def _quotes(company, staff):
    return settings.save_quote_approval(
        company, requires_terms=_checked("quote_requires_terms"),
        requires_signature=_checked("quote_requires_signature"),
        requires_po_number=_checked("quote_requires_po_number"), staff=staff)


def _invitations(company, staff):
    return settings.save_invitations(company, ttl_days=_text("invitation_ttl_days", 20),
                                     staff=staff)


def _mail(company, staff):
    return settings.save_mail(company, send_receipts=_checked("send_receipts"),
                              attach_pdf=_checked("attach_pdf_to_emails"), staff=staff)


def _reminders(company, staff):
    rule_inputs = [(_text(f"reminder{slot}_days", 20), _checked(f"reminder{slot}_enabled"))
                   for slot in range(1, reminders.MAX_RULES + 1)]
    return reminders.save(company, rule_inputs=rule_inputs,
                          fee_kind=_text("late_fee_kind", 20),
                          fee_value=_text("late_fee_value", 100), staff=staff)


def _subscriptions(company, staff):
    # Absent (an older form): left as it is; blank or unknown: refused by the service.
    failed = request.form.get("failed_renewal_status")
    return settings.save_subscriptions(
        company, cancellation_reasons=_text("cancellation_reasons", 5000),
        failed_renewal_status=None if failed is None else failed[:20], staff=staff)


SAVERS = {"profile": _profile, "branding": _branding, "regional": _regional,
          "modules": _modules, "portal": _portal, "payments": _payments, "quotes": _quotes,
          "invitations": _invitations, "mail": _mail, "reminders": _reminders,
          "subscriptions": _subscriptions, "security": _security}


def _page(company, error=None, section=None, status_code=200):
    return render_template(
        "admin/settings.html", settings_company=company, titles=SECTION_TITLES,
        modules=[(key, label) for key, label, _ in TABS],
        registration_fields=settings.REGISTRATION_FIELDS,
        rules=settings.registration_rules(company), error=error, failed_section=section,
        form=request.form if error else {}, logo_max_kb=settings.LOGO_MAX_BYTES // 1024,
        ttl_range=settings.TTL_DAYS, reminder_rules=reminders.rules(company),
        late_fee_text=reminders.fee_text(company), fee_kinds=reminders.FEE_KINDS,
        days_range=reminders.DAYS_RANGE,
        cancellation_reasons="\n".join(settings.cancellation_reasons(company)),
        after_failure=renewals.AFTER_FAILURE,
        failed_renewal_status=renewals.after_failure_status(company)), status_code


@bp.get("")
@staff_required
def index():
    return _page(settings.current())


@bp.post("/<section>")
@staff_required
def save(section):
    saver = SAVERS.get(section)
    if saver is None:
        abort(404)
    company = settings.current()
    try:
        saver(company, current_staff())
    except DomainError as exc:
        return _page(settings.current(), exc, section, 422)
    flash(f"{SECTION_TITLES[section]} saved.", "success")
    return redirect(url_for("admin_settings.index") + f"#{section}", 303)
