"""One `run-due` tick (billing.scheduler): its jobs in their order, the line each prints, a
failing job reported without stopping the others, and the SQLite lock that makes two ticks
take turns."""
import logging
import os
import time

import pytest

import models
from billing import scheduler
from tests.conftest import TEST_DB
from tests.core_support import opened
from tests.run_due_support import seed

QUIET = [
    "subscriptions: 0 ended as cancelled",
    "subscription renewals: 0 invoiced (0 to charge, 0 without a saved method), 0 reactivated",
    "recurring invoices: 0 issued",
    "auto-bill: 0 paid, 0 to retry, 0 given up, 0 processing, 0 without a saved method",
    "recurring pre-payments: 0 charged, 0 failed, 0 still processing",
    "pending payments: 0 completed, 0 failed, 0 still processing, 0 for staff to check",
    "subscription purchases: 0 left unpaid lapsed",
    "reminders: 0 sent, 0 late fees added",
    "generated files: 0 made, 0 old ones removed",
    "e-mail: 0 delivered, 0 to retry",
]


def test_the_jobs_run_in_the_order_their_work_depends_on():
    assert [run.__name__ for run in scheduler.JOBS] == [
        "subscription_endings", "subscription_renewals", "recurring_invoices", "auto_bill",
        "recurring_prepayments", "pending_payments", "lapsed_purchases", "reminders",
        "generated_files", "email_retries"]


def test_a_quiet_tick_says_so_job_by_job(app):
    with opened(app):
        assert scheduler.run_due(app) == QUIET


def test_a_busy_tick_counts_each_jobs_work(app, demo_gateway):
    with opened(app):
        seed(demo_gateway)
        lines = scheduler.run_due(app)
    assert lines[2:5] == [
        "recurring invoices: 3 issued",
        "auto-bill: 3 paid, 0 to retry, 0 given up, 0 processing, 0 without a saved method",
        "recurring pre-payments: 2 charged, 0 failed, 0 still processing"]
    assert lines[7] == "reminders: 1 sent, 1 late fees added"
    # The reminder went out as it was made; nothing was left for the retries.
    assert lines[:2] + lines[5:7] + lines[8:] == QUIET[:2] + QUIET[5:7] + QUIET[8:]


def test_a_failing_job_is_reported_and_the_others_still_run(app, monkeypatch, caplog):
    ran = []

    def first_job(app):
        ran.append("first")
        return "first: done"

    def broken_job(app):
        raise RuntimeError("a bad row")

    def last_job(app):
        ran.append("last")
        return "last: done"

    monkeypatch.setattr(scheduler, "JOBS", [first_job, broken_job, last_job])
    with caplog.at_level(logging.ERROR, logger="portal.scheduler"):
        assert scheduler.run_due(app) == [
            "first: done", "broken job: FAILED (see the log)", "last: done"]
    assert ran == ["first", "last"]
    assert [r.getMessage() for r in caplog.records] == ["run-due job broken_job failed"]
    assert "a bad row" in caplog.records[0].exc_text


@pytest.mark.skipif(bool(TEST_DB), reason="the SQLite lock; PostgreSQL ticks share the work")
def test_on_sqlite_the_lock_sits_beside_the_database_and_a_second_tick_waits_then_leaves(app):
    with opened(app):
        database = models.db.obj.database
        assert scheduler.lock_path(app) == f"{database}-run-due.lock"
        with scheduler.single_run(app) as first:
            assert first is True
            started = time.monotonic()
            with scheduler.single_run(app, wait=0.3) as second:
                assert second is False
            assert 0.3 <= time.monotonic() - started < 2
        with scheduler.single_run(app, wait=0) as after:
            assert after is True
    assert os.path.exists(f"{database}-run-due.lock")


@pytest.mark.skipif(not TEST_DB, reason="PostgreSQL takes no lock")
def test_on_postgresql_every_tick_runs(app):
    with opened(app), scheduler.single_run(app, wait=0) as first, \
            scheduler.single_run(app, wait=0) as second:
        assert first is second is True


@pytest.mark.parametrize("database", [":memory:", "file:portal?mode=memory", ""])
def test_a_database_with_no_file_keeps_its_lock_in_the_instance_folder(app, monkeypatch,
                                                                        tmp_path, database):
    monkeypatch.setattr(models.db.obj, "database", database)
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    for _ in range(2):  # the folder is made once and found the second time
        assert scheduler.lock_path(app) == str(tmp_path / "instance" / "run-due.lock")
    assert (tmp_path / "instance").is_dir()
