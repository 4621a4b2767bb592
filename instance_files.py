"""What an instance keeps on disk, owner-only, and `portal backup` / `portal restore`.

The database, the uploads, the outbox (it holds live reset and invitation links), the secret
key and backups are as sensitive as each other: every one is created readable by the owner
only (files 0600, folders 0700), whatever the process umask.

A backup is one .tar.gz: database.sqlite3 (a consistent snapshot taken with
SQLite's online backup, so the portal may keep serving), uploads/<name> and secret_key (the
generated one; a key given in PORTAL_SECRET_KEY stays with the configuration) and
manifest.json (format version, date, database kind, what is included). On PostgreSQL
the archive holds no database: pg_dump and pg_restore do that job better than we could, so
`portal backup` says so instead of hiding it.
"""
import datetime as dt
import io
import json
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile

import models

FORMAT = "client-portal-backup"
VERSION = 1
DATABASE_MEMBER = "database.sqlite3"
SECRET_MEMBER = "secret_key"
MANIFEST_MEMBER = "manifest.json"
# Upload names are ours (random hex); anything else in an archive is refused, never written.
UPLOAD_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
PG_DUMP_HINT = ('The database is not in this archive: back it up with pg_dump, e.g. '
                'pg_dump --format=custom "$PORTAL_DATABASE_URL" > portal.dump')


class BackupError(Exception):
    """A refused backup or restore; the message says why, and nothing was changed."""


# ---------------------------------------------------------------- owner-only files

def private_dir(path):
    """Create a folder 0700, or tighten one an older version left readable to others."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    _tighten(path, 0o700)


def open_private(path, mode="wb"):
    """Open a file for writing that only the owner can read ("wb" or "xb")."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if "x" in mode else os.O_TRUNC)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)  # the mode above applies only when the file is new
        return os.fdopen(fd, mode.replace("x", "w"))
    except BaseException:
        os.close(fd)
        raise


def _tighten(path, mode):
    try:
        os.chmod(path, mode)
    except OSError:
        pass  # not ours to change (e.g. a shared mount); the folder modes still apply


def sqlite_file(url):
    """The file behind a sqlite:/// URL, or None (PostgreSQL, in-memory)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    return None if path in ("", ":memory:") else path


def secure(app):
    """Make the instance owner-only before anything is written to it.

    The SQLite file is created here, empty and 0600, because SQLite gives its -wal and
    -shm files the database's own mode. Files an older version created are tightened, so
    upgrading closes the hole too.
    """
    private_dir(app.instance_path)
    for key in ("OUTBOX_PATH", "UPLOAD_PATH"):
        if os.path.isdir(app.config[key]):
            _tighten(app.config[key], 0o700)
    _tighten(os.path.join(app.instance_path, "secret_key"), 0o600)
    database = sqlite_file(app.config["DATABASE_URL"])
    if database is None:
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):
        pass  # exists already, or its folder is missing (SQLite will say so)
    for path in (database, database + "-wal", database + "-shm"):
        if os.path.exists(path):
            _tighten(path, 0o600)


# ---------------------------------------------------------------- backup

def _kind():
    return "sqlite" if models.on_sqlite() else "postgresql"


def _generated_secret(app):
    """The instance's generated key file, when it is the key in use (not PORTAL_SECRET_KEY)."""
    path = os.path.join(app.instance_path, "secret_key")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return path if f.read().strip() == app.config["SECRET_KEY"] else None


def _uploads(folder):
    if not os.path.isdir(folder):
        return []
    return sorted(name for name in os.listdir(folder) if UPLOAD_NAME_RE.fullmatch(name)
                  and os.path.isfile(os.path.join(folder, name))
                  and not os.path.islink(os.path.join(folder, name)))


def _row_counts(connection):
    counts = {}
    for model in models.MODELS:
        table = model._meta.table_name
        try:
            (counts[table],) = connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
        except sqlite3.OperationalError:  # a table this instance never created
            counts[table] = 0
    return counts


