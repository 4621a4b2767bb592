"""Static files served precompressed (brotli or gzip) with long-lived caching.

Flask-Compress handles static files as streams: it re-compresses them on every request and
offers no gzip for streams, so a gzip-only client got htmx uncompressed. Static files change
only on deploy, so each one is compressed once (best ratio) per content version and kept in
memory; Flask-Compress skips a response that already has a Content-Encoding.
"""
import functools
import gzip
import hashlib
import os

import brotli
from flask import current_app, request

COMPRESSIBLE = {"text/css", "text/javascript", "application/javascript", "text/plain",
                "image/svg+xml", "application/json"}
ENCODINGS = ("br", "gzip")  # in order of preference at equal quality
MIN_SIZE = 500


def accepted_encoding(header):
    """The best of ENCODINGS the Accept-Encoding header allows, or None."""
    quality = {}
    for part in (header or "").lower().split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        quality[name.strip()] = q
    ranked = [(quality.get(e, quality.get("*", 0.0)), -i, e) for i, e in enumerate(ENCODINGS)]
    best = max(ranked)
    return best[2] if best[0] > 0 else None


@functools.lru_cache(maxsize=64)
def _compressed(path, mtime, encoding):
    with open(path, "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()[:16]
    if encoding == "br":
        body = brotli.compress(data, quality=11)
    else:
        body = gzip.compress(data, compresslevel=9, mtime=0)
    return body, f"{digest}-{encoding}"


def precompressed_static(response):
    if (request.endpoint != "static" or response.status_code != 200
            or response.mimetype not in COMPRESSIBLE):
        return response
    if "v" in request.args:
        # static_url() puts the content hash in the URL: the file at that URL never changes.
        response.cache_control.immutable = True
    encoding = accepted_encoding(request.headers.get("Accept-Encoding"))
    path = os.path.join(current_app.static_folder, request.view_args["filename"])
    if encoding is None or not os.path.isfile(path) or os.path.getsize(path) < MIN_SIZE:
        return response
    body, etag = _compressed(path, os.path.getmtime(path), encoding)
    response.close()  # release the file send_file opened
    response.direct_passthrough = False
    response.set_data(body)
    response.headers["Content-Encoding"] = encoding
    response.headers.pop("Accept-Ranges", None)  # ranges would address the raw bytes
    response.set_etag(etag)
    response.vary.add("Accept-Encoding")
    return response.make_conditional(request)


def init_app(app):
    # Registered after Flask-Compress, so it runs before it (after_request runs in reverse).
    app.after_request(precompressed_static)
