"""Hot read queries: built by Peewee once per shape, then run with new values.

Building a SELECT's SQL costs Peewee ~0.05-0.2 ms and turning rows into models about as
much again; on the pages every request makes (the contact, the company, an invoice list)
that was a third of the time spent in our code. A prepared query keeps Peewee's SQL for
each shape and swaps in this request's values, so the query is still written with Peewee
(one dialect-aware source, same SQL on SQLite and PostgreSQL) and only its text is reused.
"""
import datetime as dt
import threading

from peewee import (
    AutoField,
    BigIntegerField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Value,
)

import models

_cache = {}
_lock = threading.Lock()


class _Slot:
    """Where a value goes: a marker the compiled parameter list carries in its place."""

    __slots__ = ("name", "field")

    def __init__(self, name, field):
        self.name, self.field = name, field


def slot(name, field=None):
    """A placeholder for `name` in a query being prepared. The marker must reach the compiled
    parameter list unconverted; run() converts the real value with `field`, as Peewee would."""
    return Value(_Slot(name, field), converter=False)


class PreparedQuery:
    def __init__(self, query):
        sql, params = query.sql()
        self.query, self.sql, self.params = query, sql, params
        self.slots = [(i, p.name, p.field) for i, p in enumerate(params)
                      if isinstance(p, _Slot)]

    def _cursor(self, values):
        params = list(self.params)
        for index, name, field in self.slots:
            value = values[name]
            params[index] = field.db_value(value) if field is not None else value
        return models.db.execute_sql(self.sql, params)

    def scalar(self, **values):
        row = self._cursor(values).fetchone()
        return row[0] if row else None

    def tuples(self, **values):
        """Every row as the driver gives it: for sums and unions, which the caller reads."""
        return self._cursor(values).fetchall()

    def records(self, cls, **values):
        """Rows as `cls(**columns)`: for lists, where a full model per row costs more than the
        query. Only columns whose driver value is not already the Python value are converted
        (dates from SQLite's text), which is most of the saving."""
        converters = self._converters()
        cursor = self._cursor(values)
        names = [column[0] for column in cursor.description]
        return [cls(**{name: (conv(value) if conv and value is not None else value)
                       for name, conv, value in zip(names, converters, row, strict=True)})
                for row in cursor.fetchall()]

    def first_models(self, *model_classes, **values):
        """The first row as one instance per model, or None: for a query that selects
        model_fields(*model_classes). Peewee's own cursor wrappers redo their column
        bookkeeping on every query, which for a request's contact cost more than the query."""
        row = self._cursor(values).fetchone()
        if row is None:
            return None
        row = [conv(value) if conv and value is not None else value
               for conv, value in zip(self._converters(), row, strict=True)]
        instances, at = [], 0
        for model in model_classes:
            fields = model._meta.sorted_fields
            data = {field.name: value for field, value in zip(fields, row[at:at + len(fields)],
                                                                strict=True)}
            at += len(fields)
            instances.append(_loaded(model, data))
        return instances

    def _converters(self):
        if not hasattr(self, "_column_converters"):
            self._column_converters = [_converter(node) for node in self.query._returning]
        return self._column_converters


def _loaded(model, data):
    """A model instance holding a row's `data` ({field name: value}), clean, as
    `model(__no_default__=1, **data)` with its dirty set cleared would be: that sets each
    field through its descriptor (about 30 µs for a request's contact, client and company,
    against 2 µs this way)."""
    instance = model.__new__(model)
    instance.__data__, instance._dirty, instance.__rel__ = data, set(), {}
    return instance


def model_fields(*model_classes):
    """Every field of each model, in the order first_models() reads them back."""
    return [field for model in model_classes for field in model._meta.sorted_fields]


def _converter(node):
    if isinstance(node, (AutoField, IntegerField, BigIntegerField, CharField, ForeignKeyField)):
        return None
    if isinstance(node, DateTimeField):
        return _iso_converter(node, dt.datetime.fromisoformat)
    if isinstance(node, DateField):
        return _iso_converter(node, dt.date.fromisoformat)
    return getattr(node, "python_value", None)


def _iso_converter(field, parse):
    # SQLite keeps dates as ISO text; Peewee tries strptime formats in turn (~4 µs a value).
    def convert(value):
        if isinstance(value, str):
            try:
                return parse(value)
            except ValueError:
                pass
        return field.python_value(value)
    return convert


def prepared(key, build):
    """The prepared form of `build()`, made once per key and database engine."""
    # The SQL text depends on the engine (placeholders, quoting), never on the connection.
    cache_key = (type(models.db.obj), key)
    query = _cache.get(cache_key)
    if query is None:
        with _lock:
            query = _cache.get(cache_key)
            if query is None:
                query = _cache[cache_key] = PreparedQuery(build())
    return query


def forget():
    """Drop every prepared query, so the next use builds it again (tests: a query one test
    built must not hide a change to its builder from the next)."""
    with _lock:
        _cache.clear()
