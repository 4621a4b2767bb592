"""Reading and writing API values: decimal-string money, ISO dates, bounded strings, lines."""
import datetime as dt
from decimal import Decimal, InvalidOperation

import money
from views.api import ApiError


def text(data, key, default="", limit=255):
    value = data.get(key, default)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ApiError(f"{key} must be a string.", 422, key)
    if len(value) > limit or "\x00" in value:
        raise ApiError(f"{key} can have at most {limit} characters.", 422, key)
    return value.strip()


def date(data, key, default=None):
    value = data.get(key)
    if value in (None, ""):
        return default
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ApiError(f"{key} must be a date as YYYY-MM-DD.", 422, key) from None


def amount(data, key, currency, default=0):
    value = data.get(key)
    if value in (None, ""):
        return default
    if isinstance(value, float):
        raise ApiError(f"{key} must be a decimal string such as \"1250.00\", not a float.",
                       422, key)
    try:
        return money.parse(str(value), currency, money.PLAIN)
    except money.MoneyError as exc:
        raise ApiError(f"{key}: {exc}", 422, key) from None


def decimal(value, key):
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ApiError(f"{key} must be a number.", 422, key) from None
    if not result.is_finite() or abs(result) > Decimal("1e9"):
        raise ApiError(f"{key} must be a number.", 422, key)
    return result


def lines(data, currency, key="line_items"):
    raw = data.get(key)
    if not isinstance(raw, list) or not 1 <= len(raw) <= 200:
        raise ApiError(f"{key} must be a list of 1 to 200 lines.", 422, key)
    parsed = []
    for index, line in enumerate(raw):
        if not isinstance(line, dict):
            raise ApiError(f"{key}[{index}] must be an object.", 422, key)
        parsed.append({
            "product": text(line, "product", limit=100),
            "description": text(line, "description", limit=2000),
            "quantity": decimal(line.get("quantity", 1), "quantity"),
            "unit_cost": amount(line, "cost", currency),
            "discount_percent": decimal(line.get("discount_percent", 0), "discount_percent"),
            "tax_name": text(line, "tax_name", limit=50),
            "tax_rate": decimal(line.get("tax_rate", 0), "tax_rate"),
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
    return value.isoformat() if value else None
