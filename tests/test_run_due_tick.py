"""Two whole `run-due` ticks at once, with due work for every money job (issue 11, Rules):
recurring invoices and their auto-bill, recurring pre-payments, reminders and late fees.
On PostgreSQL both ticks run and share the work through their claims; on SQLite the second
waits for the lock and leaves the work to the first. Either way each thing happens once."""
import models
from billing import scheduler
from tests.core_support import opened, race
from tests.run_due_support import seed


def one_tick(app):
    with scheduler.single_run(app) as ours:
        return scheduler.run_due(app) if ours else ["left to the other tick"]


def test_two_whole_ticks_at_once_do_every_money_job_once(app, demo_gateway):
    with opened(app):
        client, overdue = seed(demo_gateway)
    results = race(app, 2, lambda i: one_tick(app))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert not [line for lines in results for line in lines if line.endswith(scheduler.FAILED)]
    with opened(app):
        # A third tick afterwards finds nothing left of today's work.
        again = scheduler.run_due(app)
        assert "recurring invoices: 0 issued" in again
        Inv, P = models.Invoice, models.Payment
        issued = list(Inv.select().where(Inv.recurring.is_null(False)))
        assert len(issued) == 3 and len({i.date for i in issued}) == 3  # one per day behind
        assert all(i.status == "paid" for i in issued)
        autobilled = P.select().where(P.idempotency_key.startswith("autobill-"))
        assert autobilled.count() == 3
        prepaid = P.select().where(P.is_prepayment == True)  # noqa: E712
        assert prepaid.count() == 2  # yesterday's and today's period, once each
        assert {p.status for p in prepaid} == {"completed"}
        assert sum(p.unapplied for p in prepaid) == 5000
        # Every charge the gateway made is one of our payments, and no payment twice.
        charges = list(models.DemoCharge.select())
        assert len(charges) == 5 == len({c.idempotency_key for c in charges})
        assert models.InvoiceReminder.select().where(
            models.InvoiceReminder.invoice == overdue.id).count() >= 1
        fees = models.LineItem.select().where((models.LineItem.invoice == overdue.id)
                                              & (models.LineItem.product == "Late fee"))
        assert fees.count() == 1
        reminded = models.EmailMessage.select().where(
            models.EmailMessage.subject.contains(overdue.number))
        assert reminded.count() >= 1
        subjects = [m.subject for m in reminded]
        assert len(subjects) == len(set((m.to, m.subject) for m in reminded))
