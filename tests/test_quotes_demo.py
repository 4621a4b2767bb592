"""`portal demo` seeds quotes and credits in every state, once."""
import demo
import models


def test_demo_seeds_quotes_and_credits_idempotently(db):
    first = demo.seed()
    counts = (models.Quote.select().count(), models.Credit.select().count(),
              models.Invoice.select().count())
    assert demo.seed() == first
    assert (models.Quote.select().count(), models.Credit.select().count(),
            models.Invoice.select().count()) == counts
    clients = list(models.Client.select())
    assert len(clients) >= 2  # the loop below must check something
    for client in clients:
        quotes = {q.display_status() for q in client.quotes}
        assert quotes == {"sent", "converted", "declined", "expired", "draft"}, client.name
        converted = client.quotes.where(models.Quote.status == "converted").get()
        assert converted.invoice.total == converted.total
        assert {c.reason for c in client.credits} == {"refund", "adjustment"}
        assert all(c.balance == c.total and c.status == "sent" for c in client.credits)
