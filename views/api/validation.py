"""Reading requests defensively and checking them against the published schemas.

One mechanism for every resource: the JSON Schemas that /api/v1/openapi.json publishes are
the ones enforced here, so the document cannot promise what the code does not do.
"""
import json
import re

import jsonschema_rs
from flask import request

from views.api import ApiError
from views.api.schemas import ID_CHARS

# Our documents are four levels deep; anything far deeper is an attack, not an invoice.
MAX_DEPTH = 32
WHOLE_NUMBER = re.compile(r"[0-9]{1,12}")
WHOLE_ID = re.compile(ID_CHARS)
BOOLEAN_FORM = {"true": True, "false": False, "1": True, "0": False}
_validators = {}


def _validator(schema):
    # Keyed by identity: schemas are module-level constants, compiled once per process.
    key = id(schema)
    if key not in _validators:
        _validators[key] = (schema, jsonschema_rs.Draft202012Validator(
            schema, validate_formats=True))
    return _validators[key][1]


def _refuse_constant(name):
    # Python's json accepts NaN and Infinity; JSON does not, and neither do we.
    raise ValueError(f"{name} is not JSON")


def _depth(value):
    """Nesting depth, without recursion (so it cannot overflow the stack itself)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def json_body():
    """The request's JSON object, or a 400/413 that says why not."""
    if not request.is_json:
        raise ApiError("Send a JSON object with Content-Type: application/json.", 400)
    # portal.Request limits what is read (MAX_JSON_SIZE): a larger body is a 413 here.
    raw = request.get_data(cache=False)
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        # The C decoder gives up on deep nesting with RecursionError: a refusal, not a crash.
        raise ApiError(f"JSON nested deeper than {MAX_DEPTH} levels is refused.", 400) from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError("The body is not valid JSON.", 400) from None
    if _depth(data) > MAX_DEPTH:
        raise ApiError(f"JSON nested deeper than {MAX_DEPTH} levels is refused.", 400)
    if not isinstance(data, dict):
        raise ApiError("Send a JSON object with Content-Type: application/json.", 400)
    return data


def field_name(path):
    """["line_items", 0, "cost"] -> "line_items[0].cost"."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def _description(schema, schema_path):
    """The description of the deepest schema on the path: it says what is expected."""
    node, found = schema, None
    for part in schema_path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
        if isinstance(node, dict) and node.get("description"):
            found = node["description"]
    return found


def _errors(schema, data):
    kinds = jsonschema_rs.ValidationErrorKind
    errors = {}
    for error in _validator(schema).iter_errors(data):
        path = list(error.instance_path)
        kind = error.kind
        if isinstance(kind, kinds.AdditionalProperties):
            for name in kind.unexpected:
                errors.setdefault(field_name([*path, name]), []).append(
                    f"{name} is not a field here; check the name against the API documentation.")
        elif isinstance(kind, kinds.Required):
            errors.setdefault(field_name([*path, kind.property]), []).append(
                "This field is required.")
        else:
            expected = _description(schema, list(error.schema_path))
            message = f"Expected: {expected}" if expected else error.message
            errors.setdefault(field_name(path) or "body", []).append(message)
    return errors


def validate(schema, data):
    """Refuse data that does not fit the schema: 422 with every field's message."""
    errors = _errors(schema, data)
    if errors:
        field, messages = next(iter(errors.items()))
        more = f" ({len(errors) - 1} more in errors)" if len(errors) > 1 else ""
        raise ApiError(f"{field}: {messages[0]}{more}", 422, errors=errors)
    return data


def query_args(parameters, args):
    """The documented query parameters, typed and checked; undocumented ones are ignored."""
    values, errors = {}, {}
    for parameter in parameters:
        name, schema = parameter["name"], parameter["schema"]
        raw = args.get(name)
        if raw is None:
            if "default" in schema:
                values[name] = schema["default"]
            continue
        value = raw
        if schema.get("type") == "integer":
            # int() also takes " 1", "+1", "1_000" and non-ASCII digits: only plain digits
            # are a page number, and at most 12 of them (the schema's maximum does the rest).
            if not WHOLE_NUMBER.fullmatch(raw):
                errors[name] = [f"{parameter['description']} Send a whole number."]
                continue
            value = int(raw)
        problems = _errors(schema, value)
        if problems:
            errors[name] = [parameter["description"]]
            continue
        values[name] = value
    if errors:
        field, messages = next(iter(errors.items()))
        raise ApiError(f"{field}: {messages[0]}", 422, errors=errors)
    return values


def upload_form(req):
    """The upload's file and is_public flag; other form fields are refused, not ignored."""
    # A multipart part may come with no name (werkzeug keys it None): refused all the same.
    unknown = sorted(name or "" for name in
                     (set(req.form) - {"is_public"}) | (set(req.files) - {"file"}))
    errors = {name: [f"{name or 'A part with no name'} is not a field here; send file and "
                     "is_public."] for name in unknown}
    upload_file = req.files.get("file")
    if upload_file is None or not upload_file.filename:
        errors["file"] = ["Send the file as multipart field 'file'."]
    is_public = BOOLEAN_FORM.get(req.form.get("is_public", "false").strip().lower())
    if is_public is None:
        errors["is_public"] = ["is_public is true or false."]
    if errors:
        field, messages = next(iter(errors.items()))
        raise ApiError(f"{field}: {messages[0]}", 422, errors=errors)
    return upload_file, is_public
