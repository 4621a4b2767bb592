"""E-mailed links live as long as they should and no longer: a document link the company's
invitation_ttl_days (90 by default), a password-reset link an hour. The clock is moved
forward through models.utcnow, which every expiry check reads."""
import datetime as dt
import re

import pytest

import models
from billing import accounts, notifications
from tests import factories
from tests.core_support import opened

A1 = "a1@alpha.example"


def later(monkeypatch, delta):
    """Every models.utcnow() from now on reads `delta` later than the real clock."""
    real = models.utcnow
    monkeypatch.setattr(models, "utcnow", lambda: real() + delta)


def link_in(message, pattern):
    return re.search(r"http://portal\.test(" + pattern + r"[A-Za-z0-9_-]+)",
                     message.body_text).group(1)


def invitation_link(app, world):
    with opened(app):
        message = notifications.invoice_email(world["invoices"]["sent"], world["a1"],
                                              app.config)
    return link_in(message, "/client/invoice/")


def test_an_invoice_link_lives_for_the_companys_invitation_days(app, world, monkeypatch):
    with opened(app):
        assert models.Company.current().invitation_ttl_days == 90
        sent_at = models.utcnow()
    link = invitation_link(app, world)
    with opened(app):
        expires = models.Invitation.select().order_by(models.Invitation.id.desc()).get() \
            .expires_at
    assert abs(expires - (sent_at + dt.timedelta(days=90))) < dt.timedelta(minutes=1)
    later(monkeypatch, dt.timedelta(days=89, hours=23))
    assert app.test_client().get(link).status_code == 302  # still opens (and signs in)
    later(monkeypatch, dt.timedelta(days=90, minutes=1))
    assert app.test_client().get(link).status_code == 404


def test_the_invitation_days_are_the_companys_setting(app, world, monkeypatch):
    with opened(app):
        factories.company(invitation_ttl_days=7)
    link = invitation_link(app, world)
    later(monkeypatch, dt.timedelta(days=7, minutes=1))
    assert app.test_client().get(link).status_code == 404


@pytest.fixture
def reset_link(app, world):
    with opened(app):
        message = accounts.request_password_reset(A1, app.config)
        expires = models.PasswordReset.get().expires_at
        assert abs(expires - models.utcnow() - dt.timedelta(minutes=60)) < dt.timedelta(
            minutes=1)
    assert "60 minutes" in message.body_text or "1 hour" in message.body_text
    return link_in(message, "/client/password/reset/")


def test_a_reset_link_works_within_the_hour(app, reset_link, monkeypatch):
    later(monkeypatch, dt.timedelta(minutes=59))
    assert app.test_client().get(reset_link).status_code == 200


def test_a_reset_link_dies_after_an_hour(app, reset_link, monkeypatch):
    later(monkeypatch, dt.timedelta(minutes=61))
    page = app.test_client().get(reset_link)
    assert page.status_code == 404 and "This link no longer works" in page.get_data(
        as_text=True)
