"""Two `portal run-due` ticks overlapping on one SQLite file (issue 11, Rules): neither may
crash with "database is locked", and no work is done twice."""
import datetime as dt
import fcntl
import os
import pathlib
import subprocess
import sys

import pytest

import mail
import models
import portal
from billing import scheduler
from tests import factories
from tests.conftest import TEST_DB
from tests.core_support import opened, race

pytestmark = pytest.mark.skipif(bool(TEST_DB), reason="the SQLite overlap; PostgreSQL claims rows")
PORTAL = pathlib.Path(sys.executable).with_name("portal")


def seed(instance, messages=150, templates=5, days_behind=4):
    """An instance folder whose database holds due work for every kind of job."""
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(instance),
           "PORTAL_BASE_URL": "http://portal.test"}
    env.pop("PORTAL_DATABASE_URL", None)
    app = portal.create_app()
    with opened(app):
        models.create_tables()
        factories.company()
        start = models.utcnow().date() - dt.timedelta(days=days_behind)
        with models.db.atomic():
            for n in range(messages):
                mail.queue(f"person{n}@test.example", f"Message {n}", "Body")
            for n in range(templates):
                client = factories.client()
                template = models.RecurringInvoice.create(
                    client=client, number=f"REC-{n}", status="active", currency="USD",
                    frequency="daily", start_date=start, next_send_date=start, total=1000)
                models.LineItem.create(recurring=template, product="Hosting", quantity=1,
                                       unit_cost=1000, amount=1000)
    return env


@pytest.fixture
def instance(tmp_path, monkeypatch):
    folder = tmp_path / "instance"
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(folder))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    yield folder
    if not models.db.is_closed():
        models.db.close()


def database_counts(instance):
    import sqlite3
    with sqlite3.connect(instance / "portal.sqlite3") as db:
        invoices = db.execute("SELECT count(*), count(DISTINCT recurring_id || '/' || date) "
                              "FROM invoice").fetchone()
        queued = db.execute("SELECT count(*) FROM emailmessage WHERE status = 'queued' "
                            "AND subject LIKE 'Message %'").fetchone()[0]
    return invoices, queued


@pytest.mark.parametrize("attempt", range(3))
def test_two_overlapping_run_due_both_finish_and_nothing_is_done_twice(instance, attempt):
    env = seed(instance)
    runs = [subprocess.Popen([str(PORTAL), "run-due"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [run.communicate(timeout=300) for run in runs]
    for run, (out, err) in zip(runs, results, strict=True):
        assert run.returncode == 0, (out, err)
        assert "locked" not in err and "FAILED" not in out, (out, err)
    outputs = "".join(out for out, _ in results)
    (made, distinct), queued = database_counts(instance)
    # 5 templates, 5 due dates each (4 days behind, and today): each issued once.
    assert made == distinct == 25
    assert outputs.count("issued") <= 2
    # Every delivery is counted in a tick's output: a message sent twice would make the
    # counts add up to more than left the queue.
    sent = sum(int(line.split()[1]) for line in outputs.splitlines()
               if line.startswith("e-mail:"))
    assert sent == 150 - queued
    assert len(list((instance / "outbox").glob("*.eml"))) == sent


def test_a_second_tick_leaves_the_work_to_the_running_one_and_exits_0(instance):
    env = seed(instance, messages=3, templates=1, days_behind=0)
    with open(instance / f"portal.sqlite3-{scheduler.LOCK_NAME}", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a tick in progress
        waiting = subprocess.run([str(PORTAL), "run-due"], env=env, capture_output=True,
                                 text=True, timeout=300)
    assert waiting.returncode == 0, waiting.stderr
    assert "another run-due is running" in waiting.stdout
    (made, _), queued = database_counts(instance)
    assert (made, queued) == (0, 3)  # it did nothing
    after = subprocess.run([str(PORTAL), "run-due"], env=env, capture_output=True, text=True,
                           timeout=300)
    assert after.returncode == 0 and "recurring invoices: 1 issued" in after.stdout
    assert "e-mail: 3 delivered" in after.stdout


def test_single_run_keeps_two_threads_apart_too(app, tmp_path):
    with app.app_context():
        assert scheduler.lock_path(app) == f"{tmp_path}/test.sqlite3-run-due.lock"
        with scheduler.single_run(app) as first:
            with scheduler.single_run(app, wait=0.2) as second:
                assert (first, second) == (True, False)
        with scheduler.single_run(app, wait=0) as again:
            assert again is True


def test_mail_delivery_from_two_connections_at_once_sends_each_message_once(app, tmp_path):
    """The serve process's worker and a tick deliver at the same time: reading the due ids
    first keeps the claims from failing on a stale SQLite snapshot."""
    with opened(app):
        with models.db.atomic():
            for n in range(120):
                mail.queue(f"person{n}@test.example", f"Message {n}", "Body")
    config = {**app.config, "SMTP_URL": ""}
    results = race(app, 2, lambda i: mail.deliver_due(config, limit=200))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(sent for sent, _ in results) == 120
    assert len(list(pathlib.Path(app.config["OUTBOX_PATH"]).glob("*.eml"))) == 120
