"""An archived invoice, quote or credit leaves the portal: not listed, not opened, not
printed, not paid and not spent (IssuedDocument.for_client)."""
import models
from billing import allocation, credits
from billing import invoices as invoice_service
from tests.core_support import opened
from tests.payments_support import review


def archived_world(app, world):
    a = world["a"]
    with opened(app):
        today = models.utcnow().date()
        records = {
            "invoices": world["invoices"]["sent"],
            "quotes": models.Quote.create(client=a, number="QUO-ARCH-1", status="sent",
                                          date=today, currency="USD", total=5000),
            "credits": models.Credit.create(client=a, number="CR-ARCH-1", status="sent",
                                            date=today, currency="USD", total=2000,
                                            balance=2000),
        }
        kept = {
            "invoices": world["invoices"]["partial"],
            "quotes": models.Quote.create(client=a, number="QUO-KEPT-1", status="sent",
                                          date=today, currency="USD", total=5000),
            "credits": models.Credit.create(client=a, number="CR-KEPT-1", status="sent",
                                            date=today, currency="USD", total=700,
                                            balance=700),
        }
        invoice_service.archive(records["invoices"])
        for kind in ("quotes", "credits"):
            record = records[kind]
            type(record).update(archived_at=models.utcnow()).where(
                type(record).id == record.id).execute()
    return records, kept


def test_archived_records_are_neither_listed_nor_opened_nor_printed(client, auth, world, app):
    records, kept = archived_world(app, world)
    auth.login("a1@alpha.example")
    for kind, record in records.items():
        listing = client.get(f"/client/{kind}").get_data(as_text=True)
        assert kept[kind].number in listing, kind  # the list shows the others
        assert record.number not in listing, kind
        assert client.get(f"/client/{kind}/{record.public_id}").status_code == 404, kind
        assert client.get(f"/client/{kind}/{record.public_id}/pdf").status_code == 404, kind
        assert client.get(f"/client/{kind}/{kept[kind].public_id}").status_code == 200, kind


def test_an_archived_invoice_cannot_be_paid_nor_archived_credit_spent(client, auth, world,
                                                                       app):
    records, kept = archived_world(app, world)
    with opened(app):
        a = world["a"].id
        assert records["invoices"].id not in [i.id for i in models.Invoice.for_client(a)]
        assert [c.number for c in allocation.available_credit(a, "USD")] == ["CR-KEPT-1"]
        assert credits.available_totals(a) == [("USD", 700)]
    auth.login("a1@alpha.example")
    page = review(client, [records["invoices"]])
    assert page.status_code == 422  # as if nothing were chosen: there is nothing to pay
    assert records["invoices"].number not in page.get_data(as_text=True)
