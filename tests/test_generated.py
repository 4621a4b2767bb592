"""The queue of files made off the request (billing.generated), rule by rule: the fingerprint,
asking for a file again, which job a worker takes and when a dead worker's job is taken over
or given up, finishing and failing only one's own job, and what is forgotten when."""
import datetime as dt
import hashlib
import os

import pytest

import models
from billing import generated
from tests import factories

NOW = dt.datetime(2026, 11, 27, 12, 0)
G = models.GeneratedFile


@pytest.fixture
def client(db):
    return factories.client(name="Gamma Co")


def job(client, name="a", **fields):
    return G.create(client=client, kind="statement", fingerprint=name * 64,
                    filename=f"{name}.pdf", **fields)


def fresh(row):
    return G.get_by_id(row.id)


def test_a_fingerprint_is_the_digest_of_its_compact_sorted_json():
    digest = generated.fingerprint("statement", {"end": dt.date(2026, 1, 31), "client": 7}, 2)
    expected = '["statement",{"client":7,"end":"2026-01-31"},2]'
    assert digest == hashlib.sha256(expected.encode()).hexdigest()
    assert digest == generated.fingerprint("statement", {"client": 7,
                                                         "end": dt.date(2026, 1, 31)}, 2)


def test_asking_again_gives_the_same_job_and_another_clients_digest_is_refused(client, tmp_path):
    first = generated.request(client, "statement", "d" * 64, {"start": dt.date(2026, 1, 1)},
                              "s.pdf", str(tmp_path))
    assert (first.status, first.params_dict(), first.filename) == (
        "queued", {"start": "2026-01-01"}, "s.pdf")
    assert generated.request(client, "statement", "d" * 64, {}, "s.pdf", str(tmp_path)
                             ).id == first.id
    with pytest.raises(ValueError, match=r"^fingerprint reused across clients$"):
        generated.request(factories.client(), "statement", "d" * 64, {}, "s.pdf", str(tmp_path))
    assert G.select().count() == 1


def test_a_request_that_loses_the_race_to_queue_shares_the_winners_job(client, tmp_path,
                                                                         monkeypatch):
    other = job(client, "o")
    winner = []
    found = G.get_or_none

    def queued_meanwhile(*args):
        if not winner:  # another process queues the same file between the read and the insert
            winner.append(job(client, "w"))
            return None
        return found(*args)

    monkeypatch.setattr(G, "get_or_none", queued_meanwhile)
    shared = generated.request(client, "statement", "w" * 64, {}, "w.pdf", str(tmp_path))
    assert shared.id == winner[0].id != other.id
    assert G.select().count() == 2


def test_a_failed_job_or_a_ready_one_whose_file_is_gone_is_queued_afresh(client, tmp_path):
    failed = job(client, "f", status="failed", attempts=3, error="boom", started_at=NOW)
    gone = job(client, "g", status="ready", storage_name="missing", started_at=NOW)
    (tmp_path / "kept").write_bytes(b"%PDF")
    kept = job(client, "k", status="ready", storage_name="kept", started_at=NOW)
    for row in (failed, gone, kept):
        generated.request(client, "statement", row.fingerprint, {}, "x.pdf", str(tmp_path))
    for row in (failed, gone):
        again = fresh(row)
        assert (again.status, again.attempts, again.error, again.started_at) == (
            "queued", 0, "", None)
    assert (fresh(kept).status, fresh(kept).started_at) == ("ready", NOW)


def test_a_running_job_is_taken_over_only_once_it_is_stale(client):
    started = job(client, "s", status="running", attempts=1,
                  started_at=NOW - generated.STALE_AFTER)
    assert generated.claim_next(NOW) is None
    later = NOW + dt.timedelta(seconds=1)
    taken = generated.claim_next(later)
    assert (taken.id, taken.status, taken.attempts, taken.started_at) == (
        started.id, "running", 2, later)


