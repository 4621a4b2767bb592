"""Contacts' login, logout, rate limit, sessions, password reset, registration, profile."""
import datetime as dt
import os
import re

import pytest

import models
import portal
from billing.accounts import BAD_LOGIN, wait_for_queued_resets
from tests import factories
from tests.auth_support import request_reset_link
from tests.conftest import csrf_token, make_app
from tests.core_support import alert, opened, post, snapshot

A1 = "a1@alpha.example"


def listed_numbers(client):
    html = client.get("/client/invoices?sort=number").get_data(as_text=True)
    return set(re.findall(r">(INV-\d+)</a>", html))


def test_login_success_lands_on_invoices(client, auth, world):
    response = auth.login(A1)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/client/invoices")
    assert client.get("/client/invoices").status_code == 200
    with opened(client.application):
        contact = models.Contact.get(models.Contact.email == A1)
        assert contact.last_login_at is not None
        assert models.Activity.select().where(models.Activity.action == "contact.login",
                                              models.Activity.contact == contact).count() == 1


def test_wrong_password_and_unknown_email_answer_alike(client, auth, world):
    wrong = auth.login(A1, "not-the-password")
    unknown = auth.login("nobody@nowhere.example", "not-the-password")
    assert wrong.status_code == unknown.status_code == 422
    assert alert(wrong) == alert(unknown) == BAD_LOGIN.replace("'", "&#39;")
    # Neither logged anybody in.
    assert client.get("/client/invoices").status_code == 302


def test_email_is_case_and_space_insensitive(client, auth, world):
    assert auth.login("  A1@Alpha.Example ").status_code == 302


def test_inactive_contact_cannot_log_in(client, auth, world):
    with opened(client.application):
        models.Contact.update(is_active=False).where(models.Contact.email == A1).execute()
    response = auth.login(A1)
    assert response.status_code == 422 and alert(response) == BAD_LOGIN.replace("'", "&#39;")


def test_logout_is_post_only(client, auth, world):
    auth.login(A1)
    assert client.get("/client/logout").status_code == 405
    assert client.get("/client/invoices").status_code == 200  # still logged in
    response = auth.logout()
    assert response.status_code == 302 and response.headers["Location"].endswith("/client/login")
    assert client.get("/client/invoices").status_code == 302


