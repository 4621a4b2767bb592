"""Two-factor sign-in: set-up, the login's code step, replay, recovery codes, lockout, turning
it off, the business requiring it, staff accounts, and a password reset that must not skip it.

Codes are computed with pyotp from the stored secret: the real algorithm, not a stand-in.
Time is a fixed 30-second step (the `clock` fixture) so each test says which step a code
belongs to.
"""
import re

import pyotp
import pytest

import models
import portal
from billing import two_factor
from tests import factories
from tests.conftest import csrf_token, make_app
from tests.core_support import alert, login_staff, opened, post, race, snapshot

A1 = "a1@alpha.example"
STAFF = "desk@test.example"
START = 60_000_000  # a 30-second step, about 2027


class Clock:
    """The TOTP time step billing.two_factor sees; codes are made for it with pyotp."""

    def __init__(self):
        self.step = START

    def code(self, secret, steps_ahead=0):
        return pyotp.TOTP(secret).at((self.step + steps_ahead) * two_factor.STEP_SECONDS)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(two_factor, "_step", lambda now=None: clock.step)
    return clock


def row_for(app, email):
    with opened(app):
        contact = models.Contact.get_or_none(models.Contact.email == email)
        owner = (models.TwoFactor.contact == contact.id) if contact else (
            models.TwoFactor.staff == models.StaffUser.get(models.StaffUser.email == email).id)
        return models.TwoFactor.get_or_none(owner)


def html(response):
    return response.get_data(as_text=True)


def recovery_codes(response):
    return re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", html(response))


def enrol(client, clock, email=A1, base="/client/profile/two-factor", page=None):
    """Set up two-factor from the settings page; returns (secret, recovery codes)."""
    page = page or base
    assert post(client, f"{base}/start", token_from=page).status_code == 303
    secret = row_for(client.application, email).secret
    done = post(client, f"{base}/confirm", {"code": clock.code(secret)}, token_from=page)
    assert done.status_code == 200, html(done)
    return secret, recovery_codes(done)


def password_step(client, email=A1, password=factories.PASSWORD):
    return post(client, "/client/login", {"email": email, "password": password})


def code_step(client, code, kind="", path="/client/login/code"):
    data = {"code": code, **({"kind": kind} if kind else {})}
    return post(client, path, data, token_from=path)


def logout(client):
    return post(client, "/client/logout", token_from="/client/profile/two-factor")


@pytest.fixture
def enrolled(client, auth, world, clock):
    """A1 with two-factor on, logged out; (secret, recovery codes)."""
    auth.login(A1)
    secret, codes = enrol(client, clock)
    logout(client)
    clock.step += 1  # the set-up used this step's code
    return secret, codes


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


# ---------------------------------------------------------------- login

def test_password_alone_does_not_log_in_and_the_right_code_does(client, enrolled, clock):
    secret, _ = enrolled
    step_one = password_step(client)
    assert step_one.status_code == 303
    assert step_one.headers["Location"].endswith("/client/login/code")
    # Not logged in between the two steps.
    blocked = client.get("/client/invoices")
    assert blocked.status_code == 302 and "/client/login" in blocked.headers["Location"]
    page = client.get("/client/login/code")
    assert page.status_code == 200 and "<title>Sign-in code · " in html(page)
    assert 'autocomplete="one-time-code" inputmode="numeric"' in html(page)
    with client.session_transaction() as sess:
        pending_session = dict(sess)
    wrong = code_step(client, "000000" if clock.code(secret) != "000000" else "111111")
    assert wrong.status_code == 422 and alert(wrong) == two_factor.WRONG_CODE
    assert 'aria-invalid="true"' in html(wrong) and "code-error" in html(wrong)
    assert client.get("/client/invoices").status_code == 302
    done = code_step(client, clock.code(secret))
    assert done.status_code == 303 and done.headers["Location"].endswith("/client/invoices")
    assert client.get("/client/invoices").status_code == 200
    with client.session_transaction() as sess:
        assert "second_step" not in sess
        assert sess["_user_id"] != pending_session.get("_user_id")  # a new, logged-in session
    with opened(client.application):
        assert models.Activity.select().where(
            models.Activity.action == "contact.login").count() == 2  # set-up login, this one
        assert row_for(client.application, A1).failed_attempts == 0


def test_next_is_kept_through_the_code_step(client, enrolled, clock, world):
    secret, _ = enrolled
    token = csrf_token(client)
    client.post("/client/login?next=/client/payments",
                data={"email": A1, "password": factories.PASSWORD, "csrf_token": token})
    done = code_step(client, clock.code(secret))
    assert done.headers["Location"].endswith("/client/payments")


