"""Records for the list tests (tests/test_listing.py, tests/test_listing_rows.py): plain
helpers, each making one record of a client's as a list shows it."""
import datetime as dt

import models
from tests import factories

TODAY = dt.date(2026, 6, 15)


def invoice(client, number, **fields):
    fields = {"status": "sent", "date": TODAY - dt.timedelta(days=10),
              "due_date": TODAY + dt.timedelta(days=10), **fields}
    made = factories.invoice(client, **{k: v for k, v in fields.items()
                                       if k in ("status", "date", "due_date")})
    extra = {k: v for k, v in fields.items() if k not in ("status", "date", "due_date")}
    models.Invoice.update(number=number, **extra).where(models.Invoice.id == made.id).execute()
    return models.Invoice.get_by_id(made.id)


def quote(client, number, status="sent", valid_until=None, **fields):
    return models.Quote.create(client=client, number=number, status=status,
                               date=fields.pop("date", TODAY - dt.timedelta(days=5)),
                               valid_until=valid_until, total=100, currency="USD", **fields)
