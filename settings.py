"""Configuration from PORTAL_* variables, and the settings production refuses to run with."""
import datetime as dt
import os
import secrets
from urllib.parse import urlparse

import instance_files

ENVIRONMENTS = ("development", "production")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def _hours(env, name, default):
    raw = env.get(name, "").strip()
    try:
        hours = float(raw) if raw else default
    except ValueError:
        raise RuntimeError(f"{name} must be a number of hours, not {raw!r}.") from None
    if not 0 < hours <= 24 * 31:
        raise RuntimeError(f"{name} must be between 0 and 744 hours.")
    return hours


def load_config(app, test_config):
    env = os.environ
    instance = env.get("PORTAL_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
    app.instance_path = os.path.abspath(instance)
    instance_files.private_dir(app.instance_path)
    # "Production" must not quietly run as development: known names only, in any case.
    portal_env = (env.get("PORTAL_ENV", "").strip() or "development").lower()
    if portal_env not in ENVIRONMENTS:
        raise RuntimeError(f"PORTAL_ENV={env['PORTAL_ENV']!r} is not known: "
                           f"use {' or '.join(ENVIRONMENTS)}.")
    trusted = [h.strip() for h in env.get("PORTAL_TRUSTED_HOSTS", "").split(",") if h.strip()]
    app.config.from_mapping(
        PORTAL_ENV=portal_env,
        DATABASE_URL=env.get("PORTAL_DATABASE_URL")
        or "sqlite:///" + os.path.join(app.instance_path, "portal.sqlite3"),
        # Seconds a write waits for another writer's lock on SQLite before answering 503.
        DATABASE_BUSY_TIMEOUT=float(env.get("PORTAL_DATABASE_BUSY_TIMEOUT", "10")),
        SMTP_URL=env.get("PORTAL_SMTP_URL", ""),
        # A private CA (or a self-signed certificate) the SMTP server's TLS is checked against.
        SMTP_CA_FILE=env.get("PORTAL_SMTP_CA_FILE", ""),
        BASE_URL=env.get("PORTAL_BASE_URL", "").rstrip("/"),
        # E-mailed links when PORTAL_BASE_URL is unset and no trusted host is asked for: the
        # serve address (`portal serve` sets it), never a Host header nobody vouched for.
        DEFAULT_BASE_URL="http://127.0.0.1:5000",
        # Flask answers 400 to any other Host header.
        TRUSTED_HOSTS=trusted or None,
        SECRET_KEY=env.get("PORTAL_SECRET_KEY") or (test_config or {}).get("SECRET_KEY")
        or instance_secret(app.instance_path),
        OUTBOX_PATH=os.path.join(app.instance_path, "outbox"),
        UPLOAD_PATH=os.path.join(app.instance_path, "uploads"),
        # Files the PDF worker makes (long statements): a shared folder when several serve.
        GENERATED_PATH=os.path.join(app.instance_path, "generated"),
        # A statement with more rows than this is made off the request thread (~1 s of WeasyPrint).
        STATEMENT_INLINE_ROWS=200,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=env.get("PORTAL_BASE_URL", "").startswith("https://"),
        REMEMBER_COOKIE_SAMESITE="Lax",
        # Absolute session lifetimes from login (views/sessions.py checks them).
        CONTACT_SESSION_HOURS=_hours(env, "PORTAL_SESSION_HOURS", 12),
        STAFF_SESSION_HOURS=_hours(env, "PORTAL_STAFF_SESSION_HOURS", 8),
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,  # multipart uploads
        MAX_JSON_SIZE=2 * 1024 * 1024,  # API bodies
        MAX_BODY_SIZE=200_000,  # any other body, e.g. a url-encoded form
        MAX_FORM_MEMORY_SIZE=200_000,  # one text field of a multipart form
        WTF_CSRF_TIME_LIMIT=None,
        # Set per app: Flask-Limiter keeps its own flag on the one shared Limiter, which the
        # last app created would otherwise set for every app (see create_app).
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=env.get("PORTAL_RATELIMIT_STORAGE_URL", "memory://"),
        RATELIMIT_HEADERS_ENABLED=True,
        PAGE_SIZE=25,
        SEND_FILE_MAX_AGE_DEFAULT=31536000,
        # Pages are small: the fastest levels compress them nearly as well, at a fraction
        # of the CPU a request costs.
        COMPRESS_BR_LEVEL=1,
        COMPRESS_LEVEL=1,
        COMPRESS_ZSTD_LEVEL=1,  # static URLs carry a content hash
        # Dynamic pages carry no ETag (assets.py answers conditional requests for static).
        COMPRESS_EVALUATE_CONDITIONAL_REQUEST=False,
    )
    if test_config:
        app.config.update(test_config)
    # The signed cookie itself expires too, whatever the session inside says.
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=max(
        app.config["CONTACT_SESSION_HOURS"], app.config["STAFF_SESSION_HOURS"]))
    if app.config["PORTAL_ENV"] == "production":
        check_production(app.config, env, test_config)


def check_production(config, env, test_config):
    """Refuse to start in production with a setting that would be unsafe there."""
    if not env.get("PORTAL_SECRET_KEY") and not test_config:
        raise RuntimeError("PORTAL_ENV=production needs PORTAL_SECRET_KEY set.")
    if len(config["SECRET_KEY"]) < 32:
        raise RuntimeError("PORTAL_ENV=production needs a PORTAL_SECRET_KEY of at least 32 "
                           "characters (e.g. `python -c 'import secrets; "
                           "print(secrets.token_hex(32))'`).")
    if not config["BASE_URL"].startswith("https://"):
        raise RuntimeError("PORTAL_ENV=production needs an https:// PORTAL_BASE_URL.")
    smtp = urlparse(config["SMTP_URL"])
    if smtp.scheme not in ("", "smtps", "smtp+starttls") and smtp.hostname not in LOCAL_HOSTS:
        # Passwords and reset links would cross the network in clear text.
        raise RuntimeError("PORTAL_ENV=production refuses plain smtp:// to another host: use "
                           "smtps:// or smtp+starttls:// in PORTAL_SMTP_URL.")


def instance_secret(instance_path):
    """A secret generated once per instance, so a fresh install needs no configuration."""
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    with open(path) as f:
        return f.read().strip()
