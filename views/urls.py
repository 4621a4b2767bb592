"""URLs every page asks for (static files, fixed routes, the brand stylesheet, the logo),
each built once and kept."""
import functools
import hashlib
import os

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