@pytest.mark.parametrize("target,expected", [
    ("/client/invoices?status=paid", "/client/invoices?status=paid"),
    ("/client/profile", "/client/profile"),
    ("https://evil.example/", "/client/invoices"),
    ("//evil.example/", "/client/invoices"),
    ("/\\evil.example/", "/client/invoices"),
    ("/\t/evil.example/", "/client/invoices"),
    ("javascript:alert(1)", "/client/invoices"),
    ("client/invoices", "/client/invoices"),
])
def test_next_accepts_only_same_site_paths(client, world, target, expected):
    token = csrf_token(client)
    response = client.post("/client/login", query_string={"next": target},
                           data={"email": A1, "password": factories.PASSWORD,
                                 "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_page_offers_next_after_redirect(client, world):
    response = client.get("/client/invoices?status=paid")
    assert response.status_code == 302
    assert "next=" in response.headers["Location"]


def test_login_rate_limit_per_email(tmp_path):
    app = make_app(tmp_path, RATELIMIT_ENABLED=True)
    with opened(app):
        portal.limiter.reset()
        factories.contact(email=A1)
    client = app.test_client()
    answers = []
    for _ in range(6):
        token = csrf_token(client)
        answers.append(client.post("/client/login", data={
            "email": A1, "password": "wrong-password", "csrf_token": token}))
    assert [r.status_code for r in answers] == [422] * 5 + [429]
    page = answers[-1].get_data(as_text=True)
    assert "Too many attempts" in page and "wait a minute" in page
    assert "Retry-After" in answers[-1].headers
    # Even the right password is refused while the limit lasts.
    token = csrf_token(client)
    response = client.post("/client/login", data={
        "email": A1, "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code == 429
    with app.app_context():
        portal.limiter.reset()


def test_reset_requests_rate_limited_per_email(tmp_path):
    app = make_app(tmp_path, RATELIMIT_ENABLED=True)
    with opened(app):
        portal.limiter.reset()
        factories.contact(email=A1)
    client = app.test_client()
    codes = []
    for _ in range(4):
        token = csrf_token(client, "/client/password/reset")
        codes.append(client.post("/client/password/reset",
                                 data={"email": A1, "csrf_token": token}).status_code)
    assert codes == [200, 200, 200, 429]
    wait_for_queued_resets()
    with opened(app):
        assert models.EmailMessage.select().count() == 3
    with app.app_context():
        portal.limiter.reset()


def test_session_rotated_on_login(client, auth, world):
    with client.session_transaction() as session:
        session["planted"] = "before-login"
    token = csrf_token(client)
    before = client.get_cookie("session").value
    client.post("/client/login", data={"email": A1, "password": factories.PASSWORD,
                                       "csrf_token": token})
    after = client.get_cookie("session").value
    assert after != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(f"{world['a1'].id}:")


def test_old_session_ends_after_password_reset(app, world):
    old, new = app.test_client(), app.test_client()
    old_auth_token = csrf_token(old)
    old.post("/client/login", data={"email": A1, "password": factories.PASSWORD,
                                    "csrf_token": old_auth_token})
    assert old.get("/client/invoices").status_code == 200
    link = request_reset_link(new, A1)
    response = post(new, link, {"password": "brand-new-secret", "confirm": "brand-new-secret"},
                    token_from=link)
    assert response.status_code == 302
    assert new.get("/client/invoices").status_code == 200
    stale = old.get("/client/invoices")
    assert stale.status_code == 302 and "/client/login" in stale.headers["Location"]


def test_two_contacts_of_one_client_see_the_same_invoices(app, world):
    seen = []
    for email in (A1, "a2@alpha.example"):
        c = app.test_client()
        token = csrf_token(c)
        c.post("/client/login", data={"email": email, "password": factories.PASSWORD,
                                      "csrf_token": token})
        seen.append(listed_numbers(c))
    expected = {inv.number for status, inv in world["invoices"].items() if status != "draft"}
    assert seen[0] == seen[1] == expected
    assert world["other"].number not in seen[0]


def test_contact_never_sees_another_clients_records(client, auth, world):
    auth.login("b1@beta.example")
    assert listed_numbers(client) == {world["other"].number}
    for invoice in world["invoices"].values():
        assert client.get(f"/client/invoices/{invoice.public_id}").status_code == 404
        assert client.get(f"/client/invoices/{invoice.public_id}/pdf").status_code == 404


# ------------------------------------------------------------------ password reset


def test_reset_link_is_emailed_and_works_once(app, client, world):
    link = request_reset_link(client, A1)
    outbox = os.listdir(app.config["OUTBOX_PATH"])
    assert len(outbox) == 1
    with open(os.path.join(app.config["OUTBOX_PATH"], outbox[0])) as f:
        assert link in f.read().replace("=\n", "")
    assert client.get(link).status_code == 200
    response = post(client, link, {"password": "first-new-pass", "confirm": "first-new-pass"},
                    token_from=link)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/client/invoices")
    # Second use: refused, clearly, and the password stays the first new one.
    other = app.test_client()
    token = csrf_token(other)
    reused = other.post(link, data={"password": "second-new-pass", "confirm": "second-new-pass",
                                    "csrf_token": token})
    assert reused.status_code == 404
    assert "This link no longer works" in reused.get_data(as_text=True)
    with opened(app):
        contact = models.Contact.get(models.Contact.email == A1)
        assert contact.check_password("first-new-pass")
        assert not contact.check_password("second-new-pass")


def test_expired_reset_link_refused_and_nothing_changes(app, client, world):
    link = request_reset_link(client, A1)
    with opened(app):
        models.PasswordReset.update(
            expires_at=models.utcnow() - dt.timedelta(minutes=1)).execute()
        before = snapshot()
    page = client.get(link)
    assert page.status_code == 404
    assert "This link no longer works" in page.get_data(as_text=True)
    token = csrf_token(client)
    response = client.post(link, data={"password": "another-pass-1", "confirm": "another-pass-1",
                                       "csrf_token": token})
    assert response.status_code == 404
    with opened(app):
        assert snapshot() == before
    assert client.get("/client/invoices").status_code == 302


def test_reset_with_mismatched_passwords_is_422_and_link_still_valid(client, world):
    link = request_reset_link(client, A1)
    response = post(client, link, {"password": "one-password", "confirm": "two-password"},
                    token_from=link)
    assert response.status_code == 422
    assert alert(response) == "The two passwords are not the same."
    assert client.get(link).status_code == 200


def test_new_reset_link_voids_older_ones(client, world):
    first = request_reset_link(client, A1)
    second = request_reset_link(client, A1)
    post(client, second, {"password": "fresh-pass-123", "confirm": "fresh-pass-123"},
         token_from=second)
    assert client.get(first).status_code == 404


def test_unknown_email_reset_gives_same_answer_and_sends_nothing(app, client, world):
    known = post(client, "/client/password/reset", {"email": A1},
                 token_from="/client/password/reset")
    unknown = post(client, "/client/password/reset", {"email": "ghost@nowhere.example"},
                   token_from="/client/password/reset")
    assert known.status_code == unknown.status_code == 200
    def strip(response, email):
        # The CSRF token carries a timestamp, so it may differ; nothing else may.
        html = re.sub(r'(csrf_token" value="|X-CSRFToken": ")[^"]+', "TOKEN",
                      response.get_data(as_text=True))
        return html.replace(email, "EMAIL")
    assert strip(known, A1) == strip(unknown, "ghost@nowhere.example")
    assert "Check your e-mail" in unknown.get_data(as_text=True)
    wait_for_queued_resets()
    with opened(app):
        assert models.EmailMessage.select().count() == 1
        assert models.PasswordReset.select().count() == 1
    assert len(os.listdir(app.config["OUTBOX_PATH"])) == 1


# ------------------------------------------------------------------ registration, profile

def test_register_is_404_when_disabled(client, world):
    assert client.get("/client/register").status_code == 404
    assert post(client, "/client/register", {"email": "x@y.example"}).status_code == 404
    assert "/client/register" not in client.get("/client/login").get_data(as_text=True)


def test_register_when_enabled(app, client, world):
    with opened(app):
        factories.company(registration_enabled=True)
    assert "/client/register" in client.get("/client/login").get_data(as_text=True)
    form = {"client_name": "Gamma LLC", "first_name": "Gil", "last_name": "Gamma",
            "email": "gil@gamma.example", "password": "gamma-password",
            "confirm": "gamma-password"}
    response = post(client, "/client/register", form, token_from="/client/register")
    assert response.status_code == 200
    assert "Check your e-mail to finish" in response.get_data(as_text=True)
    wait_for_queued_resets()
    with opened(app):
        contact = models.Contact.get(models.Contact.email == "gil@gamma.example")
        assert contact.client.name == "Gamma LLC" and not contact.email_verified
    # Not logged in until the address is confirmed (tests/test_registration_flow.py).
    assert client.get("/client/invoices").status_code == 302
    short = post(client, "/client/register", {**form, "email": "new@gamma.example",
                                              "password": "short", "confirm": "short"},
                 token_from="/client/register")
    assert short.status_code == 422 and "at least 8" in short.get_data(as_text=True)


def test_profile_edit_and_password_change(app, client, auth, world):
    auth.login(A1)
    page = client.get("/client/profile")
    assert page.status_code == 200 and A1 in page.get_data(as_text=True)
    saved = post(client, "/client/profile", {"first_name": "Ada", "last_name": "Lovelace",
                                             "phone": "+44 1"}, token_from="/client/profile")
    assert saved.status_code == 303
    assert "Your details are saved." in client.get("/client/profile").get_data(as_text=True)
    with opened(app):
        contact = models.Contact.get(models.Contact.email == A1)
        assert (contact.first_name, contact.last_name, contact.phone) == (
            "Ada", "Lovelace", "+44 1")
        before = snapshot()
    wrong = post(client, "/client/profile", {
        "first_name": "Eve", "last_name": "", "phone": "", "current_password": "nope",
        "new_password": "new-password-1", "confirm": "new-password-1"},
        token_from="/client/profile")
    assert wrong.status_code == 422 and alert(wrong) == "Your current password is not right."
    too_long = post(client, "/client/profile", {"first_name": "x" * 101, "last_name": "",
                                                "phone": ""}, token_from="/client/profile")
    assert too_long.status_code == 422 and "at most 100" in alert(too_long)
    blank = post(client, "/client/profile", {"first_name": "  ", "last_name": "Lovelace",
                                             "phone": "+44 2"}, token_from="/client/profile")
    assert blank.status_code == 422 and alert(blank) == "Enter your first name."
    # The message is tied to the field it is about.
    assert re.search(r'<input name="first_name"[^>]*aria-invalid="true" '
                     r'aria-describedby="profile-error"', blank.get_data(as_text=True))
    with opened(app):
        assert snapshot() == before
    # A second browser logged in as the same contact is signed out by the change.
    elsewhere = app.test_client()
    token = csrf_token(elsewhere)
    elsewhere.post("/client/login", data={"email": A1, "password": factories.PASSWORD,
                                          "csrf_token": token})
    changed = post(client, "/client/profile", {
        "first_name": "Ada", "last_name": "Lovelace", "phone": "",
        "current_password": factories.PASSWORD, "new_password": "new-password-1",
        "confirm": "new-password-1"}, token_from="/client/profile")
    assert changed.status_code == 303
    assert client.get("/client/invoices").status_code == 200
    assert elsewhere.get("/client/invoices").status_code == 302
    with opened(app):
        assert models.Contact.get(models.Contact.email == A1).check_password("new-password-1")


def test_profile_fragment_for_htmx(client, auth, world):
    auth.login(A1)
    fragment = client.get("/client/profile", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)


def test_a_forked_process_does_not_wait_for_its_parents_account_jobs(app):
    """A process forked while the account worker held a job (a pre-forking server, mutmut's
    test runs) starts with no job of its own to wait for, and can queue its own."""
    import threading

    from billing import accounts
    started, release = threading.Event(), threading.Event()
    accounts.queue_account_work(app, lambda: (started.set(), release.wait(10)))
    assert started.wait(10)
    child = os.fork()
    if child == 0:  # the child: report by exit code only, never return into pytest
        code = 1
        try:
            waiting = threading.Thread(target=accounts.wait_for_queued_resets, daemon=True)
            waiting.start()
            waiting.join(5)
            ran = threading.Event()
            accounts.queue_account_work(app, ran.set)
            code = 0 if not waiting.is_alive() and ran.wait(5) else 1
        finally:
            os._exit(code)
    release.set()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    wait_for_queued_resets()
