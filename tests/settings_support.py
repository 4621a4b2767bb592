"""Helpers and a fixture for the back office's settings page tests
(tests/test_admin_settings.py and tests/test_admin_settings_portal.py); registered for
every test module through conftest's pytest_plugins. `staff_browser` is a second browser
logged in to the back office, so `client` stays the contact's; `save` posts one section of
the page with its defaults, changed by the fields given."""
import pytest

import models
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened, snapshot

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


@pytest.fixture
def staff_browser(app):
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
