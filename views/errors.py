"""Human pages for refusals (400, 404, 405, 410, 413, 429); JSON under /api/."""
from flask import make_response, render_template, request
from werkzeug.exceptions import SecurityError

ERROR_TITLES = {
    400: "Something in that request was not right",
    404: "Page not found",
    405: "That action is not available here",
    410: "No longer available",
    413: "That was too large",
    429: "Too many attempts",
}
ERROR_MESSAGES = {
    404: "This page does not exist, or it is not yours to see. Check the link or go back "
         "to your invoices.",
    405: "Use the buttons and links on the page.",
    413: "The form or file you sent is larger than we accept. Please send something smaller.",
    429: "For your account's safety we paused further tries. Please wait a minute and try "
         "again, or reset your password.",
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
        return {"message": message, "errors": {}}, code
    response = make_response(render_template(
        "error.html", code=code, message=message, title=ERROR_TITLES.get(code, "Error")), code)
    if code == 429 and hasattr(exc, "get_headers"):
        for name, value in exc.get_headers():
            if name.lower() == "retry-after":
                response.headers[name] = value
    return response


def register(app):
    for code in ERROR_TITLES:
        app.register_error_handler(code, error_page)
