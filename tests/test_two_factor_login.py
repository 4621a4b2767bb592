"""Two-factor sign-in at login: the code step after the password, replay, the window,
recovery codes, lockout and rate limits, racing logins, and links (a password reset, an
e-mailed link, staff's reset) that must not skip it. Set-up and settings are
tests/test_two_factor.py; helpers and the `clock`/`enrolled` fixtures are
tests/auth_support.py.
"""
import pyotp

import models
import portal
from billing import two_factor
from tests import factories
from tests.auth_support import (
    A1,
    STAFF,
    code_step,
    html,
    logout,
    password_step,
    request_reset_link,
    row_for,
)
from tests.conftest import csrf_token, make_app
from tests.core_support import alert, login_staff, opened, post, race

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


# ---------------------------------------------------------------- links that log in

def test_a_password_reset_does_not_skip_the_code(client, enrolled, clock):
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
