"""URLs every page asks for (static files, fixed routes, the brand stylesheet, the logo),
each built once and kept."""
import functools
import hashlib
import os
from urllib.parse import quote

from flask import request

from views.current import company


@functools.lru_cache(maxsize=64)
def _file_hash(path, mtime):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def static_url(filename):
    """A static URL carrying its content hash, so browsers may cache it for a year."""
    from flask import current_app
    path = os.path.join(current_app.static_folder, filename)
    return _static_url(request.script_root, filename, os.path.getmtime(path), path)


@functools.lru_cache(maxsize=64)
def _static_url(script_root, filename, mtime, path):
    from flask import url_for
    return url_for("static", filename=filename, v=_file_hash(path, mtime))


@functools.lru_cache(maxsize=256)
def _fixed_url(script_root, endpoint):
    from flask import url_for
    return url_for(endpoint)


def fixed_url(endpoint):
    """url_for of a route without arguments, built once: the tab bar has a dozen of them."""
    return _fixed_url(request.script_root, endpoint)


def record_url(endpoint, public_id):
    """url_for(endpoint, public_id=public_id), for the rows of a list: the route's URL is
    built once per endpoint and each row's id put into it, instead of 25 rows each asking
    the URL map (twice: href and hx-get)."""
    before, after = _record_url_parts(request.script_root, endpoint)
    # Quoted as Werkzeug's converters quote a path segment, so the URL is url_for's.
    return before + quote(str(public_id), safe="!$&'()*+,/:;=@") + after


_ID_MARK = "0PUBLICID0"


@functools.lru_cache(maxsize=256)
def _record_url_parts(script_root, endpoint):
    from flask import url_for
    before, _, after = url_for(endpoint, public_id=_ID_MARK).partition(_ID_MARK)
    return before, after


def brand_url():
    """The brand stylesheet's URL, versioned by the colour so a change reaches browsers."""
    return _brand_url(request.script_root, company().brand_color or "")


@functools.lru_cache(maxsize=64)
def _brand_url(script_root, color):
    from flask import url_for
    return url_for("brand_css", v=hashlib.sha256(color.encode()).hexdigest()[:8])


def logo_src():
    """Where the portal's pages load the logo from, or "" when there is none."""
    c = company()
    if c.logo_file:
        return _logo_url(request.script_root, c.logo_file)
    return c.logo_url or ""


@functools.lru_cache(maxsize=16)
def _logo_url(script_root, name):
    from flask import url_for
    return url_for("company_logo", v=name)