def _add(tar, name, data=None, path=None):
    info = tarfile.TarInfo(name)
    info.mode, info.mtime = 0o600, int(dt.datetime.now(dt.UTC).timestamp())
    if path is not None:
        with open(path, "rb") as f:
            info.size = os.fstat(f.fileno()).st_size
            tar.addfile(info, f)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def backup(app, target):
    """Write the archive to `target` (replaced atomically, 0600); return its manifest."""
    target = os.path.abspath(target)
    folder = os.path.dirname(target)
    if os.path.isdir(target) or not os.path.isdir(folder):
        raise BackupError(f"{target} must be a file in an existing folder, "
                          "e.g. backups/portal-2026-01-31.tar.gz.")
    kind = _kind()
    secret = _generated_secret(app)
    scratch = tempfile.mkdtemp(dir=folder, prefix=".portal-backup-")  # 0700
    try:
        snapshot = None
        if kind == "sqlite":
            snapshot = os.path.join(scratch, DATABASE_MEMBER)
            copy = sqlite3.connect(snapshot)
            try:
                # SQLite's online backup: a consistent copy while requests keep writing.
                models.db.connection().backup(copy)
                rows = _row_counts(copy)
            finally:
                copy.close()
        else:
            rows = {m._meta.table_name: m.select().count() for m in models.MODELS
                    if m.table_exists()}
        archive = os.path.join(scratch, "archive.tar.gz")
        uploaded = 0
        with open_private(archive, "xb") as out, tarfile.open(fileobj=out, mode="w:gz") as tar:
            if snapshot:
                _add(tar, DATABASE_MEMBER, path=snapshot)
            if secret:
                _add(tar, SECRET_MEMBER, path=secret)
            # Listed after the snapshot: an upload's file is written before its row commits,
            # so every document in the snapshot finds its file here.
            for name in _uploads(app.config["UPLOAD_PATH"]):
                try:
                    _add(tar, f"uploads/{name}",
                         path=os.path.join(app.config["UPLOAD_PATH"], name))
                    uploaded += 1
                except FileNotFoundError:
                    pass  # deleted since the snapshot; its row may be in it, nothing to copy
            manifest = {
                "format": FORMAT, "version": VERSION,
                "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "database": kind, "database_included": snapshot is not None,
                "secret_key_included": secret is not None, "uploads": uploaded, "rows": rows,
            }
            _add(tar, MANIFEST_MEMBER, json.dumps(manifest, indent=2).encode())
        os.replace(archive, target)  # never a half-written backup under the real name
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest


def summary(manifest, verb="Backed up"):
    """What a backup holds, one line each, for the command's output."""
    rows = manifest.get("rows", {})
    lines = [f"{verb}: {manifest['database']} database "
             + ("included" if manifest["database_included"] else "NOT included")
             + f" ({rows.get('client', 0)} clients, {rows.get('invoice', 0)} invoices, "
             f"{rows.get('document', 0)} documents), {manifest['uploads']} uploaded files, "
             + ("the generated secret key." if manifest["secret_key_included"]
                else "no secret key (it comes from PORTAL_SECRET_KEY: keep that setting).")]
    if not manifest["database_included"]:
        lines.append(PG_DUMP_HINT)
    return lines


# ---------------------------------------------------------------- restore

def _members(tar):
    """Check every entry before anything is written: regular files with our names only."""
    found = {}
    for member in tar.getmembers():
        name = member.name
        if not member.isfile():
            raise BackupError(f"Refused: {name!r} in the archive is not a plain file.")
        folder, _, base = name.rpartition("/")
        allowed = (name in (MANIFEST_MEMBER, DATABASE_MEMBER, SECRET_MEMBER)
                   or (folder == "uploads" and UPLOAD_NAME_RE.fullmatch(base)))
        if not allowed:
            raise BackupError(f"Refused: the archive holds an unexpected entry {name!r}.")
        if name in found:
            raise BackupError(f"Refused: the archive holds {name!r} twice.")
        found[name] = member
    return found


