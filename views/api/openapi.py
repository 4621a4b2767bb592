"""The OpenAPI 3.1 document, built from the registered resources so it cannot drift."""

MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "example": "1250.00"}


def _schema(res):
    props = {}
    for name, (kind, description) in res.fields.items():
        prop = {"type": kind, "description": description}
        if kind == "array":
            prop["items"] = {"type": "object"}
        props[name] = prop
    return {"type": "object", "properties": props, "required": list(res.required)}


def _ok(description, schema=None):
    content = {"application/json": {"schema": schema or {"$ref": "#/components/schemas/Data"}}}
    return {"description": description, "content": content}


def _errors():
    return {code: {"description": text, "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Error"}}}} for code, text in (
        ("401", "Missing or wrong X-API-TOKEN"), ("404", "No such record"),
        ("422", "Invalid input: nothing was changed"))}


def paths_for(name, res):
    ref = {"$ref": f"#/components/schemas/{name}"}
    id_param = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    paging = [{"name": n, "in": "query", "schema": {"type": "integer"}}
              for n in ("page", "per_page")]
    paths = {
        f"/api/v1/{name}": {
            "get": {"summary": f"List {name}", "parameters": paging,
                    "responses": {"200": _ok("A page", {"$ref": "#/components/schemas/Page"}),
                                  **_errors()}},
            "post": {"summary": f"Create one of {name}", "requestBody": {
                "content": {"application/json": {"schema": ref}}},
                "responses": {"201": _ok("Created"), **_errors()}},
        },
        f"/api/v1/{name}/{{id}}": {
            "parameters": id_param,
            "get": {"summary": "Show", "responses": {"200": _ok("The record"), **_errors()}},
            "put": {"summary": "Update", "requestBody": {
                "content": {"application/json": {"schema": ref}}},
                "responses": {"200": _ok("Updated"), **_errors()}},
            "delete": {"summary": "Archive", "responses": {"200": _ok("Archived"),
                                                           **_errors()}},
        },
    }
    if res.bulk_actions:
        paths[f"/api/v1/{name}/bulk"] = {"post": {
            "summary": f"Bulk action on {name}", "requestBody": {"content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "action": {"type": "string", "enum": sorted(res.bulk_actions)},
                    "ids": {"type": "array", "items": {"type": "string"}}},
                    "required": ["action", "ids"]}}}},
            "responses": {"200": _ok("The changed records"), **_errors()}}}
    if res.accepts_uploads:
        paths[f"/api/v1/{name}/{{id}}/upload"] = {"parameters": id_param, "post": {
            "summary": "Upload a document", "requestBody": {"content": {"multipart/form-data": {
                "schema": {"type": "object", "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "is_public": {"type": "boolean"}}, "required": ["file"]}}}},
            "responses": {"201": _ok("The document"), **_errors()}}}
    return paths


def document(resources):
    paths, schemas = {}, {
        "Money": MONEY,
        "Data": {"type": "object", "properties": {"data": {"type": "object"}}},
        "Page": {"type": "object", "properties": {
            "data": {"type": "array", "items": {"type": "object"}},
            "meta": {"type": "object", "properties": {"pagination": {"type": "object"}}}}},
        "Error": {"type": "object", "properties": {
            "message": {"type": "string"}, "errors": {"type": "object"}}},
    }
    for name, res in sorted(resources.items()):
        paths.update(paths_for(name, res))
        schemas[name] = _schema(res)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Client portal API", "version": "1"},
        "components": {"schemas": schemas, "securitySchemes": {
            "token": {"type": "apiKey", "in": "header", "name": "X-API-TOKEN"}}},
        "security": [{"token": []}],
        "paths": paths,
    }
