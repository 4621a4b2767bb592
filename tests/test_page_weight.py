"""Page weight (DESIGN.md §3): compressed transfer budgets, compressed and cacheable statics."""
import re

import pytest

from tests import factories
from tests.conftest import hx

FIRST_PAGE_BUDGET = 40 * 1024
TAB_SWITCH_BUDGET = 4 * 1024
ASSET_RE = re.compile(r'(?:href|src)="(/(?:static|client/brand)[^"]+)"')


def wire_size(response):
    """Body as sent plus an HTTP/1.1 status line and headers."""
    headers = sum(len(k) + len(v) + 4 for k, v in response.headers.items())
    return len(response.get_data()) + headers + 17


@pytest.fixture
def full_list(app, client, auth):
    """A contact whose first page of invoices is full (25 rows)."""
    with app.test_request_context():
        import models
        models.db.connect(reuse_if_open=True)
        acme = factories.client(name="Weighty Ltd")
        contact = factories.contact(acme)
        for _ in range(30):
            factories.invoice(acme)
        models.db.close()
    auth.login(contact.email)
    return client


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_first_page_and_tab_switch_within_budget(full_list, encoding):
    client = full_list
    headers = {"Accept-Encoding": encoding}
    page = client.get("/client/invoices", headers=headers)
    assert page.status_code == 200
    assert page.headers["Content-Encoding"] == encoding
    html = page.get_data()
    assets = ASSET_RE.findall(client.get("/client/invoices").get_data(as_text=True))
    assert any("htmx-2.0.11.min.js" in a for a in assets) and any("portal.css" in a
                                                                  for a in assets)
    total = wire_size(page)
    for url in assets:
        asset = client.get(url.replace("&amp;", "&"), headers=headers)
        assert asset.status_code == 200, url
        total += wire_size(asset)
    assert total < FIRST_PAGE_BUDGET, f"first page with assets: {total} bytes ({encoding})"
    assert len(html) > 1000  # the list really rendered

    for path in ("/client/invoices", "/client/payments", "/client/invoices?sort=number&page=2"):
        fragment = hx(client, path, headers=headers)
        assert fragment.status_code == 200
        assert b"<html" not in client.get(path, headers={"HX-Request": "true"}).data
        size = wire_size(fragment)
        assert size < TAB_SWITCH_BUDGET, f"tab switch to {path}: {size} bytes ({encoding})"


@pytest.mark.parametrize("name", ["js/htmx-2.0.11.min.js", "css/portal.css", "js/portal.js"])
@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_static_files_compressed_and_cached(app, client, name, encoding):
    with app.test_request_context():
        from views.urls import static_url
        url = static_url(name)
    assert "?v=" in url  # the content hash makes the URL change when the file does
    raw = client.get(url, headers={"Accept-Encoding": "identity"})
    response = client.get(url, headers={"Accept-Encoding": f"{encoding}, deflate"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert len(response.data) < len(raw.data) * 0.6
    assert int(response.headers["Content-Length"]) == len(response.data)
    cache = response.headers["Cache-Control"]
    assert "max-age=31536000" in cache and "immutable" in cache and "public" in cache
    assert "Accept-Encoding" in response.headers["Vary"]
    # A revalidation with the ETag answers 304 without a body.
    again = client.get(url, headers={"Accept-Encoding": encoding,
                                     "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    # The raw and compressed variants never share an ETag.
    assert raw.headers["ETag"] != response.headers["ETag"]
