"""Documents tab: files the business chose to share, downloaded as attachments."""
import os

from flask import Blueprint, abort, current_app, request, send_file
from flask_babel import gettext as _
from flask_login import current_user

import models
from billing import files, listing
from views.paging import Page, page_number, search_text
from views.tabs import portal_tab, render_tab

bp = Blueprint("documents", __name__, url_prefix="/client")


@bp.get("/documents")
@portal_tab("documents")
def index():
    search = search_text()
    page = Page(listing.documents(current_user.client_id, search),
                page_number(request.args.get("page")), current_app.config["PAGE_SIZE"])
    return render_tab("documents/list.html", page=page, q=search)


@bp.get("/documents/<public_id>/download")
@portal_tab("documents")
def download(public_id):
    D = models.Document
    document = D.for_client(current_user.client_id).where(D.public_id == public_id[:24]).first()
    if document is None:
        abort(404)
    path = files.path_of(current_app.config["UPLOAD_PATH"], document)
    if not os.path.exists(path):
        # The record outlived its file (a restore without uploads/): say so, don't crash.
        current_app.logger.error("document %s: file %s is missing", document.id, path)
        abort(410, _("This file is no longer available. Please ask for a new copy."))
    models.Activity.log("document.downloaded", document, client=document.client_id,
                        contact=current_user.id)
    response = send_file(path, mimetype=document.content_type, as_attachment=True,
                         download_name=document.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
