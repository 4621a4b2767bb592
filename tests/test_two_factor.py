"""Two-factor sign-in set-up and settings: the set-up's QR code and key, turning it off,
new recovery codes, the business requiring it, and staff accounts. The login's code step
is tests/test_two_factor_login.py.

Codes are computed with pyotp from the stored secret: the real algorithm, not a stand-in.
Time is a fixed 30-second step (the `clock` fixture, tests/auth_support.py) so each test
says which step a code belongs to.
"""
import re

import models
from billing import two_factor
from tests import factories
from tests.auth_support import (
    A1,
    STAFF,
    code_step,
    enrol,
    html,
    logout,
    password_step,
    recovery_codes,
    row_for,
)
from tests.conftest import csrf_token
from tests.core_support import alert, login_staff, opened, post, snapshot

# ---------------------------------------------------------------- set-up

def test_setup_shows_a_qr_code_and_the_key_and_a_wrong_code_turns_nothing_on(client, auth,
                                                                            world, clock):
    auth.login(A1)
    page = client.get("/client/profile")
    assert "Set up two-factor sign-in" in html(page)
    off = client.get("/client/profile/two-factor")
    assert off.status_code == 200 and "<strong>off</strong>" in html(off)
    assert post(client, "/client/profile/two-factor/start",
                token_from="/client/profile/two-factor").status_code == 303
    row = row_for(client.application, A1)
    assert row.enabled_at is None and len(row.secret) >= 16
    setup = client.get("/client/profile/two-factor")
    body = html(setup)
    assert setup.headers["Cache-Control"] == "no-store"
    assert body.startswith("<!") and "<title>Two-factor sign-in · " in body
    assert '<svg role="img" aria-label="QR code to scan with your authenticator app"' in body
    assert "style=" not in body.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert two_factor.grouped_secret(row.secret) in body
    assert 'autocomplete="one-time-code" inputmode="numeric"' in body

    with opened(client.application):
        before = snapshot()
    wrong = f"{(int(clock.code(row.secret)) + 1) % 1_000_000:06d}"
    refused = post(client, "/client/profile/two-factor/confirm", {"code": wrong},
                   token_from="/client/profile/two-factor")
    assert refused.status_code == 422
    assert alert(refused) == two_factor.WRONG_CODE
    assert 'aria-invalid="true" aria-describedby="tf-error"' in html(refused)
    with opened(client.application):
        assert snapshot() == before  # still pending, no recovery codes, nothing logged
    for junk in ("", "abc", "1234567", "12345"):
        assert post(client, "/client/profile/two-factor/confirm", {"code": junk},
                    token_from="/client/profile/two-factor").status_code == 422
    assert row_for(client.application, A1).enabled_at is None

    done = post(client, "/client/profile/two-factor/confirm", {"code": clock.code(row.secret)},
                token_from="/client/profile/two-factor")
    codes = recovery_codes(done)
    assert done.status_code == 200 and len(codes) == 10 == len(set(codes))
    assert "only time we show them" in html(done)
    row = row_for(client.application, A1)
    assert row.enabled_at is not None and row.last_step == clock.step
    with opened(client.application):
        hashes = [r.code_hash for r in models.RecoveryCode.select()]
        assert len(hashes) == 10 and not set(codes) & set(hashes)
        assert models.Activity.get(models.Activity.action == "two_factor.enabled").contact_id
    # Shown once: the settings page now says how many are left, not what they are.
    page = html(client.get("/client/profile/two-factor"))
    assert "10 unused recovery codes" in page and codes[0] not in page


def test_starting_again_replaces_a_pending_key_and_cannot_replace_an_enabled_one(
        client, auth, world, clock):
    auth.login(A1)
    post(client, "/client/profile/two-factor/start", token_from="/client/profile/two-factor")
    first = row_for(client.application, A1).secret
    post(client, "/client/profile/two-factor/start", token_from="/client/profile/two-factor")
    second = row_for(client.application, A1).secret
    assert first != second
    # The old key's code no longer turns it on.
    refused = post(client, "/client/profile/two-factor/confirm", {"code": clock.code(first)},
                   token_from="/client/profile/two-factor")
    assert refused.status_code == 422
    post(client, "/client/profile/two-factor/confirm", {"code": clock.code(second)},
         token_from="/client/profile/two-factor")
    again = post(client, "/client/profile/two-factor/start",
                 token_from="/client/profile/two-factor")
    assert again.status_code == 303 and row_for(client.application, A1).secret == second


# ---------------------------------------------------------------- changes once it is on

def test_turning_off_needs_the_password_or_a_code(client, auth, enrolled, clock):
    secret, _ = enrolled
    password_step(client)
    code_step(client, clock.code(secret))
    with opened(client.application):
        before = snapshot()
    for data, field in (({"password": "wrong-password"}, "off-password"),
                        ({}, "off-password"), ({"code": "000001"}, "off-code")):
        refused = post(client, "/client/profile/two-factor/disable", {"form": "disable", **data},
                       token_from="/client/profile/two-factor")
        assert refused.status_code == 422
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html(refused)), data
    with opened(client.application):
        after = snapshot()
        # Only the wrong code was counted; nothing else changed.
        after["TwoFactor"] = before["TwoFactor"]
        assert after == before
    off = post(client, "/client/profile/two-factor/disable",
               {"form": "disable", "password": factories.PASSWORD},
               token_from="/client/profile/two-factor")
    assert off.status_code == 303
    assert row_for(client.application, A1) is None
    with opened(client.application):
        assert models.RecoveryCode.select().count() == 0
    logout(client)
    assert password_step(client).headers["Location"].endswith("/client/invoices")


