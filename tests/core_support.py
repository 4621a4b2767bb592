"""Helpers for the foundation tests: records of every kind, snapshots, query counting, SMTP."""
import contextlib
import datetime as dt
import json
import logging
import os
import re
import socket
import subprocess
import threading
import time

import pytest
from flask import current_app

import models
from tests import factories
from tests.conftest import csrf_token

ALERT_RE = re.compile(r'role="alert">([^<]*)<')


def alert(response):
    """The error message a page shows (the role=alert paragraph), or None."""
    match = ALERT_RE.search(response.get_data(as_text=True))
    return match.group(1).strip() if match else None


@contextlib.contextmanager
def opened(app):
    """An app context with an open connection, for setting up or checking records."""
    with app.test_request_context():
        models.db.connect(reuse_if_open=True)
        try:
            yield
        finally:
            models.db.close()


def refusal(call, error=None):
    """The DomainError (or `error`) that call() raises, after checking it wrote nothing."""
    from billing import DomainError
    before = snapshot()
    with pytest.raises(error or DomainError) as refused:
        call()
    assert snapshot() == before
    return refused.value


def refused(call, *args, **kwargs):
    """(message, field) of the DomainError that call(*args, **kwargs) raises: a refusal
    checked word for word, with the field it names."""
    from billing import DomainError
    with pytest.raises(DomainError) as refusal_raised:
        call(*args, **kwargs)
    return refusal_raised.value.message, refusal_raised.value.field


def activities(action):
    """(subject id, client, contact, staff, detail) of each `action` logged, oldest first."""
    A = models.Activity
    return [(a.subject_id, a.client_id, a.contact_id, a.staff_id, a.detail)
            for a in A.select().where(A.action == action).order_by(A.id)]


def snapshot():
    """Every row of every table: compare two snapshots to prove nothing changed."""
    state = {}
    for model in models.MODELS:
        rows = model.select().order_by(model._meta.primary_key).tuples()
        state[model.__name__] = [tuple(str(v) for v in row) for row in rows]
    return state


def pdf_text(data):
    """The text of a PDF as pdftotext reads it, whitespace runs folded to one space: what a
    person sees, with no dependence on where the layout wraps or how wide a column is."""
    assert data.startswith(b"%PDF"), data[:40]
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                            check=True, timeout=60)
    return " ".join(result.stdout.decode().split())


def post(client, path, data=None, **kw):
    """A form POST with a valid CSRF token taken from a page of this session."""
    token = csrf_token(client, kw.pop("token_from", "/client/login"))
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kw)


def login_staff(client, email, password=factories.PASSWORD):
    token = csrf_token(client, "/admin/login")
    return client.post("/admin/login", data={"email": email, "password": password,
                                             "csrf_token": token})


def records_for(client, *, with_keys=True):
    """One visible record of every kind the portal shows, for `client`; call inside opened()."""
    today = models.utcnow().date()
    inv = factories.invoice(client, status="sent", due_date=today + dt.timedelta(30))
    quote = models.Quote.create(client=client, number=f"QUO-{client.id}-1", status="sent",
                                date=today, currency=client.currency, total=5000)
    credit = models.Credit.create(client=client, number=f"CR-{client.id}-1", status="sent",
                                  date=today, currency=client.currency, total=2000,
                                  balance=2000)
    recurring = models.RecurringInvoice.create(
        client=client, number=f"REC-{client.id}-1", status="active", currency=client.currency,
        start_date=today)
    payment = models.Payment.create(client=client, number=f"PAY-{client.id}-1",
                                    status="completed", date=today, currency=client.currency,
                                    amount=1000)
    gateway = models.GatewayConfig.get_or_none(models.GatewayConfig.kind == "demo") or \
        models.GatewayConfig.create(kind="demo", label="Demo")
    method = models.GatewayToken.create(client=client, gateway=gateway, token=f"tok_{client.id}",
                                        brand="visa", last4="4242", exp_month=12, exp_year=2030)
    document = models.Document.create(client=client, filename="terms.pdf",
                                      storage_name=f"doc{client.id}", is_public=True)
    upload_path = current_app.config["UPLOAD_PATH"]
    os.makedirs(upload_path, exist_ok=True)
    with open(os.path.join(upload_path, document.storage_name), "wb") as f:
        f.write(b"%PDF-1.4 terms")
    plan = models.Plan.get_or_none(models.Plan.name == "Basic") or models.Plan.create(
        name="Basic", price=1000, currency=client.currency)
    subscription = models.Subscription.create(client=client, plan=plan, started_at=today,
                                              payment_method=method)
    prepayment = models.PrepaymentSchedule.create(client=client, amount=5000,
                                                  currency=client.currency, next_date=today)
    # A card payment waiting for the customer's bank (3-D Secure): what /complete resumes.
    pending = models.Payment.create(client=client, number="", status="pending", date=today,
                                    currency=client.currency, amount=1000, gateway=gateway,
                                    method="card", gateway_reference=f"pi_{client.id}",
                                    idempotency_key=f"pending-{client.id}")
    # A long statement's PDF on its way (/client/statement/pdf/<public_id> shows its progress).
    statement_file = models.GeneratedFile.create(
        client=client, kind="statement", fingerprint=f"records-for-{client.id}",
        filename="statement.pdf", params=json.dumps(
            {"client_id": client.id, "start": today.isoformat(), "end": today.isoformat(),
             "status": "all", "locale": "en_US"}))
    records = {
        "invoices": inv, "quotes": quote, "credits": credit, "recurring": recurring,
        "payments": payment, "pending_payments": pending, "payment_methods": method,
        "documents": document,
        "subscriptions": subscription, "pre_payment": prepayment,
        "statement_files": statement_file, "plans": plan,
    }
    keys = {}
    if with_keys:
        contact = client.contacts.first()
        for kind, record in (("invoice", inv), ("quote", quote), ("credit", credit)):
            keys[kind] = models.Invitation.issue(contact, 30, **{kind: record})
    return records, keys


