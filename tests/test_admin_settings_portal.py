"""The back office's settings for what the portal offers: modules switched on and off,
client portal access (password logins, links, registration), online payments (partial,
over- and pre-payments), quote approval requirements and e-mailed links' lifetime; every
setting reaches the portal, and every bad input is refused with a message and changes
nothing.

The page itself, the company profile, branding and regional settings are
tests/test_admin_settings.py; shared helpers and the back-office browser are
tests/settings_support.py."""
import datetime as dt
import re

import pytest

import models
from billing.accounts import wait_for_queued_resets
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import alert, opened, snapshot
from tests.payments_support import pay, save_card
from tests.quotes_support import quote as make_quote
from tests.settings_support import DEFAULTS, company, email_invoice, refused, save, saved, text

TAB_PATHS = {
    "invoices": "/client/invoices", "recurring_invoices": "/client/recurring_invoices",
    "payments": "/client/payments", "quotes": "/client/quotes", "credits": "/client/credits",
    "payment_methods": "/client/payment_methods", "documents": "/client/documents",
    "statement": "/client/statement", "subscriptions": "/client/subscriptions",
    "pre_payment": "/client/pre_payment",
}


@pytest.fixture
def staff(staff_browser):
    """The back office in a second browser: `staff_browser` (tests/settings_support.py)
    under the name these tests use; other modules' `staff` fixtures mean other things."""
    return staff_browser


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
