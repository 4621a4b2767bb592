"""App factory and the `portal` CLI; configuration is read by settings.py."""
import gc
import os
import secrets
import sys

import click
from flask import Flask, abort, current_app, redirect, request, url_for
from flask.cli import ScriptInfo
from htmx_flask import Htmx
from htmx_flask.requests import HtmxAwareRequest
from playhouse.db_url import connect as connect_url

import assets
import i18n
import instance_files
import models
from extensions import CSP, babel, compress, csrf, limiter, login_manager, select_locale
from settings import load_config

# Beside this file whether the portal runs from a checkout or an installed copy.
TRANSLATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "translations")


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
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", TRANSLATIONS)
    babel.init_app(app, locale_selector=select_locale)
    i18n.install_template_gettext(app)
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
@click.option("--cpu", default="auto", show_default=True, metavar="auto|any|N",
              help="The CPU that runs this process's threads: auto picks one by port, so "
                   "processes on consecutive ports use different CPUs; any lets them move.")
def serve(host, port, threads, cpu):
    """Serve the portal with waitress."""
    import waitress
    keep_on_one_cpu(cpu, port)
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
    import pdf
    pdf.start_worker(app)
    waitress.serve(app, host=host, port=port, threads=threads, ident="portal")


def serving_cpu(choice, port, allowed):
    """The CPU `portal serve` keeps its threads on, or None to leave them free to move.

    Python runs one thread at a time, so one process gains little from a second CPU, and
    handing the interpreter lock and every request between threads on two CPUs costs a wake-up
    of the other CPU each time: measured with wrk at 16 connections on a 2-CPU virtual machine,
    a bare waitress app served 161 req/s (p99 287 ms) free to move and 4,600 (p99 12 ms) on
    one CPU. Several processes on one machine spread by port (DESIGN.md §1).
    """
    allowed = sorted(allowed)
    if choice == "any":
        return None
    if choice == "auto":
        return allowed[port % len(allowed)] if len(allowed) > 1 else None
    if choice.isdigit() and int(choice) in allowed:
        return int(choice)
    raise click.BadParameter(
        f"expected auto, any or one of the CPUs this process may use: "
        f"{', '.join(map(str, allowed))}", param_hint="--cpu")


def keep_on_one_cpu(choice, port):
    pinnable = hasattr(os, "sched_setaffinity")  # Linux; elsewhere threads stay free to move
    allowed = os.sched_getaffinity(0) if pinnable else range(os.cpu_count() or 1)
    cpu = serving_cpu(choice, port, allowed)
    if pinnable and cpu is not None:
        # Before any thread starts: threads inherit the CPU of the thread that starts them.
        os.sched_setaffinity(0, {cpu})


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
    with scheduler.single_run(app) as ours:
        if not ours:
            # Not a failure: the running tick does this work, and cron should stay quiet.
            click.echo("another run-due is running on this database; it does the work")
            return
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
