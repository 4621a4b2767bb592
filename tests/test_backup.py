"""`portal backup` / `portal restore` (DESIGN.md §6) and the owner-only instance files."""
import io
import json
import os
import stat
import tarfile

import pytest

import mail
import models
import portal
from billing import files
from tests import factories
from tests.conftest import TEST_DB, Auth, reset_database
from tests.core_support import opened, snapshot

DOCUMENT = b"%PDF-1.4 signed contract \x00\x01\x02"


@pytest.fixture
def instance(monkeypatch, tmp_path):
    """make(name): an app on its own instance folder with nothing but the defaults: SQLite
    file, uploads, outbox and generated secret key inside it (PostgreSQL when testing it)."""
    for name in ("PORTAL_SECRET_KEY", "PORTAL_DATABASE_URL", "PORTAL_ENV", "PORTAL_BASE_URL"):
        monkeypatch.delenv(name, raising=False)

    def make(name):
        monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / name))
        config = {"TESTING": True, "RATELIMIT_ENABLED": False, "BASE_URL": "http://portal.test"}
        if TEST_DB:
            config["DATABASE_URL"] = TEST_DB
        return portal.create_app(config)
    yield make
    if not models.db.is_closed():
        models.db.close()


def invoke(app, *args):
    return app.test_cli_runner().invoke(portal.cli, list(args))


def seed(app):
    """A company, two clients with invoices, and a shared document with its file."""
    with opened(app):
        reset_database()
        factories.company()
        people = factories.two_clients()
        factories.invoice(people["a"], status="sent")
        document = files.store(app.config["UPLOAD_PATH"], people["a"], "contract.pdf",
                               io.BytesIO(DOCUMENT), is_public=True)
    return document


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_backup_and_restore_round_trip(instance, tmp_path):
    one = instance("one")
    document = seed(one)
    browser = one.test_client()
    assert Auth(browser).login("a1@alpha.example").status_code == 302
    download = f"/client/documents/{document.public_id}/download"
    assert browser.get(download).data == DOCUMENT
    with opened(one):
        before = snapshot()
    archive = tmp_path / "portal-backup.tar.gz"
    result = invoke(one, "backup", str(archive))
    assert result.exit_code == 0, result.output
    assert "1 uploaded files" in result.output and "generated secret key" in result.output
    assert mode(archive) == 0o600

    two = instance("two")
    assert two.config["SECRET_KEY"] != one.config["SECRET_KEY"]  # a fresh instance
    result = invoke(two, "restore", str(archive))
    assert result.exit_code == 0, result.output
    with open(tmp_path / "two" / "secret_key") as f:
        assert f.read().strip() == one.config["SECRET_KEY"]
    # The restored instance runs with the restored key, as `portal serve` would start it.
    two = instance("two")
    assert two.config["SECRET_KEY"] == one.config["SECRET_KEY"]
    with opened(two):
        assert snapshot() == before
    # The contact's session cookie from before the backup still works, and so does the file.
    moved = two.test_client()
    moved.set_cookie("session", browser.get_cookie("session").value)
    response = moved.get(download)
    assert response.status_code == 200 and response.data == DOCUMENT
    for path in (tmp_path / "two" / "uploads" / document.storage_name,
                 tmp_path / "two" / "secret_key"):
        assert mode(path) == 0o600
    assert mode(tmp_path / "two" / "uploads") == 0o700


@pytest.mark.skipif(bool(TEST_DB), reason="the SQLite database is in the archive")
def test_restore_refuses_a_database_with_data_unless_forced(instance, tmp_path):
    one = instance("one")
    seed(one)
    archive = tmp_path / "backup.tar.gz"
    assert invoke(one, "backup", str(archive)).exit_code == 0
    with opened(one):
        factories.client(name="Added after the backup")
        after = snapshot()
    refused = invoke(one, "restore", str(archive))
    assert refused.exit_code != 0 and "already holds data" in refused.output
    assert "--force" in refused.output
    with opened(one):
        assert snapshot() == after
    forced = invoke(one, "restore", "--force", str(archive))
    assert forced.exit_code == 0, forced.output
    with opened(one):
        assert not models.Client.select().where(
            models.Client.name == "Added after the backup").exists()
        assert models.Client.select().count() == 2


def archive_of(tmp_path, entries, name="crafted.tar.gz"):
    """A .tar.gz with exactly `entries`: (TarInfo fields, bytes) as an attacker makes it."""
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as tar:
        for fields, data in entries:
            info = tarfile.TarInfo(fields["name"])
            for key, value in fields.items():  # never popped: a parameter serves each run
                if key != "name":
                    setattr(info, key, value)
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def manifest(**overrides):
    data = {"format": "client-portal-backup", "version": 1, "created_at": "2026-01-01T00:00:00Z",
            "database": "postgresql" if TEST_DB else "sqlite", "database_included": False,
            "secret_key_included": False, "uploads": 1, "rows": {}, **overrides}
    return ({"name": "manifest.json"}, json.dumps(data).encode())


