"""Shape checks for ids from URLs and forms, so a malformed one is simply not found."""
import re

from werkzeug.routing import IntegerConverter, ValidationError

PUBLIC_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,24}")


def valid_public_id(value):
    """Shape check before a lookup: a malformed or over-long id is simply not found."""
    return bool(value) and PUBLIC_ID_RE.fullmatch(value) is not None


def row_id(value):
    """A row id from a form, or None when it is not one a 64-bit column can hold (a
    database asked for 2**64 answers with an overflow, not "not found")."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number < 2 ** 63 else None


class RowIdConverter(IntegerConverter):
    """`<int:...>` for row ids: a number no 64-bit column can hold is simply not found.

    Werkzeug's own converter passes 2**64 (or a 5,000-digit number, which int() refuses
    with a ValueError) to the view, and the database answers with an overflow: a 500.
    """

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2 ** 63 - 1)
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value):
        if len(value) > 19:
            raise ValidationError()
        return super().to_python(value)
