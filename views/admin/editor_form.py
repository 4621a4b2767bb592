"""Reading the staff document editor's form: what was typed, as the services' arguments.

This module only parses (text to dates, minor units, decimals). Whether a quantity, a rate or
a date is acceptable is the billing services' decision, shared with the API and the CLI.
"""
import datetime as dt

import models
import money
from billing import DomainError, products

LINE_FIELDS = ("product", "description", "quantity", "unit_price", "discount_percent",
               "tax_name", "tax_rate")
MIN_ROWS = 3
MAX_ROWS = 50


def blank_row():
    return dict.fromkeys(LINE_FIELDS, "")


def rows_from_form(form):
    """The line rows as typed, with the add / remove buttons applied."""
    columns = {name: form.getlist(name)[:MAX_ROWS] for name in LINE_FIELDS}
    count = max(len(values) for values in columns.values())
    rows = [{name: (values[i] if i < len(values) else "").strip()[:2000]
             for name, values in columns.items()} for i in range(count)]
    removed = form.get("remove_line", "")
    if removed.isdigit() and int(removed) < len(rows):
        del rows[int(removed)]
    if "add_line" in form and len(rows) < MAX_ROWS:
        rows.append(blank_row())
    while len(rows) < MIN_ROWS:
        rows.append(blank_row())
    return rows


def rows_from_record(record, locale):
    rows = [{"product": li.product, "description": li.description,
             "quantity": plain(li.quantity), "unit_price": money.input_string(
                 li.unit_cost, record.currency, locale),
             "discount_percent": plain(li.discount_percent) if li.discount_percent else "",
             "tax_name": li.tax_name, "tax_rate": plain(li.tax_rate) if li.tax_rate else ""}
            for li in record.ordered_lines()]
    return rows + [blank_row() for _ in range(max(1, MIN_ROWS - len(rows)))]


def plain(value):
    from billing.documents import plain_number
    return plain_number(value)


def fill_rows(rows, currency, locale):
    """Rows that name a product get its description, price and tax where left blank, so a
    picked product works on a plain submit, without JavaScript."""
    return [fill_row(row, currency, locale) for row in rows]


def fill_row(row, currency, locale):
    if not row.get("product"):
        return row
    filled = products.fill_line({
        "product": row["product"], "description": row["description"],
        "unit_cost": None if not row["unit_price"] else 0,
        "tax_name": row["tax_name"], "tax_rate": None if not row["tax_rate"] else 0}, currency)
    row = dict(row)
    row["description"] = row["description"] or filled["description"]
    if not row["unit_price"] and filled["unit_cost"] is not None:
        row["unit_price"] = money.input_string(filled["unit_cost"], currency, locale)
    if not row["tax_rate"] and filled["tax_rate"] is not None:
        row["tax_name"] = row["tax_name"] or filled["tax_name"]
        row["tax_rate"] = plain(filled["tax_rate"]) if filled["tax_rate"] else ""
    return row


def is_blank(row):
    return not (row["product"] or row["description"] or row["unit_price"])


def _number(text, label, number, locale, default):
    text = (text or "").strip()
    if not text:
        return default
    value = money.parse_number(text, locale)
    if value is None:
        raise DomainError(f"Line {number}: the {label} must be a number.", "lines")
    return value


def lines_from_rows(rows, currency, locale):
    """The rows that hold something, as line dicts for billing.documents."""
    lines = []
    for number, row in enumerate(rows, start=1):
        if is_blank(row):
            continue
        try:
            unit_cost = money.parse(row["unit_price"] or "0", currency, locale)
        except money.MoneyError as exc:
            raise DomainError(f"Line {number}: {exc}", "lines") from None
        lines.append({
            "product": row["product"][:100], "description": row["description"],
            "quantity": _number(row["quantity"], "quantity", number, locale, 1),
            "unit_cost": unit_cost,
            "discount_percent": _number(row["discount_percent"], "discount", number, locale, 0),
            "tax_name": row["tax_name"][:50],
            "tax_rate": _number(row["tax_rate"], "tax rate", number, locale, 0)})
    if not lines:
        raise DomainError("Add at least one line with a product, a description or a price.",
                          "lines")
    return lines


def client(value):
    found = None
    if (value or "").strip().isdigit() and len(value.strip()) < 19:
        found = models.Client.get_or_none((models.Client.id == int(value))
                                          & models.Client.archived_at.is_null())
    if found is None:
        raise DomainError("Choose a client from the list.", "client")
    return found


def date(form, field, label, required=False):
    value = (form.get(field) or "").strip()
    if not value:
        if required:
            raise DomainError(f"Enter the {label}.", field)
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise DomainError(f"Enter the {label} as YYYY-MM-DD.", field) from None


def amount(form, field, label, currency, locale):
    value = (form.get(field) or "").strip()
    if not value:
        return 0
    try:
        return money.parse(value, currency, locale)
    except money.MoneyError as exc:
        raise DomainError(f"{label}: {exc}", field) from None


def whole(form, field, label, default):
    value = (form.get(field) or "").strip()
    if not value:
        return default
    try:
        if len(value) > 12:
            raise ValueError(value)
        return int(value)
    except ValueError:
        raise DomainError(f"{label} must be a whole number.", field) from None


def text(form, field, limit=5000):
    return (form.get(field) or "")[:limit].strip()
