"""E-mailed links never come from a forged Host; production refuses unsafe settings."""
import os
import re
import threading

import pytest

import models
import portal
from billing.accounts import wait_for_queued_resets
from tests import factories
from tests.conftest import CSRF_RE, make_app
from tests.core_support import QueryCounter, opened

A1 = "a1@alpha.example"


def ask_for_reset(app, host):
    """A reset request as sent to `host` (the Host header is whatever the sender says)."""
    client = app.test_client()
    base = f"http://{host}"
    page = client.get("/client/password/reset", base_url=base)
    if page.status_code != 200:
        return page
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    response = client.post("/client/password/reset", base_url=base,
                           data={"email": A1, "csrf_token": token})
    wait_for_queued_resets()
    return response


def outbox_text(app):
    folder = app.config["OUTBOX_PATH"]
    if not os.path.isdir(folder):
        return ""
    texts = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            texts.append(f.read().replace("=\n", ""))
    return "\n".join(texts)


def links(app):
    return re.findall(r"(https?://[^/\s]+)/client/password/reset/", outbox_text(app))


@pytest.fixture
def unconfigured(tmp_path):
    """No PORTAL_BASE_URL, no trusted hosts: the default outside production."""
    app = make_app(tmp_path, BASE_URL="")
    with opened(app):
        factories.contact(email=A1)
    return app


def test_forged_host_never_reaches_an_email(unconfigured):
    response = ask_for_reset(unconfigured, "evil.example")
    assert response.status_code == 200
    assert "evil.example" not in outbox_text(unconfigured)
    assert links(unconfigured) == ["http://127.0.0.1:5000"]


def test_trusted_hosts_give_links_to_the_host_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_TRUSTED_HOSTS", "portal.example, www.portal.example")
    app = make_app(tmp_path, BASE_URL="")
    assert app.config["TRUSTED_HOSTS"] == ["portal.example", "www.portal.example"]
    with opened(app):
        factories.contact(email=A1)
    assert ask_for_reset(app, "evil.example").status_code == 400
    assert ask_for_reset(app, "www.portal.example").status_code == 200
    assert links(app) == ["http://www.portal.example"]
    with opened(app):
        assert models.EmailMessage.select().count() == 1


def test_base_url_wins_over_any_host(tmp_path):
    app = make_app(tmp_path, BASE_URL="https://portal.example")
    with opened(app):
        factories.contact(email=A1)
    ask_for_reset(app, "evil.example")
    assert links(app) == ["https://portal.example"]


# ------------------------------------------------------------------ production settings

@pytest.fixture
def production(monkeypatch, tmp_path):
    for name in ("PORTAL_SECRET_KEY", "PORTAL_BASE_URL", "PORTAL_DATABASE_URL", "PORTAL_ENV",
                 "PORTAL_SMTP_URL", "PORTAL_TRUSTED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("PORTAL_SECRET_KEY", "k" * 32)
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.example")
    return monkeypatch


def test_production_starts_with_sound_settings(production):
    for smtp in ("", "smtps://u:p@mail.example", "smtp+starttls://mail.example:587",
                 "smtp://localhost:25", "smtp://127.0.0.1:1025"):
        production.setenv("PORTAL_SMTP_URL", smtp)
        assert portal.create_app().config["PORTAL_ENV"] == "production"


def test_production_refuses_a_short_secret(production):
    production.setenv("PORTAL_SECRET_KEY", "x")
    with pytest.raises(RuntimeError, match="at least 32 characters"):
        portal.create_app()


def test_production_refuses_plain_smtp_to_another_host(production):
    production.setenv("PORTAL_SMTP_URL", "smtp://user:pass@mail.example:25")
    with pytest.raises(RuntimeError, match="smtps:// or smtp\\+starttls://"):
        portal.create_app()


def test_production_needs_a_base_url(production):
    production.delenv("PORTAL_BASE_URL")
    with pytest.raises(RuntimeError, match="PORTAL_BASE_URL"):
        portal.create_app()


@pytest.mark.parametrize("value", ["Production", "PRODUCTION", " production "])
def test_portal_env_is_case_insensitive(production, value):
    production.setenv("PORTAL_ENV", value)
    production.setenv("PORTAL_SECRET_KEY", "x")  # refused in production, so it must be
    with pytest.raises(RuntimeError, match="at least 32 characters"):
        portal.create_app()


@pytest.mark.parametrize("value", ["prod", "staging", "dev"])
def test_unknown_portal_env_is_refused(production, value):
    production.setenv("PORTAL_ENV", value)
    with pytest.raises(RuntimeError, match="PORTAL_ENV"):
        portal.create_app()


def test_hsts_when_the_portal_is_https(tmp_path):
    https = make_app(tmp_path, BASE_URL="https://portal.example").test_client()
    header = https.get("/client/login").headers.get("Strict-Transport-Security", "")
    assert header.startswith("max-age=") and int(header.split("=")[1]) >= 15552000
    plain = make_app(tmp_path, BASE_URL="http://portal.test").test_client()
    assert "Strict-Transport-Security" not in plain.get("/client/login").headers


# ------------------------------------------------------------------ reset requests

def request_statements(app, email):
    """The SQL the reset request itself runs (on this thread), not the worker's."""
    client = app.test_client()
    token = CSRF_RE.search(client.get("/client/password/reset").get_data(as_text=True)).group(1)
    me = threading.get_ident()
    with QueryCounter() as counter:
        client.post("/client/password/reset", data={"email": email, "csrf_token": token})
        mine = [s for s, thread in zip(counter.statements, counter.threads, strict=True)
                if thread == me]
    wait_for_queued_resets()
    return [re.sub(r", \[.*\]\)$", ")", s) for s in mine]  # the SQL, not its values


def test_reset_request_does_the_same_work_for_known_and_unknown_addresses(unconfigured):
    """Timing must not tell which addresses have accounts: the request takes one path."""
    known = request_statements(unconfigured, A1)
    unknown = request_statements(unconfigured, "ghost@nowhere.example")
    assert known == unknown
    with opened(unconfigured):
        assert models.EmailMessage.select().count() == 1  # the known one was still sent
