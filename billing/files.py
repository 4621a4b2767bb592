"""Documents the business shares: stored under the instance's uploads folder by random name."""
import mimetypes
import os
import secrets

import instance_files
import models
from billing import DomainError, transaction

MAX_BYTES = 20 * 1024 * 1024
ALLOWED_TYPES = {
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain",
    "text/csv", "application/zip",
    "application/msword", "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
}


def clean_filename(name):
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>:|?*')
    return name[:200] or "document"


def store(upload_path, client, filename, stream, *, is_public=False, invoice=None, quote=None):
    """Save an uploaded file and its record; the file is removed again if the record fails."""
    filename = clean_filename(filename)
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    if content_type not in ALLOWED_TYPES:
        raise DomainError("That kind of file cannot be shared. Use PDF, images, office "
                          "documents, text, CSV or ZIP.", "file")
    instance_files.private_dir(upload_path)
    storage_name = secrets.token_hex(16)
    path = os.path.join(upload_path, storage_name)
    size = 0
    try:
        with instance_files.open_private(path, "xb") as out:
            while chunk := stream.read(64 * 1024):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise DomainError("Files can be at most 20 MB.", "file")
                out.write(chunk)
        if size == 0:
            raise DomainError("That file is empty.", "file")
        with transaction():
            document = models.Document.create(
                client=client, invoice=invoice, quote=quote, filename=filename,
                content_type=content_type, size=size, storage_name=storage_name,
                is_public=bool(is_public))
            models.Activity.log("document.uploaded", document, client=client.id,
                                detail=filename)
    except BaseException:
        if os.path.exists(path):
            os.remove(path)
        raise
    return document


def path_of(upload_path, document):
    return os.path.join(upload_path, document.storage_name)
