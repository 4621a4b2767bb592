"""What every service shares (billing/__init__.py): refusals that name their field, and the
transaction that takes SQLite's write lock before it reads."""
import sqlite3

import pytest

import models
from billing import DomainError, FieldErrors, transaction
from tests import factories
from tests.conftest import TEST_DB


def test_a_refusal_carries_its_message_and_field():
    refused = DomainError("Enter a name.", "name")
    assert (str(refused), refused.message, refused.field) == ("Enter a name.", "Enter a name.",
                                                              "name")
    assert DomainError("No.").field is None


def test_several_refusals_lead_with_the_first_fields():
    errors = {"email": "Enter an e-mail address.", "name": "Enter a name."}
    refused = FieldErrors(errors)
    assert (refused.message, refused.field) == ("Enter an e-mail address.", "email")
    assert refused.errors == errors and refused.errors is not errors


def test_a_transaction_keeps_all_of_its_writes_or_none(db):
    client = factories.client(name="Before")
    with pytest.raises(RuntimeError), transaction():
        models.Client.update(name="During").where(models.Client.id == client.id).execute()
        factories.client(name="Also during")
        raise RuntimeError("stopped half way")
    assert [c.name for c in models.Client.select()] == ["Before"]


@pytest.mark.skipif(bool(TEST_DB), reason="SQLite's write lock; PostgreSQL locks rows")
def test_on_sqlite_a_transaction_holds_the_write_lock_before_it_writes(app, db):
    path = app.config["DATABASE_URL"].split("///", 1)[1]
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        with transaction():
            models.Client.select().count()  # a read only, so far
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once it ends
        other.execute("ROLLBACK")
    finally:
        other.close()