@pytest.mark.parametrize("entries, message", [
    ([manifest(), ({"name": "uploads/../../escaped"}, b"x")], "unexpected entry"),
    ([manifest(), ({"name": "/tmp/escaped-absolute"}, b"x")], "unexpected entry"),
    ([manifest(), ({"name": "../escaped"}, b"x")], "unexpected entry"),
    ([manifest(), ({"name": "uploads/.hidden"}, b"x")], "unexpected entry"),
    ([manifest(), ({"name": "uploads/link", "type": tarfile.SYMTYPE,
                    "linkname": "/etc/passwd"}, b"")], "not a plain file"),
    ([manifest(), ({"name": "uploads/hard", "type": tarfile.LNKTYPE,
                    "linkname": "secret_key"}, b"")], "not a plain file"),
    ([({"name": "uploads/abc"}, b"x")], "no manifest"),
    ([manifest(format="something-else")], "another format"),
    ([manifest(version=99)], "version 99"),
    ([manifest(database_included=True)], "does not hold what its manifest lists"),
    ([({"name": "manifest.json"}, b"{not json")], "damaged"),
])
def test_restore_refuses_bad_archives_and_changes_nothing(instance, tmp_path, entries,
                                                          message):
    app = instance("target")
    seed(app)
    uploads_before = sorted(os.listdir(app.config["UPLOAD_PATH"]))
    with opened(app):
        before = snapshot()
    with open(tmp_path / "target" / "secret_key") as f:
        secret = f.read()
    result = invoke(app, "restore", str(archive_of(tmp_path, entries)))
    assert result.exit_code != 0 and message in result.output, result.output
    with opened(app):
        assert snapshot() == before
    assert sorted(os.listdir(app.config["UPLOAD_PATH"])) == uploads_before
    with open(tmp_path / "target" / "secret_key") as f:
        assert f.read() == secret
    assert not (tmp_path / "escaped").exists() and not os.path.exists("/tmp/escaped-absolute")
    assert not [n for n in os.listdir(tmp_path / "target") if n.startswith(".restore-")]


def test_restore_refuses_what_is_not_a_backup(instance, tmp_path):
    app = instance("target")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive at all")
    result = invoke(app, "restore", str(junk))
    assert result.exit_code != 0 and "is not a portal backup" in result.output
    missing = invoke(app, "restore", str(tmp_path / "nowhere.tar.gz"))
    assert missing.exit_code != 0 and "is not a portal backup" in missing.output


@pytest.mark.skipif(bool(TEST_DB), reason="the SQLite database is in the archive")
def test_restore_refuses_a_damaged_database(instance, tmp_path):
    app = instance("target")
    entries = [manifest(database_included=True),
               ({"name": "database.sqlite3"}, b"SQLite format 3\x00" + b"\xff" * 200)]
    result = invoke(app, "restore", str(archive_of(tmp_path, entries)))
    assert result.exit_code != 0 and "damaged" in result.output, result.output


@pytest.mark.skipif(not TEST_DB, reason="PostgreSQL: the database is left to pg_dump")
def test_backup_on_postgresql_says_the_database_is_not_included(instance, tmp_path):
    app = instance("one")
    seed(app)
    archive = tmp_path / "backup.tar.gz"
    result = invoke(app, "backup", str(archive))
    assert result.exit_code == 0, result.output
    assert "NOT included" in result.output and "pg_dump" in result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "database.sqlite3" not in names and "secret_key" in names
    assert any(name.startswith("uploads/") for name in names)


def test_instance_files_are_owner_only(instance, tmp_path):
    app = instance("one")
    seed(app)
    with opened(app):
        message = mail.queue("a1@alpha.example", "Reset", "https://portal.test/reset/KEY")
        assert mail.deliver(message, app.config)
    root = tmp_path / "one"
    outbox = os.listdir(root / "outbox")
    uploads = os.listdir(root / "uploads")
    assert outbox and uploads
    for folder in (root, root / "outbox", root / "uploads"):
        assert mode(folder) == 0o700, folder
    paths = [root / "secret_key", *(root / "outbox" / n for n in outbox),
             *(root / "uploads" / n for n in uploads)]
    if not TEST_DB:
        paths += [root / "portal.sqlite3", root / "portal.sqlite3-wal",
                  root / "portal.sqlite3-shm"]
    for path in paths:
        assert mode(path) == 0o600, path
    archive = tmp_path / "backup.tar.gz"
    assert invoke(app, "backup", str(archive)).exit_code == 0
    assert mode(archive) == 0o600


def test_an_older_instance_is_tightened_on_start(instance, tmp_path):
    """Files an earlier version left world-readable are closed by upgrading."""
    app = instance("old")
    seed(app)
    root = tmp_path / "old"
    loose = [root / "secret_key"] + ([] if TEST_DB else [root / "portal.sqlite3"])
    for folder in (root, root / "uploads"):
        os.chmod(folder, 0o755)
    for path in loose:
        os.chmod(path, 0o644)
    instance("old")
    for folder in (root, root / "uploads"):
        assert mode(folder) == 0o700
    for path in loose:
        assert mode(path) == 0o600
