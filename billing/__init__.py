"""Domain services that span records. No Flask request objects in here."""
import contextlib
import logging


class DomainError(ValueError):
    """A refusal with a message fit to show the person who asked."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class FieldErrors(DomainError):
    """Several fields refused at once: errors is {field: message}, in form order."""

    def __init__(self, errors):
        field, message = next(iter(errors.items()))
        super().__init__(message, field)
        self.errors = dict(errors)


def transaction():
    """db.atomic(), taking SQLite's write lock up front.

    A deferred SQLite transaction that reads then writes can fail at once when another
    writer got there first; IMMEDIATE makes it wait its turn (busy_timeout) instead.
    """
    import models
    if models.on_sqlite():
        return models.db.atomic("IMMEDIATE")
    return models.db.atomic()


@contextlib.contextmanager
def unless_busy():
    """Bookkeeping that a page view does (first viewed at, a view in the activity log):
    skipped, rather than waited for, while another writer holds SQLite's lock. Reading a
    page must not stall behind a long write, nor fail because of one."""
    import models
    if not models.on_sqlite():
        yield
        return
    from peewee import OperationalError
    connection = models.db.connection()
    previous = connection.execute("PRAGMA busy_timeout").fetchone()[0]
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        yield
    except OperationalError as exc:
        if "locked" not in str(exc).lower() or models.db.in_transaction():
            raise
        logging.getLogger("portal.billing").info("view not recorded, database busy: %s", exc)
    finally:
        connection.execute(f"PRAGMA busy_timeout = {int(previous)}")
