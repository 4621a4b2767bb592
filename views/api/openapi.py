"""The OpenAPI 3.1 document, built from the same resource declarations that route and
validate requests (views/api/__init__.py operations(), views/api/schemas.py), so it cannot
drift from what the API does."""
from views.api.schemas import ERROR, ID, MONEY, PAGINATION

STATUS_TEXT = {
    "400": "Malformed request: a character that is not allowed, or a body that is not a "
           "JSON object (or is nested too deeply)",
    "401": "Missing or wrong X-API-TOKEN",
    "404": "No such record",
    "413": "The body is too large",
    "422": "Invalid input: nothing was changed",
    "429": "Too many requests; retry later",
}
# The refusals each kind of operation can give, besides its success. Any request can be a
# 400: the app refuses control characters in a URL before it reaches the API.
REFUSALS = {
    "list": ("400", "401", "422", "429"),
    "create": ("400", "401", "413", "422"),
    "show": ("400", "401", "404"),
    "update": ("400", "401", "404", "413", "422"),
    "delete": ("400", "401", "404", "422"),
    "bulk": ("400", "401", "404", "413", "422"),
    "upload": ("400", "401", "404", "413", "422"),
}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema):
    return {"application/json": {"schema": schema}}


def _responses(kind, status, description, schema):
    responses = {status: {"description": description, "content": _json(schema)}}
    for code in REFUSALS[kind]:
        responses[code] = {"description": STATUS_TEXT[code], "content": _json(_ref("Error"))}
    return responses


def _title(name):
    return "".join(part.title() for part in name.split("_"))


def _operation(name, kind, res):
    title = _title(name)
    one = {"type": "object", "required": ["data"], "properties": {"data": _ref(title)}}
    many = {"type": "object", "required": ["data"],
            "properties": {"data": {"type": "array", "items": _ref(title)}}}
    if kind == "list":
        page = {**many, "required": ["data", "meta"], "properties": {
            **many["properties"], "meta": {"type": "object", "required": ["pagination"],
                                           "properties": {"pagination": _ref("Pagination")}}}}
        return {"summary": f"List {name}", "parameters": res.parameters(),
                "responses": _responses(kind, "200", "A page of records", page)}
    if kind == "create":
        return {"summary": f"Create one of {name}", "requestBody": {
            "required": True, "content": _json(_ref(f"{title}Create"))},
            "responses": _responses(kind, "201", "Created", one)}
    if kind == "show":
        return {"summary": "Show one", "responses": _responses(kind, "200", "The record", one)}
    if kind == "update":
        return {"summary": "Change fields (those left out stay as they are)", "requestBody": {
            "required": True, "content": _json(_ref(f"{title}Update"))},
            "responses": _responses(kind, "200", "Updated", one)}
    if kind == "delete":
        return {"summary": "Archive (documents: delete)",
                "responses": _responses(kind, "200", "Archived", one)}
    if kind == "bulk":
        return {"summary": f"Bulk action on {name}", "requestBody": {
            "required": True, "content": _json(_ref(f"{title}Bulk"))},
            "responses": _responses(kind, "200", "The changed records", many)}
    return {"summary": "Upload a document", "requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {
            "type": "object", "additionalProperties": False, "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"},
                           "is_public": {"type": "boolean"}}}}}},
        "responses": _responses(kind, "201", "The document", {
            "type": "object", "required": ["data"], "properties": {"data": _ref("Documents")}})}


def _path(name, path):
    # Flask's /<public_id> is OpenAPI's /{id}.
    path = path.replace("<public_id>", "{id}")
    return f"/api/v1/{name}{path}"


ID_PARAMETER = {"name": "id", "in": "path", "required": True, "schema": ID}


def document(resources):
    from views.api import operations
    paths = {}
    schemas = {"Money": MONEY, "Error": ERROR, "Pagination": PAGINATION}
    for name, res in sorted(resources.items()):
        title = _title(name)
        schemas[title] = res.record_schema
        if res.create_schema is not None:
            schemas[f"{title}Create"] = res.create_schema
        if res.update_schema is not None:
            schemas[f"{title}Update"] = res.update_schema
        if res.bulk_schema is not None:
            schemas[f"{title}Bulk"] = res.bulk_schema
        for path, methods, _view, kind in operations(res):
            item = paths.setdefault(_path(name, path), {})
            if "{id}" in _path(name, path):
                item["parameters"] = [ID_PARAMETER]
            for method in methods:
                item[method.lower()] = _operation(name, kind, res)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Client portal API", "version": "1"},
        "components": {"schemas": schemas, "securitySchemes": {
            "token": {"type": "apiKey", "in": "header", "name": "X-API-TOKEN"}}},
        "security": [{"token": []}],
        "paths": paths,
    }
