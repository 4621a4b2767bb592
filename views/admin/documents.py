"""Back office: upload documents for a client and choose which the client may see."""
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for

import models
from billing import DomainError, files, transaction
from views.admin import current_staff, staff_required
from views.admin.lists import list_page
from views.ids import row_id

bp = Blueprint("admin_documents", __name__, url_prefix="/admin/documents")


@bp.get("/")
@staff_required
def index():
    C = models.Client
    clients = C.select(C.id, C.name).where(C.archived_at.is_null()).order_by(C.name, C.id)
    return list_page("documents", "admin/documents.html", clients=clients)


@bp.post("/")
@staff_required
def upload():
    client = models.Client.get_or_none(
        models.Client.id == row_id(request.form.get("client_id")))
    upload_file = request.files.get("file")
    if client is None or upload_file is None or not upload_file.filename:
        flash("Choose a client and a file.", "error")
        return redirect(url_for("admin_documents.index"), 303)
    try:
        document = files.store(current_app.config["UPLOAD_PATH"], client, upload_file.filename,
                               upload_file.stream, is_public=request.form.get("is_public") == "1")
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        models.Activity.update(staff=current_staff()).where(
            (models.Activity.subject_type == "document")
            & (models.Activity.subject_id == document.id)).execute()
        flash(f"{document.filename} uploaded.", "success")
    return redirect(url_for("admin_documents.index"), 303)


@bp.post("/<int:document_id>/visibility")
@staff_required
def visibility(document_id):
    document = models.Document.get_or_none(models.Document.id == document_id)
    if document is None:
        abort(404)
    with transaction():
        document.is_public = request.form.get("is_public") == "1"
        document.save()
        models.Activity.log("document.shared" if document.is_public else "document.hidden",
                            document, client=document.client_id, staff=current_staff())
    return redirect(url_for("admin_documents.index"), 303)
