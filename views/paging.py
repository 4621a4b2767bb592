"""The pager: one page of a list, the page number asked for, and the links between pages."""
import math
from urllib.parse import urlencode

from flask import request


class Page:
    """One page of a query: the numbers a pager shows, and only this page's rows.

    `rows` is a billing.listing.Listing (every portal list: its rows and total come in one
    query, so `total` is not given), a Peewee query, or a function of (offset, limit)."""

    def __init__(self, rows, page, per_page, total=None):
        if total is None:
            listing = rows
            total = listing.total  # known beforehand (a kept counter), else it comes along
            if total is None:
                items, total = listing.fetch((page - 1) * per_page, per_page)
                if items or page == 1:
                    self._set(page, per_page, total)
                    self.items = items
                    return
                # A page past the end carried no total: count, then show the last page.
                total = listing.count()
            rows = lambda offset, limit: listing.fetch(offset, limit)[0]  # noqa: E731
        self._set(page, per_page, total)
        if not total:
            self.items = []
        elif callable(rows):
            self.items = rows((self.page - 1) * per_page, per_page)
        else:
            self.items = list(rows.paginate(self.page, per_page))

    def _set(self, page, per_page, total):
        self.per_page, self.total = per_page, total
        self.pages = max(1, math.ceil(total / per_page))
        # A page past the end (an old link, a shrunken filter) shows the last page.
        self.page = min(page, self.pages)

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages


def page_number(value, default=1):
    try:
        return max(1, min(int(value), 100_000))
    except (TypeError, ValueError):
        return default


def list_url(args, path=None):
    """This page (or `path`) with other query arguments: a list's sort and page links
    (url_for would route-build each of them again)."""
    return (path or request.path) + "?" + urlencode(args)


def search_text(limit=50):
    """What a list is searched for (?q=), as typed, trimmed."""
    return request.args.get("q", "").strip()[:limit]
