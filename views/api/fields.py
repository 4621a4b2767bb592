"""Reading and writing API values: decimal-string money, ISO dates, text, lines.

Requests reach these helpers after the schema check (views/api/validation.py), so they
convert rather than police; what they still refuse needs the client's currency to decide.
"""
import datetime as dt
from decimal import Decimal

import money
from views.api import ApiError


def text(data, key, default="", limit=255):
    value = data.get(key, default)
    return (value or "")[:limit].strip()


def date(data, key, default=None):
    value = data.get(key)
    if value in (None, ""):
        return default
    return dt.date.fromisoformat(value)


def amount(data, key, currency, default=0, field=None):
    value = data.get(key)
    if value in (None, ""):
        return default
    try:
        return money.parse(str(value), currency, money.PLAIN)
    except money.MoneyError as exc:
        raise ApiError(f"{field or key}: {exc}", 422, field or key) from None


def decimal(value):
    return Decimal(str(value))


def lines(data, currency, key="line_items"):
    parsed = []
    for index, line in enumerate(data[key]):
        parsed.append({
            "product": text(line, "product", limit=100),
            "description": text(line, "description", limit=2000),
            "quantity": decimal(line.get("quantity", 1)),
            "unit_cost": amount(line, "cost", currency, field=f"{key}[{index}].cost"),
            "discount_percent": decimal(line.get("discount_percent", 0)),
            "tax_name": text(line, "tax_name", limit=50),
            "tax_rate": decimal(line.get("tax_rate", 0)),
        })
    return parsed


def money_out(minor, currency):
    return money.decimal_string(minor, currency)


def lines_out(record, currency):
    return [{"product": li.product, "description": li.description,
             "quantity": format(li.quantity.normalize(), "f"),
             "cost": money_out(li.unit_cost, currency),
             "discount_percent": format(li.discount_percent.normalize(), "f"),
             "tax_name": li.tax_name, "tax_rate": format(li.tax_rate.normalize(), "f"),
             "amount": money_out(li.amount, currency),
             "tax_amount": money_out(li.tax_amount, currency)}
            for li in record.ordered_lines()]


def iso(value):
    """Dates as YYYY-MM-DD; times (stored as naive UTC) in RFC 3339 with their Z."""
    if not value:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"
    return value.isoformat()
