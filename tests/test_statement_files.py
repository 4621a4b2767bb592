"""Statements: quick ranges, the paid/unpaid filter, and long PDFs made off the request thread."""
import datetime as dt
import os
import subprocess
import time

import pytest

import models
import pdf
import portal
from billing import generated, statements
from tests import factories
from tests.conftest import Auth, make_app
from tests.core_support import opened, race

PERIOD = "start_date=2026-09-01&end_date=2026-10-31"


def pdf_text(data):
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


@pytest.mark.parametrize("name, today, expected", [
    ("this_month", "2026-03-31", ("2026-03-01", "2026-03-31")),
    ("last_month", "2026-03-31", ("2026-02-01", "2026-02-28")),
    ("last_month", "2024-03-01", ("2024-02-01", "2024-02-29")),  # leap year
    ("last_month", "2026-01-15", ("2025-12-01", "2025-12-31")),
    ("this_quarter", "2026-03-31", ("2026-01-01", "2026-03-31")),
    ("this_quarter", "2026-11-26", ("2026-10-01", "2026-11-26")),
    ("this_quarter", "2026-04-01", ("2026-04-01", "2026-04-01")),
    ("this_year", "2026-11-26", ("2026-01-01", "2026-11-26")),
    ("last_year", "2026-01-01", ("2025-01-01", "2025-12-31")),
])
def test_quick_ranges(name, today, expected):
    start, end = statements.quick_range(name, dt.date.fromisoformat(today))
    assert (start.isoformat(), end.isoformat()) == expected


def test_all_time_starts_at_the_first_record_but_never_past_the_limit():
    today = dt.date(2026, 11, 26)
    assert statements.quick_range("all_time", today, dt.date(2024, 5, 3)) == (
        dt.date(2024, 5, 3), today)
    start, end = statements.quick_range("all_time", today, dt.date(2001, 1, 1))
    assert (end - start).days == statements.MAX_DAYS
    statements.parse_period(start.isoformat(), end.isoformat())  # accepted as it stands
    assert statements.quick_range("all_time", today) == (today, today)
    assert statements.quick_range("next_century", today) is None


@pytest.fixture
def big(tmp_path):
    """Client A with three invoices in the period; any statement over two rows is 'long'."""
    app = make_app(tmp_path, STATEMENT_INLINE_ROWS=2, GENERATED_PATH=str(tmp_path / "generated"))
    with opened(app):
        people = factories.two_clients()
        invoices = [factories.invoice(people["a"], date=dt.date(2026, 9, day))
                    for day in (5, 12, 19)]
        models.Invoice.update(balance=0, status="paid").where(
            models.Invoice.id == invoices[0].id).execute()
        other = factories.invoice(people["b"], date=dt.date(2026, 9, 7))
    yield {"app": app, "invoices": invoices, "other": other, **people}
    if not models.db.is_closed():
        models.db.close()


def logged_in(app, email="a1@alpha.example"):
    client = app.test_client()
    Auth(client).login(email)
    return client


def jobs(app):
    with app.app_context():
        return list(models.GeneratedFile.select().order_by(models.GeneratedFile.id))


def test_paid_and_unpaid_filters(big):
    client = logged_in(big["app"])
    numbers = [invoice.number for invoice in big["invoices"]]
    unpaid = client.get(f"/client/statement?{PERIOD}&status=unpaid").get_data(as_text=True)
    assert numbers[1] in unpaid and numbers[2] in unpaid and numbers[0] not in unpaid
    paid = client.get(f"/client/statement?{PERIOD}&status=paid").get_data(as_text=True)
    assert numbers[0] in paid and numbers[1] not in paid
    everything = client.get(f"/client/statement?{PERIOD}").get_data(as_text=True)
    assert all(number in everything for number in numbers)
    with big["app"].app_context():
        account = statements.build(big["a"], dt.date(2026, 9, 1), dt.date(2026, 10, 31))
        only_unpaid = statements.build(big["a"], dt.date(2026, 9, 1), dt.date(2026, 10, 31),
                                       "unpaid")
    # The filter narrows the rows, never the account's totals.
    assert only_unpaid.closing == account.closing and only_unpaid.ageing == account.ageing
    assert [row[5] for row in only_unpaid.rows] == [10000, 10000]  # each invoice's balance


def test_quick_range_links_on_the_statement_tab(big):
    client = logged_in(big["app"])
    page = client.get("/client/statement").get_data(as_text=True)
    today = models.utcnow().date()
    this_month = f"start_date={today.replace(day=1).isoformat()}&amp;end_date={today.isoformat()}"
    assert f'href="/client/statement?{this_month}&amp;status=all" hx-get' in page
    assert "aria-current" in page  # the default period is "this month"
    for label in ("Last month", "This quarter", "This year", "Last year", "All time"):
        assert label in page


