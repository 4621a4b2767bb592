"""HTML kept across requests: every list's rows, and the parts of a page that repeat from
request to request (a list's filters, column heads and pager, the shell's top bar), each distinct
call rendered once. Rendering a page of rows through the template was most of a tab's time,
and rows repeat from view to view (the first page above all); every list renders its rows
this way (DESIGN.md §2: the speed-up lives in the list mechanism, not in one tab)."""
import functools

from flask import current_app, g, request
from flask_babel import get_locale
from markupsafe import Markup

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


def kept(template, macro, *args):
    """A page's other parts that repeat from view to view (a list's filters, column heads and
    pager, the shell's top bar): the `macro` of `template` called with `args`, kept as
    list_rows keeps rows. The HTML must be a function of `args` (hashable, or dicts and lists
    of hashable values) and the locale, time zone and URL root."""
    return _render(template, macro, _setting(),
                   tuple(_Keyed(a, frozen=True) if isinstance(a, (dict, list)) else a
                         for a in args))


def _setting():
    """What every kept row also depends on: the locale (number and date formats), the
    language of its words (English in the back office, whatever the locale), the time zone
    (timestamps shown as dates) and the URL root (links). Worked out once per request and
    again whenever i18n.using() switches the locale (Flask-Babel then gives another Locale)."""
    text_locale = get_locale()
    known = g.get("kept_setting")
    if known is None or known[0] is not text_locale:
        known = g.kept_setting = (text_locale, (user_locale(), str(text_locale),
                                                company().timezone, request.script_root))
    return known[1]


def row_key(row):
    """A list row's identity for the cache: its class and columns; a tuple row (the
    statement's) is its own columns."""
    if isinstance(row, tuple):
        return row
    return type(row), tuple(vars(row).items())


class _Keyed:
    """A row (or a tuple of rows) passed to the macro, compared by its columns; or a dict or
    list, compared by its items."""
    __slots__ = ("value", "key")

    def __init__(self, value, many=False, frozen=False):
        self.value = value
        if frozen:
            self.key = type(value), tuple(value.items() if isinstance(value, dict) else value)
        else:
            self.key = tuple(map(row_key, value)) if many else row_key(value)

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, _Keyed) and self.key == other.key


@functools.lru_cache(maxsize=16384)
def _render(template, macro, setting, args):
    module = current_app.jinja_env.get_template(template).make_module({"locale": setting[0]})
    return getattr(module, macro)(*(a.value if isinstance(a, _Keyed) else a for a in args))
