"""JSON API for staff integrations (DESIGN.md §7): /api/v1/<resource>, token in X-API-TOKEN.

Each resource (views/api/resources_*.py) declares what it supports (its request and record
schemas, filters, bulk actions, uploads) and how to list, read, create, update, archive and
bulk-act on its records through the same billing services the portal and back office use.
This module turns exactly that into routes, so a method a resource does not support is a
405 with an Allow header from the router, and the OpenAPI document (views/api/openapi.py)
lists exactly the routes that exist.
"""
import functools

from flask import Blueprint, abort, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

import models
from billing import DomainError, FieldErrors
from extensions import csrf, limiter
from money import MoneyError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
RESOURCES = {}


class ApiError(Exception):
    def __init__(self, message, status=422, field=None, errors=None):
        super().__init__(message)
        self.message, self.status, self.field = message, status, field
        self.errors = errors if errors is not None else ({field: [message]} if field else {})


def resource(cls):
    RESOURCES[cls.name] = cls()
    return cls


def token_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        value = request.headers.get("X-API-TOKEN", "")
        token = models.ApiToken.get_or_none(
            models.ApiToken.token_hash == models.hash_token(value)) if 10 < len(value) < 200 \
            else None
        if token is None or not token.staff.is_active:
            return error("A valid X-API-TOKEN header is required.", 401)
        g.api_staff = token.staff
        return view(*args, **kwargs)
    return wrapper


def error(message, status=422, field=None, errors=None):
    if errors is None:
        errors = {field: [message]} if field else {}
    return jsonify({"message": message, "errors": errors}), status


@bp.errorhandler(ApiError)
def api_error(exc):
    return error(exc.message, exc.status, errors=exc.errors)


@bp.errorhandler(DomainError)
def domain_error(exc):
    if isinstance(exc, FieldErrors):  # every refused field, not only the first
        return error(exc.message, 422, errors={f: [m] for f, m in exc.errors.items()})
    return error(exc.message, 422, exc.field)


@bp.errorhandler(MoneyError)
def money_error(exc):
    return error(str(exc), 422, "amount")


@bp.errorhandler(HTTPException)
def http_error(exc):
    response, status = error(exc.description if exc.code != 404 else "Not found.", exc.code)
    for name, value in exc.get_headers():
        if name.lower() in ("allow", "retry-after"):
            response.headers[name] = value
    return response, status


def find(res, public_id):
    from views.api.validation import WHOLE_ID
    record = res.find(public_id) if WHOLE_ID.fullmatch(public_id) else None
    if record is None:
        abort(404)
    return record


def paginate(query, page, per_page):
    total = query.count()
    rows = list(query.paginate(page, per_page)) if total else []
    pages = max(1, -(-total // per_page))
    return rows, {"pagination": {"total": total, "count": len(rows), "per_page": per_page,
                                 "current_page": page, "total_pages": pages}}


@token_required
@limiter.limit("600 per minute")
def list_records(name):
    from views.api.validation import query_args
    res = RESOURCES[name]
    args = query_args(res.parameters(), request.args)
    rows, meta = paginate(res.query(args), args["page"], args["per_page"])
    return jsonify({"data": [res.serialize(r) for r in rows], "meta": meta})


@token_required
def create_record(name):
    from views.api.validation import json_body, validate
    res = RESOURCES[name]
    record = res.create(validate(res.create_schema, json_body()), g.api_staff)
    return jsonify({"data": res.serialize(res.find(record.public_id))}), 201


@token_required
def show_record(name, public_id):
    res = RESOURCES[name]
    return jsonify({"data": res.serialize(find(res, public_id))})


@token_required
def update_record(name, public_id):
    from views.api.validation import json_body, validate
    res = RESOURCES[name]
    record = find(res, public_id)
    data = validate(res.update_schema, json_body())
    record = res.update(record, data, g.api_staff)
    return jsonify({"data": res.serialize(res.find(record.public_id))})


@token_required
def delete_record(name, public_id):
    res = RESOURCES[name]
    record = res.archive(find(res, public_id), g.api_staff)
    return jsonify({"data": res.serialize(record)})


@token_required
def bulk(name):
    from views.api.validation import json_body, validate
    res = RESOURCES[name]
    data = validate(res.bulk_schema, json_body())
    records = [find(res, i) for i in data["ids"]]
    results = [res.bulk_actions[data["action"]](res, record, data, g.api_staff)
               for record in records]
    return jsonify({"data": [res.serialize(res.find(r.public_id)) for r in results]})


@token_required
def upload(name, public_id):
    from billing import files
    from views.api.resources_documents import DocumentResource
    from views.api.validation import upload_form
    res = RESOURCES[name]
    record = find(res, public_id)
    upload_file, is_public = upload_form(request)
    document = files.store(current_app.config["UPLOAD_PATH"], res.client_of(record),
                           upload_file.filename, upload_file.stream, is_public=is_public,
                           **res.document_link(record))
    return jsonify({"data": DocumentResource().serialize(document)}), 201


# (path under /api/v1/<resource>, methods, view, operation kind) for each thing a resource can
# do; the router and the OpenAPI document both come from this table.
def operations(res):
    ops = [("", ("GET",), list_records, "list")]
    if res.create_schema is not None:
        ops.append(("", ("POST",), create_record, "create"))
    ops.append(("/<public_id>", ("GET",), show_record, "show"))
    if res.update_schema is not None:
        ops.append(("/<public_id>", ("PUT", "PATCH"), update_record, "update"))
    if res.deletable:
        ops.append(("/<public_id>", ("DELETE",), delete_record, "delete"))
    if res.bulk_actions:
        ops.append(("/bulk", ("POST",), bulk, "bulk"))
    if res.accepts_uploads:
        ops.append(("/<public_id>/upload", ("POST",), upload, "upload"))
    return ops


@bp.get("/openapi.json")
def openapi():
    from views.api.openapi import document
    return jsonify(document(RESOURCES))


_routed = False


def load_resources():
    """Import the resources and route what each supports (once: blueprints are shared)."""
    global _routed
    from views.api import (  # noqa: F401 - importing registers them
        resources_client_subscriptions,
        resources_clients,
        resources_documents,
        resources_invoices,
        resources_payments,
        resources_quotes,
        resources_subscriptions,
    )
    if _routed:
        return
    for name, res in sorted(RESOURCES.items()):
        for path, methods, view, kind in operations(res):
            bp.add_url_rule(f"/{name}{path}".replace("<public_id>", "<public_id:public_id>"),
                            f"{name}_{kind}", view, methods=list(methods),
                            defaults={"name": name})
    _routed = True


class PublicIdConverter(BaseConverter):
    """A record id; never "bulk", so /<resource>/bulk is one route with one Allow header."""
    regex = r"(?!bulk(?:/|$))[A-Za-z0-9_-]{1,24}"


@bp.record
def _add_converter(state):
    state.app.url_map.converters["public_id"] = PublicIdConverter