class QueryCounter(logging.Handler):
    """Counts the SQL statements peewee runs while active (peewee logs each at DEBUG)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.statements = []
        self.threads = []

    def emit(self, record):
        if record.name == "peewee":  # not peewee.pool's connection bookkeeping
            self.statements.append(record.getMessage())
            self.threads.append(record.thread)

    def __enter__(self):
        self.logger = logging.getLogger("peewee")
        self.old_level = self.logger.level
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self)
        self.logger.setLevel(self.old_level)

    @property
    def count(self):
        return len(self.statements)


class HeldPort(int):
    """A loopback port for a server started later, never a fixed one. We keep it bound but
    not listening: connecting is refused (a server that is down), and no other process or
    xdist worker can take it until release(), called just before our server binds it."""

    def __new__(cls):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = super().__new__(cls, sock.getsockname()[1])
        port.sock = sock
        return port

    def release(self):
        self.sock.close()


@contextlib.contextmanager
def interleaved(statement, change, *, elsewhere=None):
    """Run `change` once just before the first SQL statement that `statement` (a regular
    expression; "BEGIN" for the start of a transaction) matches at its start: what another
    request committing between this one's read and its write leaves. A race test (race()
    below) gets there only when the timing falls that way; this reaches a second guard (a
    conditional UPDATE that finds the row changed) every time.

    By default the change runs on this connection, on either engine: it joins this
    request's transaction, so a refusal rolls it back with the rest (check the refusal, and
    that nothing was written, with refusal()). With `elsewhere` (the app), it runs on its
    own connection and commits first, as another request would; on SQLite only up to this
    request's "BEGIN", where its writer lock is taken. Yields the statements it fired
    before."""
    database, fired = models.db.obj, []
    run_statement, run_begin = database.execute_sql, database.begin

    def before(sql):
        if not fired and re.match(statement, sql):
            fired.append(sql)
            if elsewhere is None:
                change()
            else:
                (result,) = race(elsewhere, 1, lambda _: change())
                if isinstance(result, Exception):
                    raise AssertionError(f"the change elsewhere failed: {result!r}")

    def execute_sql(sql, *args, **kwargs):
        before(sql)
        return run_statement(sql, *args, **kwargs)

    def begin(*args, **kwargs):  # Peewee opens a transaction on the cursor, not execute_sql
        before("BEGIN")
        return run_begin(*args, **kwargs)
    database.execute_sql, database.begin = execute_sql, begin
    try:
        yield fired
    finally:
        del database.execute_sql, database.begin


def race(app, count, work):
    """Run work(i) on `count` threads released at one moment; each result or exception."""
    barrier = threading.Barrier(count, timeout=60)
    results = [None] * count

    def runner(i):
        with app.app_context():
            models.db.connect(reuse_if_open=True)
            try:
                barrier.wait()
                results[i] = work(i)
            except Exception as exc:  # noqa: BLE001  (the test asserts what each one got)
                results[i] = exc
            finally:
                models.db.close()

    threads = [threading.Thread(target=runner, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
        assert not thread.is_alive(), "a racing thread never finished"
    return results


def wait_for_server(what, check, proc=None, log_path=None, timeout=60):
    """Wait until check() is true for a helper server a test started (localstripe, Redis,
    SMTP). A server that exits or stays silent past `timeout` fails the test there and
    then, with what it printed (log_path), instead of leaving later requests to time out."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        try:
            if check():
                return
        except Exception as exc:  # noqa: BLE001 - not up yet, whatever the failure: ask again
            last = exc
        time.sleep(0.1)
    fail_server(what, proc, log_path, f"did not answer within {timeout} s (last error: "
                                      f"{last!r})")


def fail_server(what, proc=None, log_path=None, reason="did not come up"):
    if proc is not None and proc.poll() is not None:
        reason = f"exited with status {proc.returncode}"
    elif proc is not None:
        proc.kill()
        proc.wait(10)
    output = ""
    if log_path and os.path.exists(log_path):
        with open(log_path, errors="replace") as log:
            output = log.read()[-5000:]
    pytest.fail(f"{what} {reason}.\n--- its output ---\n{output or '(none)'}", pytrace=False)


def start_smtp_server(handler, port, **kwargs):
    """aiosmtpd on 127.0.0.1:port (a HeldPort, released here just before it binds);
    keyword arguments go to its Controller (TLS, login). Fails the test loudly if the
    server is not ready within 30 s (aiosmtpd's own wait is 5 s, short on a busy machine)."""
    from aiosmtpd.controller import Controller
    port.release()
    controller = Controller(handler, hostname="127.0.0.1", port=int(port), ready_timeout=30,
                            **kwargs)
    try:
        controller.start()
    except Exception as exc:  # noqa: BLE001 - whatever stopped it, say so and stop here
        pytest.fail(f"aiosmtpd on port {int(port)} did not come up: {exc!r}", pytrace=False)
    return controller
