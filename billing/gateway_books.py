"""The books of a gateway with no payment service of its own (the demo gateway), kept in
our database: gateways/ knows nothing of the database, so billing hands them over
(gateways.base.ChargeBook, installed by billing.gateway_settings).

They stand in for a payment service's records, so a charge our side lost track of (a
crash before the bookkeeping) can be found again by its key, offline, from any process.
"""
from peewee import IntegrityError

import models
from gateways.base import BookedCharge


class StoredCharges:
    """gateways.base.ChargeBook over models.DemoCharge."""

    def by_key(self, idempotency_key):
        D = models.DemoCharge
        return _booked(D.get_or_none(D.idempotency_key == idempotency_key))

    def by_reference(self, reference):
        D = models.DemoCharge
        return _booked(D.get_or_none(D.reference == reference))

    def book(self, *, idempotency_key, amount, currency, reference, payment):
        D = models.DemoCharge
        try:
            with models.db.atomic():
                row = D.create(idempotency_key=idempotency_key, amount=amount,
                               currency=currency, reference=reference, payment=payment[:24])
        except IntegrityError:  # the same key, charged at this very moment: it won
            row = D.get(D.idempotency_key == idempotency_key)
        return _booked(row)


def _booked(row):
    if row is None:
        return None
    return BookedCharge(reference=row.reference, amount=row.amount, currency=row.currency)
