"""Every form that takes a password (or sends a reset link) is limited per account and per IP,
per minute and per hour: the account limit holds across many IPs, the IP limit across many
accounts.

Each test sends requests until refused, moves the limiter's clock past the minute, and goes
on: the accepted counts per minute show both figures, e.g. [5, 5, 5, 5, 0] is 5 a minute and
20 an hour.
"""
import datetime as dt
import itertools
import time

import limits.storage.memory
import pytest

import models
import portal
from tests import factories
from tests.conftest import csrf_token, make_app
from tests.core_support import opened

A1 = "a1@alpha.example"
_n = itertools.count(1)


class Clock:
    """The in-memory limiter storage's clock, moved forward by hand (not our code)."""

    def __init__(self):
        self.offset = 0

    def time(self):
        return time.time() + self.offset


@pytest.fixture
def limited(tmp_path, monkeypatch):
    app = make_app(tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    clock = Clock()
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    with opened(app):
        portal.limiter.reset()
        factories.contact(email=A1)
        factories.staff("desk@test.example")
    app.clock = clock
    yield app
    with app.app_context():
        portal.limiter.reset()


def per_minute(app, send, minutes=8):
    """Accepted requests in each minute until a minute accepts none (the hour is spent)."""
    counts = []
    for _ in range(minutes):
        accepted = 0
        while send().status_code != 429:
            accepted += 1
            assert accepted < 100, "no limit"
        counts.append(accepted)
        if not accepted:
            break
        app.clock.offset += 61
    return counts


def ips():
    return (f"10.0.{n // 250}.{n % 250 + 1}" for n in itertools.count())


def emails(prefix="guess"):
    return (f"{prefix}{n}@nowhere.example" for n in itertools.count())


def poster(app, path_of, data_of, token_from="/client/login", client=None):
    """send(): one POST, from a fresh IP or about a fresh account as the iterators say."""
    client = client or app.test_client()
    token = csrf_token(client, token_from)

    def send():
        ip, account = next(app.ips), next(app.accounts)
        return client.post(path_of(account), data={"csrf_token": token, **data_of(account)},
                           environ_base={"REMOTE_ADDR": ip})
    return send


def by_account(app, account):
    """Many IPs, one account."""
    app.ips, app.accounts = ips(), itertools.repeat(account)


def by_ip(app, accounts):
    """One IP, many accounts."""
    app.ips, app.accounts = itertools.repeat("10.9.9.9"), accounts


def login_form(account):
    return {"email": account, "password": "wrong-password"}


def test_contact_login(limited):
    send = poster(limited, lambda a: "/client/login", login_form)
    by_account(limited, A1)
    assert per_minute(limited, send) == [5, 5, 5, 5, 0]
    by_ip(limited, emails())
    assert per_minute(limited, send) == [10, 10, 10, 10, 10, 0]


def test_staff_login(limited):
    send = poster(limited, lambda a: "/admin/login", login_form, token_from="/admin/login")
    by_account(limited, "desk@test.example")
    assert per_minute(limited, send) == [5, 5, 5, 5, 0]
    by_ip(limited, emails("staff"))
    assert per_minute(limited, send) == [10, 10, 10, 10, 10, 0]


def invitation_keys(app, count):
    """`count` invoice links, each for its own contact (plus one for A1 first)."""
    with opened(app):
        factories.company(require_invitation_password=True)
        client = models.Contact.get(models.Contact.email == A1).client
        invoice = factories.invoice(client)
        people = [models.Contact.get(models.Contact.email == A1)] + [
            factories.contact(client) for _ in range(count - 1)]
        return [models.Invitation.issue(p, 30, invoice=invoice) for p in people]


def test_invitation_password(limited):
    keys = invitation_keys(limited, 60)
    send = poster(limited, lambda key: f"/client/invoice/{key}", lambda key: {
        "password": "wrong-password"})
    by_account(limited, keys[0])
    assert per_minute(limited, send) == [5, 5, 5, 5, 0]
    by_ip(limited, iter(keys[1:]))
    assert per_minute(limited, send) == [10, 10, 10, 10, 10, 0]


def test_one_budget_per_contact_across_login_and_invitation_forms(limited):
    key = invitation_keys(limited, 1)[0]
    by_account(limited, A1)
    login = poster(limited, lambda a: "/client/login", login_form)
    for _ in range(3):
        assert login().status_code == 422
    by_account(limited, key)
    link = poster(limited, lambda k: f"/client/invoice/{k}", lambda k: {"password": "nope"})
    assert [link().status_code for _ in range(3)] == [422, 422, 429]


def test_password_reset_request(limited):
    send = poster(limited, lambda a: "/client/password/reset", lambda a: {"email": a},
                  token_from="/client/password/reset")
    by_account(limited, A1)
    assert per_minute(limited, send) == [3, 3, 0]
    by_ip(limited, emails())
    assert per_minute(limited, send) == [5, 5, 5, 5, 0]


def reset_keys(app, count):
    with opened(app):
        client = models.Contact.get(models.Contact.email == A1).client
        people = [models.Contact.get(models.Contact.email == A1)] + [
            factories.contact(client) for _ in range(count - 1)]
        keys = []
        for person in people:
            key = f"reset-key-{next(_n)}-" + "x" * 30
            models.PasswordReset.create(contact=person, token_hash=models.hash_token(key),
                                        expires_at=models.utcnow() + dt.timedelta(days=1))
            keys.append(key)
        return keys


def test_password_reset_set(limited):
    keys = reset_keys(limited, 60)
    mismatched = {"password": "one-password-1", "confirm": "two-password-2"}
    send = poster(limited, lambda key: f"/client/password/reset/{key}", lambda key: mismatched)
    by_account(limited, keys[0])
    assert per_minute(limited, send) == [5, 5, 5, 5, 0]
    by_ip(limited, iter(keys[1:]))
    assert per_minute(limited, send) == [10, 10, 10, 10, 10, 0]


def test_registration(limited):
    with opened(limited):
        factories.company(registration_enabled=True)

    def form(email):  # a short password: refused, so nothing is created along the way
        return {"client_name": "Gamma", "email": email, "password": "short", "confirm": "short"}
    send = poster(limited, lambda a: "/client/register", form, token_from="/client/register")
    by_account(limited, "new@gamma.example")
    assert per_minute(limited, send) == [3, 3, 3, 1, 0]
    by_ip(limited, emails("new"))
    assert per_minute(limited, send) == [5, 5, 5, 5, 0]


def logged_in(app, email, ip):
    client = app.test_client()
    token = csrf_token(client)
    assert client.post("/client/login", data={"email": email, "password": factories.PASSWORD,
                                              "csrf_token": token},
                       environ_base={"REMOTE_ADDR": ip}).status_code == 302
    return client


def test_profile_password_change(limited):
    with opened(limited):
        others = [factories.contact().email for _ in range(60)]
    browsers = {email: logged_in(limited, email, ip)
                for email, ip in zip([A1] + others, ips(), strict=False)}
    with limited.app_context():
        portal.limiter.reset()  # the logins above drew on the same budgets
    wrong = {"first_name": "Pat", "last_name": "", "phone": "", "current_password": "nope",
             "new_password": "new-password-1", "confirm": "new-password-1"}

    def send():
        email, ip = next(limited.accounts), next(limited.ips)
        client = browsers[email]
        return client.post("/client/profile", environ_base={"REMOTE_ADDR": ip}, data={
            "csrf_token": csrf_token(client, "/client/profile"), **wrong})
    by_account(limited, A1)
    assert per_minute(limited, send) == [5, 5, 5, 5, 0]
    by_ip(limited, iter(others))
    assert per_minute(limited, send) == [10, 10, 10, 10, 10, 0]
    # Saving a name is no password guess: never limited.
    with limited.app_context():
        portal.limiter.reset()
    name_only = {"first_name": "Pat", "last_name": "", "phone": ""}
    client = browsers[A1]
    token = csrf_token(client, "/client/profile")
    codes = {client.post("/client/profile", data={"csrf_token": token, **name_only}).status_code
             for _ in range(12)}
    assert codes == {303}


def test_the_enabled_flag_does_not_leak_between_apps(limited, tmp_path):
    """Flask-Limiter keeps `enabled` on the one shared Limiter: an app created later with
    limits off must not switch them off for this one."""
    make_app(tmp_path, RATELIMIT_ENABLED=False)
    send = poster(limited, lambda a: "/client/login", login_form)
    by_account(limited, A1)
    assert [send().status_code for _ in range(6)][-1] == 429
