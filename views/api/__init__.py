"""JSON API for staff integrations (DESIGN.md §7): /api/v1/<resource>, token in X-API-TOKEN.

Each resource (views/api/resources_*.py) declares how to list, read, create, update, archive
and bulk-act on its records through the same billing services the portal and back office use;
this module turns that into routes, JSON envelopes, errors and the OpenAPI document.
"""
import functools

from flask import Blueprint, abort, g, jsonify, request
from werkzeug.exceptions import HTTPException

import models
from billing import DomainError
from money import MoneyError
from portal import csrf, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
RESOURCES = {}
MAX_PER_PAGE = 100


class ApiError(Exception):
    def __init__(self, message, status=422, field=None):
        super().__init__(message)
        self.message, self.status, self.field = message, status, field


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


def error(message, status=422, field=None):
    errors = {field: [message]} if field else {}
    return jsonify({"message": message, "errors": errors}), status


@bp.errorhandler(ApiError)
def api_error(exc):
    return error(exc.message, exc.status, exc.field)


@bp.errorhandler(DomainError)
def domain_error(exc):
    return error(exc.message, 422, exc.field)


@bp.errorhandler(MoneyError)
def money_error(exc):
    return error(str(exc), 422, "amount")


@bp.errorhandler(HTTPException)
def http_error(exc):
    return error(exc.description if exc.code != 404 else "Not found.", exc.code)


def body():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError("Send a JSON object with Content-Type: application/json.", 400)
    return data


def get_resource(name):
    res = RESOURCES.get(name)
    if res is None:
        abort(404)
    return res


def find(res, public_id):
    record = res.find(public_id[:24])
    if record is None:
        abort(404)
    return record


def paginate(query):
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(MAX_PER_PAGE, max(1, int(request.args.get("per_page", 25))))
    except ValueError:
        raise ApiError("page and per_page must be whole numbers.", 400) from None
    total = query.count()
    rows = list(query.paginate(page, per_page)) if total else []
    pages = max(1, -(-total // per_page))
    return rows, {"pagination": {"total": total, "count": len(rows), "per_page": per_page,
                                 "current_page": page, "total_pages": pages}}


@bp.get("/<name>")
@token_required
@limiter.limit("600 per minute")
def list_records(name):
    res = get_resource(name)
    rows, meta = paginate(res.query(request.args))
    return jsonify({"data": [res.serialize(r) for r in rows], "meta": meta})


@bp.post("/<name>")
@token_required
def create_record(name):
    res = get_resource(name)
    record = res.create(body(), g.api_staff)
    return jsonify({"data": res.serialize(res.find(record.public_id))}), 201


@bp.get("/<name>/<public_id>")
@token_required
def show_record(name, public_id):
    res = get_resource(name)
    return jsonify({"data": res.serialize(find(res, public_id))})


@bp.route("/<name>/<public_id>", methods=["PUT", "PATCH"])
@token_required
def update_record(name, public_id):
    res = get_resource(name)
    record = res.update(find(res, public_id), body(), g.api_staff)
    return jsonify({"data": res.serialize(res.find(record.public_id))})


@bp.delete("/<name>/<public_id>")
@token_required
def delete_record(name, public_id):
    res = get_resource(name)
    record = res.archive(find(res, public_id), g.api_staff)
    return jsonify({"data": res.serialize(record)})


@bp.post("/<name>/bulk")
@token_required
def bulk(name):
    res = get_resource(name)
    data = body()
    action, ids = data.get("action"), data.get("ids")
    if action not in res.bulk_actions:
        raise ApiError(f"action must be one of: {', '.join(sorted(res.bulk_actions))}.",
                       422, "action")
    if not isinstance(ids, list) or not ids or len(ids) > 100:
        raise ApiError("ids must be a list of 1 to 100 ids.", 422, "ids")
    records = [find(res, str(i)) for i in ids]
    results = [res.bulk_actions[action](res, record, data, g.api_staff) for record in records]
    return jsonify({"data": [res.serialize(res.find(r.public_id)) for r in results]})


@bp.post("/<name>/<public_id>/upload")
@token_required
def upload(name, public_id):
    from flask import current_app

    from billing import files
    res = get_resource(name)
    if not res.accepts_uploads:
        abort(404)
    record = find(res, public_id)
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        raise ApiError("Send the file as multipart field 'file'.", 422, "file")
    is_public = request.form.get("is_public", "false").lower() in ("1", "true", "yes")
    document = files.store(current_app.config["UPLOAD_PATH"], res.client_of(record),
                           upload_file.filename, upload_file.stream, is_public=is_public,
                           **res.document_link(record))
    from views.api.resources_documents import DocumentResource
    return jsonify({"data": DocumentResource().serialize(document)}), 201


@bp.get("/openapi.json")
def openapi():
    from views.api.openapi import document
    return jsonify(document(RESOURCES))


def load_resources():
    from views.api import (  # noqa: F401 - importing registers them
        resources_clients,
        resources_documents,
        resources_invoices,
        resources_payments,
        resources_quotes,
    )
