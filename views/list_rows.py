"""Every list's rows, each distinct row rendered once and its HTML kept across requests:
rendering a page of rows through the template was most of a tab's time, and rows
repeat from view to view (the first page above all). Every list renders its rows this way
(DESIGN.md §2: the speed-up lives in the list mechanism, not in one tab)."""
import functools

from flask import current_app, request
from markupsafe import Markup

from billing.listing import TOTAL
from views.current import company, user_locale


def list_rows(template, rows, *args, related=None):
    """The rows of a list: the `row` macro of `template` called with (row, *args), or with
    (row, its related rows, *args) when `related` ({row id: [rows]}) is given, each distinct
    call rendered once. A row's HTML must be a function of its columns, its related rows'
    columns, `args` (hashable) and the locale and time zone: a changed record is a different
    row, hence a new entry. Nothing the macro shows may come from the request's context."""
    setting = _setting()
    calls = []
    for row in rows:
        keyed = (_Keyed(row),)
        if related is not None:
            keyed += (_Keyed(tuple(related.get(row.id, ())), many=True),)
        calls.append(_render(template, "row", setting, keyed + args))
    return Markup("".join(calls))


def _setting():
    """What every kept row also depends on: the locale (words, number and date formats),
    the time zone (timestamps shown as dates) and the URL root (links)."""
    return user_locale(), company().timezone, request.script_root


def row_key(row):
    """A list row's identity for the cache: its class and columns (not the list's total,
    which rides along on every row); a tuple row (the statement's) is its own columns."""
    if isinstance(row, tuple):
        return row
    return type(row), tuple(item for item in vars(row).items() if item[0] != TOTAL)


class _Keyed:
    """A row (or a tuple of rows) passed to the macro, compared by its columns."""
    __slots__ = ("value", "key")

    def __init__(self, value, many=False):
        self.value = value
        self.key = tuple(map(row_key, value)) if many else row_key(value)

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, _Keyed) and self.key == other.key


@functools.lru_cache(maxsize=16384)
def _render(template, macro, setting, args):
    module = current_app.jinja_env.get_template(template).make_module({"locale": setting[0]})
    return getattr(module, macro)(*(a.value if isinstance(a, _Keyed) else a for a in args))
