"""`portal run-due`: one scheduler tick. Each job claims its work, so ticks may overlap."""
import logging

import mail

log = logging.getLogger("portal.scheduler")

JOBS = []
FAILED = "FAILED (see the log)"


def job(func):
    """Register a due-work job: func(app) -> a line to print."""
    JOBS.append(func)
    return func


@job
def recurring_invoices(app):
    from billing import recurring
    made = recurring.generate_due(app.config)
    return f"recurring invoices: {len(made)} issued"


@job
def auto_bill(app):
    # After recurring_invoices: an invoice issued in this tick is charged in this tick.
    from billing import autobill
    done = autobill.charge_due(app.config)
    return (f"auto-bill: {done['paid']} paid, {done['retry']} to retry, {done['failed']} "
            f"given up, {done['processing']} processing, {done['unpaid']} without a saved "
            f"method")


@job
def pending_payments(app):
    from billing import reconcile
    done = reconcile.settle_pending()
    return (f"pending payments: {done['completed']} completed, {done['failed']} failed, "
            f"{done['waiting']} still processing, {done['mismatch']} for staff to check")


@job
def generated_files(app):
    import pdf
    from billing import generated
    made = pdf.make_queued(app)
    with app.app_context():
        removed = generated.clean_up(app.config["GENERATED_PATH"])
    return f"generated files: {made} made, {removed} old ones removed"


@job
def email_retries(app):
    sent, failed = mail.deliver_due(app.config)
    return f"e-mail: {sent} delivered, {failed} to retry"


def run_due(app):
    """Run every job; one job's failure is logged and reported, and the others still run."""
    lines = []
    for run in JOBS:
        try:
            lines.append(run(app))
        except Exception:  # a bug or bad row in one job must not starve the rest
            log.exception("run-due job %s failed", run.__name__)
            lines.append(f"{run.__name__.replace('_', ' ')}: {FAILED}")
    return lines
