"""Factories and fixtures for quote and credit tests (kept out of conftest.py on purpose)."""
import base64
import datetime as dt
import struct
import zlib

import pytest

import models
from billing import credits as credit_service
from billing import quotes as quote_service
from tests import factories
from tests.core_support import opened

LINES = [
    {"product": "Design", "quantity": 2, "unit_cost": 50000, "tax_name": "VAT",
     "tax_rate": "20"},
    {"product": "Photos", "quantity": "3", "unit_cost": 1999, "discount_percent": "10",
     "tax_name": "VAT", "tax_rate": "20"},
    {"product": "Hosting", "quantity": 1, "unit_cost": 12000},
]


def quote(client, status="sent", lines=None, valid_until="future", **kw):
    """A quote in any status; "expired" is a sent quote whose valid_until is past."""
    today = models.utcnow().date()
    if valid_until == "future":
        valid_until = today + dt.timedelta(days=30)
    date = kw.pop("date", today - dt.timedelta(days=1))
    if status == "expired":
        date, valid_until = today - dt.timedelta(days=40), today - dt.timedelta(days=10)
    q = quote_service.create_quote(client, lines or LINES, date=date, valid_until=valid_until,
                                   status="draft" if status == "draft" else "sent", **kw)
    if status == "declined":
        models.Quote.update(status="declined", declined_reason="Too dear").where(
            models.Quote.id == q.id).execute()
    if status in ("approved", "converted"):
        quote_service.approve(None, q)
    return models.Quote.get_by_id(q.id)


def credit(client, total=5000, status="sent", reason="refund", balance=None, **kw):
    c = credit_service.create_credit(
        client, [{"product": "Credit", "quantity": 1, "unit_cost": total}], reason=reason,
        status="draft" if status == "draft" else "sent", **kw)
    if balance is not None or status not in ("draft", "sent"):
        models.Credit.update(status=status, balance=total if balance is None else balance).where(
            models.Credit.id == c.id).execute()
    return models.Credit.get_by_id(c.id)


def png_data_url(width=4, height=2):
    """A real (tiny) PNG as the browser's canvas.toDataURL() would send it."""
    raw = b"".join(b"\x00" + b"\x00\x00\x00\xff" * width for _ in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6,
                                                             0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


@pytest.fixture
def qworld(app):
    """Client A (two contacts) with quotes in every state; client B with one sent quote."""
    with opened(app):
        people = factories.two_clients()
        a, b = people["a"], people["b"]
        quotes = {status: quote(a, status) for status in
                  ("draft", "sent", "expired", "declined", "converted")}
        other = quote(b, "sent")
    return {**people, "quotes": quotes, "other": other}