def test_a_job_that_stopped_its_worker_three_times_is_given_up(client):
    stale = NOW - generated.STALE_AFTER - dt.timedelta(seconds=1)
    killer = job(client, "k", status="running", attempts=3, started_at=stale)
    at_the_edge = job(client, "e", status="running", attempts=3,
                      started_at=NOW - generated.STALE_AFTER)
    running = job(client, "r", status="running", attempts=3, started_at=NOW)
    spent = job(client, "q", status="queued", attempts=3)
    assert generated.claim_next(NOW) is None
    assert (fresh(killer).status, fresh(killer).error) == (
        "failed", "Making this file stopped its worker.")
    assert [fresh(row).status for row in (at_the_edge, running, spent)] == [
        "running", "running", "queued"]


def test_a_worker_takes_the_oldest_waiting_job_and_only_that_one(client):
    for index in range(10):
        job(client, f"{index}", status="ready")
    oldest, newer = job(client, "o"), job(client, "n")
    taken = generated.claim_next(NOW)
    assert (taken.id, taken.attempts, taken.started_at) == (oldest.id, 1, NOW)
    assert (fresh(newer).status, fresh(newer).attempts) == ("queued", 0)
    assert generated.claim_next(NOW).id == newer.id
    assert generated.claim_next(NOW) is None


def test_finishing_keeps_the_file_privately_under_a_random_name(client, tmp_path):
    job(client, "q")
    taken = generated.claim_next(NOW)
    folder = str(tmp_path / "generated")
    assert generated.finish(taken, folder, b"%PDF-1.7 made") is True
    done = fresh(taken)
    assert (done.status, done.size, done.error) == ("ready", 13, "")
    assert done.finished_at is not None
    assert len(done.storage_name) == 32 and int(done.storage_name, 16) >= 0
    path = generated.path_of(folder, done)
    assert path == os.path.join(folder, done.storage_name)
    with open(path, "rb") as made:
        assert made.read() == b"%PDF-1.7 made"
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_a_job_taken_over_meanwhile_is_not_finished_or_failed_by_its_first_worker(
        client, tmp_path):
    row = job(client, "q")
    first = generated.claim_next(NOW)
    models.GeneratedFile.update(error="earlier").where(G.id == row.id).execute()
    second = generated.claim_next(NOW + generated.STALE_AFTER + dt.timedelta(seconds=1))
    folder = tmp_path / "generated"
    assert generated.finish(first, str(folder), b"late") is False
    assert os.listdir(folder) == []
    generated.fail(first, "late failure")
    assert (fresh(row).status, fresh(row).error, fresh(row).started_at) == (
        "running", "earlier", second.started_at)


def test_failing_records_the_first_500_characters_for_that_job_alone(client):
    job(client, "a")
    job(client, "b")
    first, second = generated.claim_next(NOW), generated.claim_next(NOW)
    generated.fail(first, "x" * 600)
    failed = fresh(first)
    assert (failed.status, failed.error) == ("failed", "x" * 500)
    assert failed.finished_at is not None
    assert (fresh(second).status, fresh(second).error) == ("running", "")


def test_a_job_with_no_file_has_no_path(client, tmp_path):
    assert generated.path_of(str(tmp_path), job(client, "q")) == ""


def test_the_progress_line_counts_the_jobs_still_waiting_ahead(client):
    job(client, "1", status="ready")
    job(client, "2")
    job(client, "3", status="running", started_at=NOW)
    job(client, "4", status="failed")
    mine = job(client, "5")
    job(client, "6")
    assert generated.waiting_before(mine) == 2


def test_clean_up_forgets_finished_files_older_than_a_week_and_keeps_the_rest(client,
                                                                               tmp_path):
    week_ago = NOW - generated.KEEP_FOR
    older = week_ago - dt.timedelta(seconds=1)
    (tmp_path / "old").write_bytes(b"%PDF")
    old_ready = job(client, "r", status="ready", storage_name="old", created_at=older)
    old_gone = job(client, "g", status="ready", storage_name="already-gone", created_at=older)
    old_failed = job(client, "f", status="failed", created_at=older)
    kept = [job(client, "q", created_at=older),
            job(client, "u", status="running", started_at=NOW, created_at=older),
            job(client, "w", status="ready", created_at=week_ago)]
    assert generated.clean_up(str(tmp_path), NOW) == 3
    assert not (tmp_path / "old").exists()
    remaining = {row.id for row in G.select()}
    assert remaining == {row.id for row in kept}
    assert not remaining & {old_ready.id, old_gone.id, old_failed.id}
    assert generated.clean_up(str(tmp_path), NOW) == 0
