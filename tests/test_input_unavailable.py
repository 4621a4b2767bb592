"""A locked database, a full disk or an unusable uploads folder: 503 with Retry-After and a
clear page, logged; and reads do not wait for a writer."""
import contextlib
import io
import sqlite3
import time

import pytest

import models
from tests import factories
from tests.conftest import TEST_DB, csrf_token, make_app
from tests.core_support import login_staff, opened, records_for

sqlite_only = pytest.mark.skipif(bool(TEST_DB), reason="SQLite's file lock")


@contextlib.contextmanager
def write_lock(app):
    """Another process's long write: an IMMEDIATE transaction held on the SQLite file."""
    path = app.config["DATABASE_URL"].split("///", 1)[1]
    other = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE company SET name = name")
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.fixture
def busy_app(tmp_path):
    app = make_app(tmp_path, DATABASE_BUSY_TIMEOUT=0.2)
    with opened(app):
        people = factories.two_clients()
        factories.invoice(people["a"], status="sent")
    yield app
    if not models.db.is_closed():
        models.db.close()


@sqlite_only
def test_write_past_the_busy_timeout_is_a_503_and_reads_go_on(busy_app, caplog):
    client = busy_app.test_client()
    token = csrf_token(client)
    client.post("/client/login", data={"email": "a1@alpha.example", "csrf_token": token,
                                       "password": factories.PASSWORD})
    token = csrf_token(client, "/client/profile")
    form = {"csrf_token": token, "first_name": "Changed", "last_name": "Name", "phone": ""}
    with write_lock(busy_app):
        # Reading pages does not wait for the writer (WAL): the Invoices tab still shows.
        started = time.monotonic()
        assert client.get("/client/invoices").status_code == 200
        assert time.monotonic() - started < 2
        response = client.post("/client/profile", data=form)
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        page = response.get_data(as_text=True)
        assert "busy right now" in page and "Nothing was changed" in page
        api = client.post("/api/v1/clients", json={"name": "X"},
                          headers={"X-API-TOKEN": "irrelevant"})
        assert api.status_code in (401, 503)  # token check reads; a write would be 503
    assert any("503 for POST /client/profile" in r.getMessage() for r in caplog.records)
    with opened(busy_app):
        assert models.Contact.get(models.Contact.email == "a1@alpha.example").first_name \
            == "Pat"
    # Once the writer is done, the same form goes through.
    assert client.post("/client/profile", data=form).status_code == 303


def test_unusable_uploads_folder_is_a_503(tmp_path, caplog):
    # Tests run as root, for whom a read-only folder is still writable: an uploads path
    # under a regular file fails the same way a read-only or missing mount does.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    app = make_app(tmp_path, UPLOAD_PATH=str(blocker / "uploads"))
    with opened(app):
        customer = factories.client()
        staff = factories.staff()
    client = app.test_client()
    login_staff(client, staff.email)
    token = csrf_token(client, "/admin/documents/")
    response = client.post("/admin/documents/", data={
        "csrf_token": token, "client_id": str(customer.id),
        "file": (io.BytesIO(b"%PDF-1.4 hello"), "terms.pdf")})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "300"
    assert "storage is not available" in response.get_data(as_text=True)
    assert any("503 for POST /admin/documents/" in r.getMessage() for r in caplog.records)
    with opened(app):
        assert not models.Document.select().exists()


@sqlite_only
def test_no_page_waits_for_a_long_writer(busy_app):
    """Reads never wait on a writer (WAL); the bookkeeping a view does (viewed at) is
    skipped while the database is busy, instead of stalling or failing the page."""
    with opened(busy_app):
        customer = models.Client.get(models.Client.name == "Alpha Ltd")
        records, keys = records_for(customer)
    client = busy_app.test_client()
    client.post("/client/login", data={"email": "a1@alpha.example", "csrf_token":
                                       csrf_token(client), "password": factories.PASSWORD})
    paths = ["/client/invoices", "/client/quotes", "/client/payments", "/client/credits",
             "/client/statement", "/client/documents", "/client/profile", "/healthz"]
    paths += [f"/client/{kind}/{records[tab].public_id}" for kind, tab in (
        ("invoices", "invoices"), ("quotes", "quotes"), ("credits", "credits"),
        ("payments", "payments"))]
    paths += [f"/client/{kind}/{key}" for kind, key in keys.items()]
    with write_lock(busy_app):
        for path in paths:
            # Before: a quote's page and an e-mailed link waited out the busy timeout
            # (10 s in production) to record the view, then failed.
            assert client.get(path).status_code in (200, 302), path
    with opened(busy_app):
        assert models.Quote.get_by_id(records["quotes"].id).viewed_at is None
    client.get(f"/client/quotes/{records['quotes'].public_id}")
    with opened(busy_app):  # recorded once the writer is gone
        assert models.Quote.get_by_id(records["quotes"].id).viewed_at is not None