def test_a_long_statement_is_made_off_the_request_and_reused(big):
    app, client = big["app"], logged_in(big["app"])
    asked = client.get(f"/client/statement/pdf?{PERIOD}")
    assert asked.status_code == 303
    progress_url = asked.headers["Location"]
    [job] = jobs(app)
    assert job.status == "queued"
    assert progress_url.endswith(f"/client/statement/pdf/{job.public_id}")

    waiting = client.get(progress_url)
    body = waiting.get_data(as_text=True)
    assert waiting.status_code == 200 and "queued" in body
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in body
    assert 'hx-trigger="load delay:2s"' in body
    fragment = client.get(progress_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'id="statement-progress"' in fragment

    assert pdf.make_queued(app) == 1
    ready = client.get(progress_url).get_data(as_text=True)
    assert "ready" in ready and "refresh" not in ready and "hx-trigger" not in ready
    download = client.get(f"/client/statement/pdf?{PERIOD}&status=all")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    text = pdf_text(download.data)
    assert all(invoice.number in text for invoice in big["invoices"])
    assert big["other"].number not in text and "Alpha Ltd" in text

    [made] = jobs(app)
    again = client.get(f"/client/statement/pdf?{PERIOD}")
    assert again.status_code == 200 and again.data == download.data
    assert pdf.make_queued(app) == 0
    [still] = jobs(app)
    assert still.storage_name == made.storage_name

    with app.app_context():  # new money in the period: a different statement, a new file
        models.Invoice.update(balance=5000).where(
            models.Invoice.id == big["invoices"][1].id).execute()
    assert client.get(f"/client/statement/pdf?{PERIOD}").status_code == 303
    assert [j.status for j in jobs(app)] == ["ready", "queued"]


def test_a_short_statement_is_made_in_the_request(big):
    client = logged_in(big["app"])
    response = client.get("/client/statement/pdf?start_date=2026-09-01&end_date=2026-09-06")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert jobs(big["app"]) == []


def test_progress_is_scoped_to_the_client(big):
    app = big["app"]
    logged_in(app).get(f"/client/statement/pdf?{PERIOD}")
    [job] = jobs(app)
    assert logged_in(app, "b1@beta.example").get(
        f"/client/statement/pdf/{job.public_id}").status_code == 404
    assert logged_in(app).get("/client/statement/pdf/not-a-real-id").status_code == 404
    anonymous = app.test_client().get(f"/client/statement/pdf/{job.public_id}")
    assert anonymous.status_code == 302 and "/client/login" in anonymous.headers["Location"]


def test_a_failed_file_says_so_and_asking_again_retries(big, monkeypatch):
    app, client = big["app"], logged_in(big["app"])
    progress_url = client.get(f"/client/statement/pdf?{PERIOD}").headers["Location"]

    def broken(params):
        raise RuntimeError("fonts missing")
    monkeypatch.setitem(pdf.MAKERS, "statement", broken)
    assert pdf.make_queued(app) == 0
    page = client.get(progress_url).get_data(as_text=True)
    assert "could not be made" in page and "Try again" in page and "refresh" not in page
    monkeypatch.undo()
    assert client.get(f"/client/statement/pdf?{PERIOD}").status_code == 303
    [job] = jobs(app)
    assert job.status == "queued" and job.attempts == 0
    assert pdf.make_queued(app) == 1


def test_a_worker_that_died_is_replaced_and_a_killer_file_given_up(big):
    app = big["app"]
    logged_in(app).get(f"/client/statement/pdf?{PERIOD}")
    with app.app_context():
        claimed = generated.claim_next()
        assert claimed is not None and generated.claim_next() is None  # taken: not twice
        later = models.utcnow() + generated.STALE_AFTER + dt.timedelta(seconds=1)
        again = generated.claim_next(now=later)
        assert again.id == claimed.id and again.attempts == 2
        # The first worker wakes up late: its file no longer counts.
        assert not generated.finish(claimed, app.config["GENERATED_PATH"], b"%PDF-late")
        assert os.listdir(app.config["GENERATED_PATH"]) == []
        third = generated.claim_next(now=later + generated.STALE_AFTER * 2)
        assert third.attempts == generated.MAX_ATTEMPTS
        assert generated.claim_next(now=later + generated.STALE_AFTER * 5) is None
        assert models.GeneratedFile.get_by_id(third.id).status == "failed"


def test_racing_requests_queue_one_file(big):
    app = big["app"]
    with app.app_context():
        statement = statements.build(big["a"], dt.date(2026, 9, 1), dt.date(2026, 10, 31))

    def ask(_):
        with app.test_request_context():
            return pdf.statement_file(statement, "en_US").id

    results = race(app, 4, ask)
    assert len(set(results)) == 1 and all(isinstance(r, int) for r in results)
    assert len(jobs(app)) == 1


def test_the_serve_worker_makes_the_file_while_the_person_waits(big):
    app, client = big["app"], logged_in(big["app"])
    worker = pdf.start_worker(app, interval=0.2)
    try:
        progress_url = client.get(f"/client/statement/pdf?{PERIOD}").headers["Location"]
        deadline = time.monotonic() + 90
        while "ready" not in client.get(progress_url).get_data(as_text=True):
            assert time.monotonic() < deadline, "the worker never made the file"
            time.sleep(0.2)
    finally:
        assert worker.stop(), "the worker thread did not stop"
    assert client.get(f"/client/statement/pdf?{PERIOD}").data.startswith(b"%PDF")


def test_run_due_makes_queued_files_and_forgets_old_ones(big):
    app = big["app"]
    logged_in(app).get(f"/client/statement/pdf?{PERIOD}")
    result = app.test_cli_runner().invoke(portal.cli, ["run-due"])
    assert result.exit_code == 0, result.output
    assert "generated files: 1 made, 0 old ones removed" in result.output
    [job] = jobs(app)
    path = generated.path_of(app.config["GENERATED_PATH"], job)
    assert os.path.exists(path)
    with app.app_context():
        assert generated.clean_up(app.config["GENERATED_PATH"],
                                  now=models.utcnow() + generated.KEEP_FOR
                                  - dt.timedelta(minutes=1)) == 0
        removed = generated.clean_up(app.config["GENERATED_PATH"],
                                     now=models.utcnow() + generated.KEEP_FOR * 2)
    assert removed == 1 and not os.path.exists(path) and jobs(app) == []