def test_a_code_is_good_once(client, enrolled, clock):
    secret, _ = enrolled
    password_step(client)
    code = clock.code(secret)
    assert code_step(client, code).status_code == 303
    logout(client)
    password_step(client)
    replay = code_step(client, code)
    assert replay.status_code == 422 and alert(replay) == two_factor.USED_CODE
    assert client.get("/client/invoices").status_code == 302
    # An earlier step's code (still inside the window) is refused as well.
    assert code_step(client, clock.code(secret, -1)).status_code == 422
    # The next step's code works.
    assert code_step(client, clock.code(secret, 1)).status_code == 303


def test_malformed_codes_are_refused_with_a_message(client, enrolled, clock):
    secret, _ = enrolled
    password_step(client)
    empty = code_step(client, "   ")
    assert empty.status_code == 422 and alert(empty) == two_factor.ENTER_CODE
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in clock.code(secret))
    for junk in (fullwidth, "12345", "1234567", "12ab56", "x" * 5000, "é" * 10):
        response = code_step(client, junk)
        assert response.status_code == 422 and alert(response) == two_factor.WRONG_CODE, junk
        with opened(client.application):
            models.TwoFactor.update(failed_attempts=0).execute()
    # Control characters are refused before any view runs (as on every form).
    assert code_step(client, "\x00" * 6).status_code == 400
    # Spaces, as people copy codes, are fine.
    code = clock.code(secret)
    assert code_step(client, f" {code[:3]} {code[3:]} ").status_code == 303


def test_codes_outside_the_window_are_refused(client, enrolled, clock):
    secret, _ = enrolled
    password_step(client)
    assert code_step(client, clock.code(secret, 2)).status_code == 422
    assert code_step(client, clock.code(secret, 1)).status_code == 303  # clock skew of a step


def test_a_recovery_code_works_once(client, enrolled, clock):
    _, codes = enrolled
    password_step(client)
    used = code_step(client, codes[3].upper().replace("-", " "), kind="recovery")
    assert used.status_code == 303
    landed = client.get("/client/invoices")
    assert landed.status_code == 200 and "Recovery codes left: 9." in html(landed)
    logout(client)
    password_step(client)
    again = code_step(client, codes[3], kind="recovery")
    assert again.status_code == 422 and alert(again) == two_factor.WRONG_CODE
    assert 'id="recovery-code"' in html(again)
    assert '<details class="recovery" open>' in html(again)
    assert code_step(client, codes[4], kind="recovery").status_code == 303


def test_wrong_codes_lock_code_entry(client, enrolled, clock):
    secret, codes = enrolled
    password_step(client)
    wrong = "000000" if clock.code(secret) != "000000" else "111111"
    for _ in range(two_factor.MAX_FAILURES - 1):
        assert alert(code_step(client, wrong)) == two_factor.WRONG_CODE
    locked = code_step(client, wrong)
    assert locked.status_code == 422 and "Too many wrong codes" in alert(locked)
    # Locked: even the right code and a good recovery code are refused for now.
    assert "Too many wrong codes" in alert(code_step(client, clock.code(secret)))
    assert code_step(client, codes[0], kind="recovery").status_code == 422
    assert client.get("/client/invoices").status_code == 302
    row = row_for(client.application, A1)
    assert row.locked_until is not None
    with opened(client.application):
        assert models.Activity.select().where(
            models.Activity.action == "two_factor.locked").count() == 1
        # The lock ends by itself.
        models.TwoFactor.update(locked_until=models.utcnow()).execute()
    assert code_step(client, clock.code(secret)).status_code == 303


def test_the_code_step_expires_and_ends_with_the_accounts_sessions(client, enrolled, clock,
                                                                   monkeypatch):
    secret, _ = enrolled
    password_step(client)
    import views.sessions
    real_now = views.sessions._now
    monkeypatch.setattr(views.sessions, "_now", lambda: real_now() + 301)
    late = client.get("/client/login/code")
    assert late.status_code == 303 and late.headers["Location"].endswith("/client/login")
    monkeypatch.setattr(views.sessions, "_now", real_now)
    assert client.get("/client/login/code").status_code == 303  # the marker is gone

    password_step(client)
    with opened(client.application):
        models.Contact.get(models.Contact.email == A1).end_sessions()  # e.g. a password change
    assert client.get("/client/login/code").status_code == 303
    assert client.get("/client/invoices").status_code == 302


def test_code_page_without_a_password_step_sends_to_login(client, world):
    response = client.get("/client/login/code")
    assert response.status_code == 303 and response.headers["Location"].endswith("/client/login")
    assert client.get("/admin/login/code").headers["Location"].endswith("/admin/login")