def _manifest(tar, members):
    if MANIFEST_MEMBER not in members:
        raise BackupError("This is not a portal backup: it has no manifest.json.")
    try:
        manifest = json.loads(tar.extractfile(members[MANIFEST_MEMBER]).read(100_000))
    except (ValueError, UnicodeDecodeError):
        raise BackupError("This backup's manifest.json is damaged.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("This is not a portal backup: its manifest has another format.")
    if manifest.get("version") != VERSION:
        raise BackupError(f"This backup has format version {manifest.get('version')!r}; "
                          f"this portal reads version {VERSION}.")
    flags = ("database_included", "secret_key_included")
    if (manifest.get("database") not in ("sqlite", "postgresql")
            or not isinstance(manifest.get("uploads"), int)
            or not all(isinstance(manifest.get(key), bool) for key in flags)):
        raise BackupError("This backup's manifest.json is damaged.")
    if manifest["database_included"] != (DATABASE_MEMBER in members) or (
            manifest["secret_key_included"] != (SECRET_MEMBER in members)):
        raise BackupError("This backup does not hold what its manifest lists.")
    return manifest


def _holds_data():
    return any(m.table_exists() and m.select().exists() for m in models.MODELS)


def _check_database(path):
    try:
        with sqlite3.connect(path) as db:
            ok = db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            ok = ok and db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                   "AND name = 'company'").fetchone() is not None
    except sqlite3.DatabaseError:
        ok = False
    if not ok:
        raise BackupError("The database in this backup is damaged or is not a portal's.")


def restore(app, source, force=False):
    """Put an archive's database, uploads and secret key into this instance; its manifest.

    Everything is read and checked first (entry names, manifest, the database file) in a
    private staging folder; only then is the instance changed. A database that already
    holds data is replaced only with force=True.
    """
    try:
        tar = tarfile.open(source, "r:gz")
    except (OSError, tarfile.TarError, EOFError):
        raise BackupError(f"{source} is not a portal backup (a .tar.gz from "
                          "`portal backup`).") from None
    with tar:
        members = _members(tar)
        manifest = _manifest(tar, members)
        kind = _kind()
        if manifest["database"] != kind:
            raise BackupError(f"This backup is of a {manifest['database']} instance; this "
                              f"instance uses {kind} (see PORTAL_DATABASE_URL).")
        if manifest["database_included"] and _holds_data() and not force:
            raise BackupError("This instance's database already holds data. Restore into a "
                              "fresh instance, or add --force to replace it.")
        staging = tempfile.mkdtemp(dir=app.instance_path, prefix=".restore-")  # 0700
        try:
            for name, member in members.items():
                if name == MANIFEST_MEMBER:
                    continue
                # Written under a name we chose, never the member's: no path escapes.
                staged = os.path.join(staging, name.replace("/", "__"))
                with tar.extractfile(member) as data, open_private(staged, "xb") as out:
                    shutil.copyfileobj(data, out)
            if manifest["database_included"]:
                _check_database(os.path.join(staging, DATABASE_MEMBER))
            _install(app, staging, members)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _install(app, staging, members):
    if DATABASE_MEMBER in members:
        source = sqlite3.connect(os.path.join(staging, DATABASE_MEMBER))
        try:
            # Into the live file through SQLite's backup API: the -wal and -shm stay coherent,
            # as a file copy over an open database would not leave them.
            source.backup(models.db.connection())
        finally:
            source.close()
    uploads = [name for name in members if name.startswith("uploads/")]
    if uploads:
        private_dir(app.config["UPLOAD_PATH"])
    for name in uploads:
        target = os.path.join(app.config["UPLOAD_PATH"], name.split("/", 1)[1])
        shutil.move(os.path.join(staging, name.replace("/", "__")), target)
        _tighten(target, 0o600)
    if SECRET_MEMBER in members:
        os.replace(os.path.join(staging, SECRET_MEMBER),
                   os.path.join(app.instance_path, "secret_key"))
    models.create_tables()  # an archive from an older version gets this version's schema
