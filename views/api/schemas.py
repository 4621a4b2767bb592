"""JSON Schema building blocks for the API.

The same dicts are published in /api/v1/openapi.json and enforced on every request
(views/api/validation.py), so the document and the behaviour cannot drift apart.
Descriptions double as the error message a client sees when a value does not fit.
"""

# One line of text: no control characters (a line break in a name breaks e-mail headers).
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
# Multi-line text may hold line breaks and tabs, nothing else below 0x20.
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def line(max_length, description="", min_length=0):
    schema = {"type": "string", "maxLength": max_length, "pattern": ONE_LINE,
              "description": description or f"Up to {max_length} characters on one line."}
    if min_length:
        schema["minLength"] = min_length
    return schema


def text(max_length, description=""):
    return {"type": "string", "maxLength": max_length, "pattern": MULTI_LINE,
            "description": description or f"Up to {max_length} characters."}


def enum(values, description=""):
    values = list(values)
    return {"type": "string", "enum": values,
            "description": description or "One of: " + ", ".join(values) + "."}


def nullable(schema):
    return {**schema, "type": [schema["type"], "null"]}


ID_CHARS = r"[A-Za-z0-9_-]{1,24}"
ID = {"type": "string", "pattern": f"^{ID_CHARS}$",
      "description": "The record's id, as the API returned it."}
# Money in: a plain decimal string ("1250.00"); never a float, which cannot hold cents
# exactly. The currency decides how many decimals are allowed (USD 2, JPY 0).
MONEY = {"type": "string", "pattern": r"^[0-9]{1,13}(\.[0-9]{1,4})?$",
         "description": 'A decimal string such as "1250.00", in the client\'s currency.',
         "examples": ["1250.00"]}
MONEY_OUT = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
             "description": 'A decimal string such as "1250.00".'}
DATE = {"type": "string", "format": "date", "description": "A date as YYYY-MM-DD."}
DATE_OUT = nullable(DATE)
DATETIME_OUT = {"type": ["string", "null"], "format": "date-time",
                "description": "A UTC time in RFC 3339 form."}
EMAIL = {"type": "string", "format": "email", "maxLength": 254,
         "description": "An e-mail address."}


def number(minimum, maximum, description, *, exclusive_minimum=False):
    """A decimal as a string ("2.5") or a JSON number (2.5); never a boolean."""
    low = {"exclusiveMinimum": minimum} if exclusive_minimum else {"minimum": minimum}
    return {"anyOf": [{"type": "number", **low, "maximum": maximum},
                      {"type": "string", "pattern": r"^[0-9]{1,9}(\.[0-9]{1,4})?$"}],
            "description": description}


LINE_ITEM = {
    "type": "object", "additionalProperties": False, "required": ["cost"],
    "properties": {
        "product": line(100, "Product or service name."),
        "description": text(2000, "What the line is for."),
        "quantity": number(0, 999999999, "How many; above zero (default 1).",
                           exclusive_minimum=True),
        "cost": {**MONEY, "description": 'Unit price as a decimal string such as "125.00".'},
        "discount_percent": number(0, 100, "Line discount, 0 to 100 percent (default 0)."),
        "tax_name": line(50, "Name of the tax, e.g. VAT."),
        "tax_rate": number(0, 100, "Tax rate, 0 to 100 percent (default 0)."),
    },
}
DECIMAL_OUT = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
LINE_ITEM_OUT = {
    "type": "object",
    "required": ["product", "description", "quantity", "cost", "discount_percent", "tax_name",
                 "tax_rate", "amount", "tax_amount"],
    "properties": {
        "product": {"type": "string"}, "description": {"type": "string"},
        "quantity": DECIMAL_OUT, "cost": MONEY_OUT, "discount_percent": DECIMAL_OUT,
        "tax_name": {"type": "string"}, "tax_rate": DECIMAL_OUT,
        "amount": {**MONEY_OUT, "description": "Quantity x cost less the line discount."},
        "tax_amount": MONEY_OUT,
    },
}


def line_items(description="1 to 200 lines, in order."):
    return {"type": "array", "minItems": 1, "maxItems": 200, "items": LINE_ITEM,
            "description": description}


LINE_ITEMS_OUT = {"type": "array", "items": LINE_ITEM_OUT}
TOTALS_OUT = {"subtotal": MONEY_OUT, "discount": MONEY_OUT, "tax_total": MONEY_OUT,
              "total": MONEY_OUT}


def body(properties, required=()):
    """A request body: exactly these fields; anything else is refused, not ignored."""
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def record(properties):
    """A response record: every field is always present."""
    return {"type": "object", "properties": properties, "required": list(properties)}


def string_out(*, nullable_=False):
    return {"type": ["string", "null"]} if nullable_ else {"type": "string"}


def query(name, schema, description):
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


MAX_PER_PAGE = 100
PAGING = [
    query("page", {"type": "integer", "minimum": 1, "maximum": 1000000, "default": 1},
          "Page number, from 1."),
    query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                       "default": 25}, f"Records per page, 1 to {MAX_PER_PAGE}."),
]
CLIENT_FILTER = query("client_id", ID, "Only this client's records.")


def status_filter(statuses):
    return query("status", enum(statuses), "Only records in this status.")


ERROR = {
    "type": "object", "required": ["message", "errors"],
    "properties": {
        "message": {"type": "string", "description": "What went wrong, for a person."},
        "errors": {"type": "object", "description": "Field (a JSON path such as "
                   "line_items[0].cost) to its messages.",
                   "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}
PAGINATION = {
    "type": "object", "required": ["total", "count", "per_page", "current_page", "total_pages"],
    "properties": {key: {"type": "integer", "minimum": 0} for key in
                   ("total", "count", "per_page", "current_page", "total_pages")},
}
BULK_IDS = {"type": "array", "minItems": 1, "maxItems": 100, "items": ID,
            "description": "1 to 100 record ids."}
