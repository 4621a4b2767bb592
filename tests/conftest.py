"""Fixtures after flaskr: app, client, runner, auth; plus hx() for fragment requests."""
import atexit
import functools
import os
import pathlib
import re
import shutil
import tempfile

import pytest
from peewee import SqliteDatabase, sort_models

import models
import prepared
from billing.accounts import wait_for_queued_resets
from portal import create_app
from tests import factories
from tests.rule_builders import share_rule_builders
from tests.template_code import share_template_code

# Fixtures kept in their own modules, registered here once for every test: a module asks
# for them by name and imports only plain helpers (an imported fixture would also be a
# second fixture, e.g. a second session-wide localstripe for that module).
pytest_plugins = (
    "tests.payments_support",  # localstripe (one per session), demo/stripe_gateway, conn
    "tests.stripe_wire_support",  # proxy (records what reaches Stripe), proxied_stripe_gateway
    "tests.api_support",  # api
    "tests.quotes_support",  # qworld
    "tests.mail_support",  # smtp (aiosmtpd on loopback)
    "tests.auth_support",  # clock (the TOTP step), enrolled (a contact with two-factor on)
    "tests.settings_support",  # staff_browser (a second browser, in the back office)
    "tests.prepayments_support",  # enabled (pre-payments on, a $10.00 minimum)
    "tests.i18n_support",  # euro (a EUR client, its contact and an unpaid invoice)
    "tests.document_editor_support",  # editor_staff (client, as staff, with .acme, .token)
    "tests.clients_support",  # office_staff (a StaffUser, logged in on client)
    "tests.plan_changes_support",  # pworld (plans of every kind; client A on Basic)
    "tests.subscription_purchase_support",  # shop (two clients, the demo gateway, a plan)
)

TEST_DB = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
share_rule_builders()  # every test makes an app: its routes' URL builders compiled once
share_template_code()  # and its templates
BROWSER_TESTS = pathlib.Path(__file__).parent / "browser"


def pytest_collection_modifyitems(items):
    """pytest-randomly shuffles the modules first (its hook wraps this one); the browser
    tests then move, still shuffled among themselves, into one block at the end, so their
    package-wide live portal and Chromium start once instead of each time the shuffle
    comes back to tests/browser."""
    items.sort(key=lambda item: BROWSER_TESTS in item.path.parents)


def reset_database():
    """Every table made afresh and empty. On PostgreSQL, while the schema is still the one this
    process last made, emptying the tables does it in about 15 ms, where dropping and making
    them again took about 0.5 s a test (most of the PostgreSQL half's time); a test that
    changed the schema (an old column, a retired index) gets it made again."""
    global _made_schema
    if not TEST_DB:
        models.create_tables()
        return
    if _made_schema is not None and _made_schema[0] == _schema():
        _empty(_made_schema[1])
        return
    models.db.drop_tables(models.MODELS, safe=True, cascade=True)
    models.create_tables()
    sequences = [name for name, in models.db.execute_sql(
        "SELECT relname FROM pg_class WHERE relkind = 'S' "
        "AND relnamespace = 'public'::regnamespace")]
    _made_schema = (_schema(), sequences)


_made_schema = None  # (the schema as reset_database() last made it, its sequences)

# Every column, index and constraint of the schema, as PostgreSQL's catalogue describes them.
SCHEMA_QUERY = """
SELECT c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT conname, 'constraint', pg_get_constraintdef(oid), NULL, NULL, NULL FROM pg_constraint
WHERE connamespace = 'public'::regnamespace
ORDER BY 1, 2, 3"""


def _schema():
    return models.db.execute_sql(SCHEMA_QUERY).fetchall()


def _empty(sequences):
    """As the tables were when made: no rows, and ids counting from 1 again."""
    tables = [model._meta.table_name for model in reversed(sort_models(models.MODELS))]
    with models.db.atomic():
        models.db.execute_sql("; ".join(
            [f'DELETE FROM "{table}"' for table in tables]
            + [f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences]))


def make_app(tmp_path, **overrides):
    """A test app on a fresh database (SQLite, or PORTAL_TEST_DATABASE_URL) with a company."""
    copied = "DATABASE_URL" not in overrides and _copy_sqlite_schema(tmp_path / "test.sqlite3")
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": TEST_DB or f"sqlite:///{tmp_path}/test.sqlite3",
        "OUTBOX_PATH": str(tmp_path / "outbox"),
        "UPLOAD_PATH": str(tmp_path / "uploads"),
        "RATELIMIT_ENABLED": False,
        "SECRET_KEY": "test-secret",
        "BASE_URL": "http://portal.test",
        **overrides,
    })
    with app.app_context():
        models.db.connect(reuse_if_open=True)
        if not copied:
            reset_database()
        factories.company()
        models.db.close()
    return app


def _copy_sqlite_schema(path):
    """A new SQLite test database starts as a copy of an empty one made once per process
    (create_tables() on every test's new file took about 30 ms); a file already there is
    the test's own and is left as it is."""
    if TEST_DB or path.exists():
        return False
    shutil.copyfile(_sqlite_schema(), path)
    return True


@functools.cache
def _sqlite_schema():
    folder = tempfile.mkdtemp(prefix="portal-test-schema-")
    path = os.path.join(folder, "schema.sqlite3")
    # The next create_app() points models.db at its own database again.
    models.db.initialize(SqliteDatabase(path, pragmas={"foreign_keys": 1}))
    models.create_tables()
    models.db.close()
    maker = os.getpid()  # not a process forked from this one (mutmut's, for each mutant)
    atexit.register(lambda: os.getpid() == maker and shutil.rmtree(folder, ignore_errors=True))
    return path


@pytest.fixture(autouse=True)
def prepared_queries_built_afresh():
    """Each test builds the prepared queries it uses: one cached by an earlier test (or by the
    process a mutation run forks its tests from) would never run a changed builder."""
    prepared.forget()


@pytest.fixture(autouse=True)
def no_reset_left_queued():
    """Reset requests are handled by a worker thread after the request: let it finish before
    the next test points the database elsewhere."""
    yield
    wait_for_queued_resets()


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    yield app
    if not models.db.is_closed():
        models.db.close()


@pytest.fixture
def db(app):
    """Run the test body with an open connection inside an app context."""
    with app.test_request_context():
        models.db.connect(reuse_if_open=True)
        yield models.db
        models.db.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path="/client/login"):
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email, password=factories.PASSWORD):
        token = csrf_token(self.client)
        return self.client.post("/client/login",
                                data={"email": email, "password": password, "csrf_token": token})

    def logout(self):
        token = csrf_token(self.client, "/client/profile")
        return self.client.post("/client/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return Auth(client)


def hx(client, path, **kw):
    """GET as htmx does for a tab switch."""
    headers = {"HX-Request": "true", "HX-Current-URL": "http://localhost/client/invoices"}
    headers.update(kw.pop("headers", {}))
    return client.get(path, headers=headers, **kw)


@pytest.fixture
def world(app):
    """Two clients: A with two contacts and invoices in every state, B with one invoice."""
    from tests.core_support import opened  # core_support reads this module's csrf_token
    with opened(app):
        people = factories.two_clients()
        a, b = people["a"], people["b"]
        invoices = {
            status: factories.invoice(a, status=status)
            for status in ("draft", "sent", "partial", "paid", "cancelled")
        }
        other = factories.invoice(b, status="sent")
    return {**people, "invoices": invoices, "other": other}
