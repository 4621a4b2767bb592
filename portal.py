"""App factory, configuration from PORTAL_* variables and the `portal` CLI."""
import datetime as dt
import gc
import os
import secrets
import sys
from urllib.parse import urlparse

import click
from flask import Flask, abort, current_app, redirect, request, url_for
from flask.cli import ScriptInfo
from htmx_flask import Htmx
from htmx_flask.requests import HtmxAwareRequest
from playhouse.db_url import connect as connect_url

import assets
import instance_files
import models

# Views import these from extensions; some still do from here.
from extensions import compress, csrf, limiter, login_manager  # noqa: F401

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")


class Request(HtmxAwareRequest):
    """Body limits that no dependency update can drop.

    Url-encoded forms and JSON are read into memory whole, so they get small limits of their
    own (an API invoice of many lines may need more than a form); only multipart uploads may
    reach MAX_CONTENT_LENGTH. (Werkzeug 3.1.9 stopped
    applying max_form_memory_size to url-encoded forms: a 3 MB login field was read.)
    """

    @property
    def max_content_length(self):
        if self._max_content_length is not None:
            return self._max_content_length
        config = current_app.config
        if self.mimetype == "multipart/form-data":
            return config["MAX_CONTENT_LENGTH"]
        if self.is_json:
            return config["MAX_JSON_SIZE"]
        return config["MAX_BODY_SIZE"]

    @max_content_length.setter
    def max_content_length(self, value):
        self._max_content_length = value


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


def open_database(url, busy_timeout=10.0):
    if url.startswith(("postgres://", "postgresql://")):
        # One pool per process: a connection per request costs more than the request.
        url = "postgresql+pool://" + url.split("://", 1)[1]
        return connect_url(url, max_connections=32, stale_timeout=300)
    if url.startswith("sqlite:///"):
        # Pooled too: reconnecting and re-running the pragmas cost ~1 ms per request, and a
        # kept connection keeps its page cache warm. A pooled connection may serve another
        # thread later (never two at once), hence check_same_thread=False.
        url = "sqlite+pool:///" + url[len("sqlite:///"):]
    database = connect_url(url, max_connections=64, stale_timeout=300, check_same_thread=False,
                           pragmas={
        "journal_mode": "wal", "foreign_keys": 1, "busy_timeout": int(busy_timeout * 1000),
        "synchronous": "normal", "cache_size": -16000})
    return database


def create_app(test_config=None):
    app = Flask(__name__, template_folder="partials", static_folder="static",
                instance_relative_config=True)
    load_config(app, test_config)
    instance_files.secure(app)
    models.db.initialize(open_database(app.config["DATABASE_URL"],
                                      app.config["DATABASE_BUSY_TIMEOUT"]))

    Htmx(app)
    app.request_class = Request  # after Htmx(), which sets its own request class
    compress.init_app(app)
    assets.init_app(app)
    csrf.init_app(app)
    # Flask-Limiter keeps one `enabled` flag on the shared Limiter, set by each init_app and
    # skipping the app's hooks when off: so every app gets the hooks, and each request asks
    # its own app's setting (limits_off below).
    app.config["PORTAL_RATELIMIT_ENABLED"] = app.config["RATELIMIT_ENABLED"]
    app.config["RATELIMIT_ENABLED"] = limiter.enabled = True
    limiter.init_app(app)
    login_manager.init_app(app)

    from views import register_views
    register_views(app)

    @app.before_request
    def refuse_nul_bytes():
        # PostgreSQL refuses NUL in text, so such input would be a 500; no person types one.
        if any(isinstance(v, str) and "\x00" in v for v in (request.view_args or {}).values()):
            abort(404)
        values = list(request.args.values())
        if request.method in ("POST", "PUT", "PATCH"):
            values += request.form.values()
        if any(isinstance(v, str) and "\x00" in v for v in values):
            abort(400, "The request contains a character that is not allowed.")

    @app.before_request
    def connect_db():
        if request.endpoint not in ("static",):
            models.db.connect(reuse_if_open=True)

    @app.teardown_request
    def close_db(exc):
        if not models.db.is_closed():
            models.db.close()

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if app.config["BASE_URL"].startswith("https://") or request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint != "static":
            # Private pages: never kept by a shared cache, nor shown again after logout.
            headers.setdefault("Cache-Control", "no-store")
            if "HX-Request" not in headers.get("Vary", ""):
                headers.add("Vary", "HX-Request")
        return response

    @app.get("/healthz")
    def healthz():
        models.db.execute_sql("SELECT 1")
        return {"status": "ok"}

    @app.get("/")
    def index():
        return redirect(url_for("invoices.index"))

    @app.get("/client")
    @app.get("/client/")
    def client_root():
        return redirect(url_for("invoices.index"))

    app.add_url_rule("/favicon.ico", "favicon", lambda: abort(404))
    return app


# ---------------------------------------------------------------- CLI

@click.group()
def cli():
    """Client portal: `portal init`, `portal demo`, `portal serve`, ..."""


def _app():
    """The app for a command: the one a Flask test runner hands in, else one from PORTAL_*."""
    ctx = click.get_current_context()
    info = ctx.find_object(ScriptInfo)
    app = info.load_app() if info is not None and info.create_app else create_app()
    app_ctx = app.app_context()
    app_ctx.push()
    models.db.connect(reuse_if_open=True)

    def close():
        if not models.db.is_closed():
            models.db.close()
        app_ctx.pop()
    ctx.call_on_close(close)
    return app


