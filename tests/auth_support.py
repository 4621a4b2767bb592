"""Helpers and fixtures for logging in with a password, a reset link and a two-factor code
(registered for every test module through conftest's pytest_plugins): `clock` fixes the
TOTP time step, `enrolled` is a contact with two-factor on."""
import re

import pyotp
import pytest

import models
from billing import two_factor
from billing.accounts import wait_for_queued_resets
from tests import factories
from tests.core_support import opened, post

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


def request_reset_link(client, email):
    response = post(client, "/client/password/reset", {"email": email},
                    token_from="/client/password/reset")
    assert response.status_code == 200
    wait_for_queued_resets()
    with opened(client.application):
        message = models.EmailMessage.select().where(models.EmailMessage.to == email) \
            .order_by(models.EmailMessage.id.desc()).first()
    match = re.search(r"http://portal\.test(/client/password/reset/\S+)", message.body_text)
    return match.group(1)
