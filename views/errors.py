"""Human pages for refusals (400, 404, 405, 410, 413, 429) and for a busy or full server
(503); JSON under /api/."""
import errno
import logging

from flask import make_response, render_template, request
from markupsafe import escape
from peewee import OperationalError
from werkzeug.exceptions import SecurityError

log = logging.getLogger("portal.errors")

ERROR_TITLES = {
    400: "Something in that request was not right",
    404: "Page not found",
    405: "That action is not available here",
    410: "No longer available",
    413: "That was too large",
    429: "Too many attempts",
    503: "Please try again in a moment",
}
ERROR_MESSAGES = {
    404: "This page does not exist, or it is not yours to see. Check the link or go back "
         "to your invoices.",
    405: "Use the buttons and links on the page.",
    413: "The form or file you sent is larger than we accept. Please send something smaller.",
    429: "For your account's safety we paused further tries. Please wait a minute and try "
         "again, or reset your password.",
}
# Integrations read these, not a person on a page.
API_MESSAGES = {
    404: "Not found.",
    405: "This resource does not support that method; the Allow header lists those it does.",
}


def error_page(exc):
    """A short human page for refusals, instead of the framework's bare default."""
    if isinstance(exc, SecurityError):
        # A Host header outside PORTAL_TRUSTED_HOSTS: no URL can be built for it, so no page.
        return make_response("This portal does not answer to that host name.", 400,
                             {"Content-Type": "text/plain; charset=utf-8"})
    code = getattr(exc, "code", 400) or 400
    message = ERROR_MESSAGES.get(code) or getattr(exc, "description", "") or ""
    if code == 400 and "CSRF" in message:
        message = ("Your form expired or was sent from somewhere else. Reload the page and "
                   "try again.")
    if request.path.startswith("/api/"):
        message = API_MESSAGES.get(code, message)
        response = make_response({"message": message, "errors": {}}, code)
    else:
        response = make_response(render_template(
            "error.html", code=code, message=message, title=ERROR_TITLES.get(code, "Error")),
            code)
    # The refusal's own headers are part of it: Allow on a 405 (RFC 9110 requires it),
    # Retry-After on a 429.
    if hasattr(exc, "get_headers"):
        for name, value in exc.get_headers():
            if name.lower() in ("allow", "retry-after"):
                response.headers[name] = value
    return response


# SQLite's words for "not now" (a writer held the lock past the busy timeout) and for a disk
# that cannot take the write. Other OperationalErrors (no such table...) are bugs: 500.
DATABASE_BUSY = ("database is locked", "database table is locked", "busy")
DATABASE_DISK = ("disk i/o error", "database or disk is full", "readonly database",
                 "read-only", "unable to open database file")
# An uploads (or outbox) folder that is full, read-only, or not a folder at all.
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                  errno.ENOTDIR, errno.EIO}
UNAVAILABLE = {
    "busy": ("The portal is busy right now. Nothing was changed: please try again in a "
             "few seconds.", 5),
    "storage": ("We could not save that just now because the server's storage is not "
                "available. Nothing was changed: please try again later.", 300),
}


def unavailable_kind(exc):
    """"busy" or "storage" for a temporary server-side failure, else None (a real bug)."""
    if isinstance(exc, OperationalError):
        text = str(exc).lower()
        # Peewee re-raises the driver's exception as its own and keeps the original as .orig.
        cause = getattr(exc, "orig", None) or exc.__context__
        if any(word in text for word in DATABASE_BUSY):
            return "busy"
        if any(word in text for word in DATABASE_DISK):
            return "storage"
        # psycopg2's OperationalError: lost connection, lock or statement timeout, disk full.
        if type(cause).__module__.startswith("psycopg2"):
            return "busy"
        return None
    if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
        return "storage"
    return None


def unavailable_page(exc):
    """503 with Retry-After for a locked database, a full disk or a read-only uploads folder.

    Logged with the traceback, so the operator sees it; the person sees a page that says
    nothing was changed (the transaction rolled back, the upload was not kept).
    """
    kind = unavailable_kind(exc)
    if kind is None:
        raise exc
    message, retry_after = UNAVAILABLE[kind]
    log.error("503 for %s %s (%s): %s", request.method, request.path, kind, exc,
              exc_info=exc)
    if request.path.startswith("/api/"):
        response = make_response({"message": message, "errors": {}}, 503)
    else:
        try:
            body = render_template("error.html", code=503, message=message,
                                   title=ERROR_TITLES[503])
        except Exception:  # the page itself needs the database (the company's name)
            body = (f"<!doctype html><title>{ERROR_TITLES[503]}</title>"
                    f"<h1>{ERROR_TITLES[503]}</h1><p role=alert>{escape(message)}</p>")
        response = make_response(body, 503)
    response.headers["Retry-After"] = str(retry_after)
    return response


def register(app):
    for code in ERROR_TITLES:
        app.register_error_handler(code, error_page)
    app.register_error_handler(OperationalError, unavailable_page)
    app.register_error_handler(OSError, unavailable_page)
