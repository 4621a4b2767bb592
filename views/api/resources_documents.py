"""/api/v1/documents: files shared with clients (upload through /<resource>/<id>/upload)."""
import os

from flask import current_app

import models
from billing import files
from views.api import resource
from views.api.base import Resource
from views.api.fields import iso
from views.api.schemas import CLIENT_FILTER, DATETIME_OUT, body, record, string_out


@resource
class DocumentResource(Resource):
    name = "documents"
    model = models.Document
    update_schema = body({"is_public": {"type": "boolean",
                                        "description": "Shown in the client's portal."}},
                         required=("is_public",))
    record_schema = record({
        "id": {"type": "string"}, "client_id": {"type": "string"},
        "filename": {"type": "string"}, "content_type": {"type": "string"},
        "size": {"type": "integer", "minimum": 0}, "is_public": {"type": "boolean"},
        "invoice_id": string_out(nullable_=True), "quote_id": string_out(nullable_=True),
        "created_at": DATETIME_OUT})
    filters = (CLIENT_FILTER,)

    def query(self, args):
        D = models.Document
        query = D.select(D, models.Client).join(models.Client)
        if args.get("client_id"):
            query = query.where(models.Client.public_id == args["client_id"])
        return query.order_by(D.id.desc())

    def serialize(self, d):
        return {"id": d.public_id, "client_id": d.client.public_id, "filename": d.filename,
                "content_type": d.content_type, "size": d.size, "is_public": d.is_public,
                "invoice_id": d.invoice.public_id if d.invoice_id else None,
                "quote_id": d.quote.public_id if d.quote_id else None,
                "created_at": iso(d.created_at)}

    def update(self, record, data, staff):
        record.is_public = data["is_public"]
        record.save()
        models.Activity.log("document.shared" if record.is_public else "document.hidden",
                            record, client=record.client_id, staff=staff)
        return record

    def archive(self, record, staff):
        """Documents have no archive: delete the file and its record."""
        path = files.path_of(current_app.config["UPLOAD_PATH"], record)
        record.delete_instance()
        if os.path.exists(path):
            os.remove(path)
        models.Activity.log("document.deleted", staff=staff, client=record.client_id,
                            detail=record.filename)
        return record