def test_turning_off_with_a_current_code(client, enrolled, clock):
    secret, _ = enrolled
    password_step(client)
    code_step(client, clock.code(secret))
    clock.step += 1
    off = post(client, "/client/profile/two-factor/disable",
               {"form": "disable", "code": clock.code(secret)},
               token_from="/client/profile/two-factor")
    assert off.status_code == 303 and row_for(client.application, A1) is None


def test_new_recovery_codes_replace_the_old_ones(client, enrolled, clock):
    secret, old = enrolled
    password_step(client)
    code_step(client, clock.code(secret))
    refused = post(client, "/client/profile/two-factor/recovery-codes",
                   {"form": "codes", "password": "nope-nope"},
                   token_from="/client/profile/two-factor")
    assert refused.status_code == 422
    assert re.search(r'id="regen-password"[^>]*aria-invalid="true"', html(refused))
    made = post(client, "/client/profile/two-factor/recovery-codes",
                {"form": "codes", "password": factories.PASSWORD},
                token_from="/client/profile/two-factor")
    new = recovery_codes(made)
    assert made.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    logout(client)
    password_step(client)
    assert code_step(client, old[0], kind="recovery").status_code == 422
    assert code_step(client, new[0], kind="recovery").status_code == 303


def test_staff_viewing_as_the_contact_cannot_change_it(client, enrolled, clock, world):
    with opened(client.application):
        factories.staff(STAFF)
    login_staff(client, STAFF)
    token = csrf_token(client, "/admin/clients")
    client.post(f"/admin/contacts/{world['a1'].id}/impersonate", data={"csrf_token": token})
    page = client.get("/client/profile/two-factor")
    assert page.status_code == 200 and "only the contact can change" in html(page)
    refused = post(client, "/client/profile/two-factor/disable",
                   {"form": "disable", "password": factories.PASSWORD},
                   token_from="/client/profile/two-factor")
    assert refused.status_code == 303
    assert row_for(client.application, A1).enabled_at is not None


# ---------------------------------------------------------------- required by the business

def test_the_business_can_require_it(client, auth, world, clock):
    with opened(client.application):
        staff = factories.staff(STAFF)
    login_staff(client, STAFF)
    saved = post(client, "/admin/settings/security", {"require_two_factor": "1"},
                 token_from="/admin/settings")
    assert saved.status_code == 303
    with opened(client.application):
        assert models.Company.current().require_two_factor is True
        assert models.Activity.get(models.Activity.action == "settings.security_saved"
                                   ).staff_id == staff.id

    landed = auth.login(A1)
    assert landed.headers["Location"].endswith("/client/invoices")
    sent = client.get("/client/invoices")
    assert sent.status_code == 303 and sent.headers["Location"].endswith(
        "/client/profile/two-factor")
    for path in ("/client/payments", "/client/profile", "/client/statement"):
        assert client.get(path).status_code == 303, path
    fragment = client.get("/client/payments", headers={"HX-Request": "true"})
    assert fragment.headers["HX-Redirect"].endswith("/client/profile/two-factor")
    setup = client.get("/client/profile/two-factor")
    assert setup.status_code == 200 and "must use two-factor sign-in" in html(setup)
    # Logging out still works.
    out = logout(client)
    assert out.status_code == 302 and client.get("/client/invoices").status_code == 302

    auth.login(A1)
    enrol(client, clock)
    assert client.get("/client/invoices").status_code == 200


def test_the_requirement_does_not_hold_staff_viewing_as_a_contact(client, world):
    with opened(client.application):
        factories.company(require_two_factor=True)
        factories.staff(STAFF)
    login_staff(client, STAFF)
    token = csrf_token(client, "/admin/clients")
    client.post(f"/admin/contacts/{world['a1'].id}/impersonate", data={"csrf_token": token})
    assert client.get("/client/invoices").status_code == 200


# ---------------------------------------------------------------- staff

def test_staff_two_factor(client, clock):
    with opened(client.application):
        factories.staff(STAFF)
    login_staff(client, STAFF)
    account = client.get("/admin/account")
    assert account.status_code == 200 and "<title>Two-factor sign-in · " in html(account)
    assert 'href="/admin/account"' in html(account)
    secret, codes = enrol(client, clock, STAFF, base="/admin/account/two-factor",
                          page="/admin/account")
    assert len(codes) == 10
    post(client, "/admin/logout", token_from="/admin/account")
    clock.step += 1

    step_one = login_staff(client, STAFF)
    assert step_one.status_code == 303 and step_one.headers["Location"].endswith(
        "/admin/login/code")
    assert client.get("/admin/invoices").headers["Location"].startswith("/admin/login")
    page = client.get("/admin/login/code")
    assert "<title>Staff sign-in code · " in html(page)
    # A contact's code page does not take a staff login's code.
    assert client.get("/client/login/code").status_code == 303
    step_one = login_staff(client, STAFF)
    wrong = code_step(client, "zzzzz-zzzzz", kind="recovery", path="/admin/login/code")
    assert wrong.status_code == 422
    done = code_step(client, clock.code(secret), path="/admin/login/code")
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin/invoices")
    assert client.get("/admin/invoices").status_code == 200
    with opened(client.application):
        assert models.Activity.select().where(
            models.Activity.action == "staff.login").count() == 2  # the first, and this one

    off = post(client, "/admin/account/two-factor/disable",
               {"form": "disable", "password": factories.PASSWORD}, token_from="/admin/account")
    assert off.status_code == 303 and row_for(client.application, STAFF) is None
