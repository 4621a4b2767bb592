"""The routes that serve the business's brand: its colour as a stylesheet, and its logo."""
import re

from flask import abort, make_response, request

from views.current import company


def brand_css():
    """The business's colour as CSS: a stylesheet, because the CSP forbids inline styles."""
    color = company().brand_color
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color or ""):
        color = "#1f5fbf"
    response = make_response(f":root{{--brand:{color}}}\n")
    response.headers["Content-Type"] = "text/css"
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def company_logo():
    """The uploaded logo. Pages link it with ?v= its stored name, which changes with the
    image, so that URL may be cached for good; an old ?v= gets today's logo, uncached."""
    from flask import current_app, send_file

    from billing import company_settings
    name = company().logo_file
    path = company_settings.logo_path(current_app.config["UPLOAD_PATH"], name)
    if path is None:
        abort(404)
    response = send_file(path, mimetype=company_settings.logo_content_type(name),
                         conditional=True)
    response.headers["Cache-Control"] = ("public, max-age=31536000, immutable"
                                         if request.args.get("v") == name else "no-cache")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