@cli.command()
def init():
    """Create or upgrade the schema (idempotent)."""
    _app()
    models.create_tables()
    click.echo("Database ready.")


@cli.command()
def demo():
    """Create (once) a demo company with clients, contacts and records; print the logins."""
    _app()
    models.create_tables()
    import demo as demo_data
    for kind, email, password in demo_data.seed():
        click.echo(f"{kind} {email} password {password}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
# Pages are CPU work under one interpreter lock, and every SQLite call hands that lock to
# another thread: measured in bench/, the Invoices tab served ~630 req/s with p99 30 ms on
# 2 threads, ~545 req/s with p99 43 ms on 4 (the full page's p99 reached 51 ms). Two still
# let one request wait on SMTP or a payment gateway while the other serves.
@click.option("--threads", default=2, show_default=True, type=int)
def serve(host, port, threads):
    """Serve the portal with waitress."""
    import waitress
    app = create_app()
    with app.app_context():
        models.db.connect(reuse_if_open=True)
        models.create_tables()
        models.db.close()
    app.config["DEFAULT_BASE_URL"] = f"http://{host}:{port}"
    base = app.config["BASE_URL"] or app.config["DEFAULT_BASE_URL"]
    click.echo(f"Portal: {base}/client/login   Staff: {base}/admin/login")
    # Everything loaded so far lives as long as the process: keep it out of the cyclic
    # collector, whose full passes over it paused requests for ~50 ms (a p99 at load).
    gc.collect()
    gc.freeze()
    waitress.serve(app, host=host, port=port, threads=threads, ident="portal")


@cli.group()
def staff():
    """Staff accounts."""


@staff.command("create")
@click.argument("email")
def staff_create(email):
    """Create or update a staff login; the password is read from stdin."""
    from billing import DomainError, validation
    _app()
    models.create_tables()
    try:
        email = validation.email_address(email)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise click.ClickException("The password must have at least 8 characters.")
    user = models.StaffUser.get_or_none(models.StaffUser.email == email)
    if user is None:
        user = models.StaffUser(email=email)
    user.set_password(password)
    user.save()
    click.echo(f"staff {user.email} ready")


@cli.group()
def token():
    """API tokens."""


@token.command("create")
@click.argument("email")
@click.option("--name", default="cli")
def token_create(email, name):
    """Print a new API token for a staff user."""
    _app()
    user = models.StaffUser.get_or_none(models.StaffUser.email == email.lower())
    if user is None:
        raise click.ClickException(f"No staff user {email}.")
    value = secrets.token_urlsafe(32)
    models.ApiToken.create(staff=user, name=name, token_hash=models.hash_token(value))
    click.echo(value)


@cli.command("run-due")
def run_due():
    """One scheduler tick: recurring invoices, pre-payments, renewals, pending payments
    reconciled with the gateway, e-mail retries."""
    app = _app()
    from billing import scheduler
    lines = scheduler.run_due(app)
    for line in lines:
        click.echo(line)
    if any(line.endswith(scheduler.FAILED) for line in lines):
        sys.exit(1)  # every job ran; cron still hears that one of them failed


@cli.command()
@click.argument("path")
def backup(path):
    """Write everything this instance needs to PATH, one owner-only .tar.gz: a consistent
    snapshot of the SQLite database (the portal may keep running), the uploaded documents
    and the generated secret key. On PostgreSQL the database is NOT included: back it up
    with pg_dump; the archive then holds the uploads and the secret key."""
    app = _app()
    try:
        manifest = instance_files.backup(app, path)
    except instance_files.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    for line in instance_files.summary(manifest, f"Backed up to {path}"):
        click.echo(line)


@cli.command()
@click.argument("path")
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def restore(path, force):
    """Restore a `portal backup` archive into this instance (stop `portal serve` first).
    A database that already holds data is replaced only with --force. On PostgreSQL only
    the uploads and the secret key are restored: restore the database with pg_restore."""
    app = _app()
    try:
        manifest = instance_files.restore(app, path, force=force)
    except instance_files.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    for line in instance_files.summary(manifest, f"Restored {path}"):
        click.echo(line)


@cli.group()
def invoice():
    """The invoice lifecycle, as in the back office: email, mark-sent, mark-paid."""


def _invoice_command(action):
    @invoice.command(action.replace("_", "-"))
    @click.argument("number")
    def command(number):
        from billing import DomainError
        from billing import invoices as service
        app = _app()
        record = models.Invoice.get_or_none(models.Invoice.number == number)
        if record is None:
            raise click.ClickException(f"No invoice {number}.")
        config = dict(app.config)
        if action == "email" and not config["BASE_URL"]:
            raise click.ClickException("Set PORTAL_BASE_URL so the e-mailed link works.")
        try:
            if action == "email":
                service.email_invoice(record, config)
            else:
                getattr(service, action)(record)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        record = models.Invoice.get_by_id(record.id)
        click.echo(f"{record.number}: {record.status}, balance {record.balance}")
    command.__doc__ = {"email": "E-mail the invoice to every contact and mark it sent.",
                       "mark_sent": "Mark a draft sent without e-mailing it.",
                       "mark_paid": "Record a payment for the balance."}[action]
    return command


for _action in ("email", "mark_sent", "mark_paid"):
    _invoice_command(_action)