def test_code_entry_is_rate_limited(tmp_path, clock):
    app = make_app(tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    with opened(app):
        portal.limiter.reset()
        contact = factories.contact(email=A1)
        row = models.TwoFactor.create(contact=contact, secret=pyotp.random_base32(),
                                      enabled_at=models.utcnow())
    try:
        client = app.test_client()
        password_step(client)
        statuses = []
        for _ in range(8):
            # A recovery-shaped guess: it never trips the lockout, only the limiter.
            statuses.append(code_step(client, "zzzzz-zzzzz").status_code)
            with opened(app):
                models.TwoFactor.update(failed_attempts=0).execute()
        assert statuses[:5] == [422] * 5 and statuses[5:] == [429] * 3
        limited = code_step(client, clock.code(row.secret))
        assert limited.status_code == 429 and "paused further tries" in html(limited)
    finally:
        with app.app_context():
            portal.limiter.reset()


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


# ---------------------------------------------------------------- links that log in

def test_a_password_reset_does_not_skip_the_code(client, enrolled, clock):
    from tests.test_auth import request_reset_link
    secret, _ = enrolled
    link = request_reset_link(client, A1)
    token = csrf_token(client, link)
    reset = client.post(link, data={"password": "a-brand-new-pass", "confirm": "a-brand-new-pass",
                                    "csrf_token": token})
    assert reset.status_code == 303 and reset.headers["Location"].endswith("/client/login/code")
    assert client.get("/client/invoices").status_code == 302
    assert "Your password is changed." in html(client.get("/client/login/code"))
    assert code_step(client, clock.code(secret)).status_code == 303
    assert client.get("/client/invoices").status_code == 200
    logout(client)
    clock.step += 1
    # And the next login with the new password still asks.
    assert password_step(client, password="a-brand-new-pass").headers["Location"].endswith(
        "/client/login/code")


def test_an_emailed_link_asks_for_the_code(client, enrolled, clock, world):
    secret, _ = enrolled
    with opened(client.application):
        invoice = world["invoices"]["sent"]
        key = models.Invitation.issue(models.Contact.get(models.Contact.email == A1), 30,
                                      invoice=invoice)
    opened_link = client.get(f"/client/invoice/{key}")
    assert opened_link.headers["Location"].endswith("/client/login/code")
    assert client.get("/client/invoices").status_code == 302
    done = code_step(client, clock.code(secret))
    assert done.headers["Location"].endswith(f"/client/invoices/{invoice.public_id}")
    assert client.get(done.headers["Location"]).status_code == 200
    with client.session_transaction() as sess:
        assert sess.get("via_invitation") is True


def test_staff_reset_a_contacts_two_factor(client, enrolled, clock, world):
    with opened(client.application):
        staff = factories.staff(STAFF)
    login_staff(client, STAFF)
    page = html(client.get(f"/admin/clients/{world['a'].id}"))
    assert "Two-factor sign-in on" in page and "Reset two-factor…" in page
    path = f"/admin/contacts/{world['a1'].id}/two-factor/reset"
    ask = client.get(path)
    assert ask.status_code == 200 and "Reset two-factor sign-in" in html(ask)
    assert row_for(client.application, A1) is not None  # asking changed nothing
    done = post(client, path, {"confirmed": "1"}, token_from="/admin/account")
    assert done.status_code == 303
    assert row_for(client.application, A1) is None
    with opened(client.application):
        entry = models.Activity.get(models.Activity.action == "two_factor.reset_by_staff")
        assert entry.staff_id == staff.id and entry.contact_id == world["a1"].id
    assert "Reset two-factor…" not in html(client.get(f"/admin/clients/{world['a'].id}"))
    # Contacts cannot reach it.
    fresh = client.application.test_client()
    assert fresh.get(path).status_code == 302


def test_racing_logins_with_one_code_or_one_recovery_code_get_one_login(app, clock):
    with opened(app):
        contact = factories.contact(email=A1)
        row = models.TwoFactor.create(contact=contact, secret=pyotp.random_base32(),
                                      enabled_at=models.utcnow())
        recovery = two_factor._new_recovery_codes(row)[0]
    code = clock.code(row.secret)

    def attempt(_):
        return two_factor.verify(models.Contact.get_by_id(contact.id), code)

    results = race(app, 4, attempt)
    assert results.count("app") == 1, results
    assert all(isinstance(r, two_factor.DomainError) for r in results if r != "app")

    def use_recovery(_):
        return two_factor.verify(models.Contact.get_by_id(contact.id), recovery)

    results = race(app, 4, use_recovery)
    assert results.count("recovery") == 1, results
