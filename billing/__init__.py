"""Domain services that span records. No Flask request objects in here."""


class DomainError(ValueError):
    """A refusal with a message fit to show the person who asked."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


def transaction():
    """db.atomic(), taking SQLite's write lock up front.

    A deferred SQLite transaction that reads then writes can fail at once when another
    writer got there first; IMMEDIATE makes it wait its turn (busy_timeout) instead.
    """
    import models
    if models.on_sqlite():
        return models.db.atomic("IMMEDIATE")
    return models.db.atomic()
