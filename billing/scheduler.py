"""`portal run-due`: one scheduler tick. Each job claims its work, so ticks may overlap."""
import mail

JOBS = []


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
def pending_payments(app):
    from billing import reconcile
    done = reconcile.settle_pending()
    return (f"pending payments: {done['completed']} completed, {done['failed']} failed, "
            f"{done['waiting']} still processing, {done['mismatch']} for staff to check")


@job
def email_retries(app):
    sent, failed = mail.deliver_due(app.config)
    return f"e-mail: {sent} delivered, {failed} to retry"


def run_due(app):
    return [run(app) for run in JOBS]
