"""`portal run-due`: one scheduler tick. Each job claims its work, so ticks may overlap on
PostgreSQL (several machines at once). On SQLite they take turns instead (single_run)."""
import contextlib
import logging
import os
import time

import mail

log = logging.getLogger("portal.scheduler")

JOBS = []
FAILED = "FAILED (see the log)"


def job(func):
    """Register a due-work job: func(app) -> a line to print."""
    JOBS.append(func)
    return func


@job
def subscription_endings(app):
    # Before renewals: a subscription whose cancellation takes effect today is ended, not
    # billed for another period.
    from billing import subscriptions
    return f"subscriptions: {subscriptions.end_due()} ended as cancelled"


@job
def subscription_renewals(app):
    # Before auto_bill: a renewal issued in this tick is charged in this tick.
    from billing import renewals
    with app.app_context():  # invoice e-mails are rendered from templates
        done = renewals.renew_due(app.config)
    return (f"subscription renewals: {done['renewed']} invoiced ({done['charging']} to "
            f"charge, {done['owed']} without a saved method), {done['reactivated']} "
            f"reactivated")


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
def recurring_prepayments(app):
    from billing import prepayments
    with app.app_context():  # failure e-mails are rendered from templates
        done = prepayments.charge_due()
    return (f"recurring pre-payments: {done['charged']} charged, {done['failed']} failed, "
            f"{done['waiting']} still processing")


@job
def pending_payments(app):
    from billing import reconcile
    done = reconcile.settle_pending()
    return (f"pending payments: {done['completed']} completed, {done['failed']} failed, "
            f"{done['waiting']} still processing, {done['mismatch']} for staff to check")


@job
def lapsed_purchases(app):
    # After pending_payments: a purchase whose payment just settled is active by now.
    from billing import subscription_purchase
    return (f"subscription purchases: {subscription_purchase.expire_incomplete()} left "
            f"unpaid lapsed")


@job
def reminders(app):
    from billing import reminders
    done = reminders.run_due(app.config)
    return f"reminders: {done['reminded']} sent, {done['fees']} late fees added"


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


LOCK_NAME = "run-due.lock"
# How long a second tick waits for the first before leaving the work to it.
WAIT_SECONDS = 2.0


def lock_path(app):
    """Beside the SQLite file: what the lock guards is that database, wherever it lives
    (the instance folder by default), so two instances pointed at one file still take
    turns, and separate databases (tests) never wait for each other."""
    import models
    database = models.db.obj.database
    if database and database != ":memory:" and not database.startswith("file:"):
        return f"{database}-{LOCK_NAME}"
    os.makedirs(app.instance_path, exist_ok=True)
    return os.path.join(app.instance_path, LOCK_NAME)


@contextlib.contextmanager
def single_run(app, wait=WAIT_SECONDS):
    """Yield True when this tick may run, False when another is running on this SQLite file.

    SQLite has one writer at a time: two ticks interleaving their many small writes made
    one of them fail with "database is locked" part-way through a job (an e-mail written to
    the outbox but not marked sent, so sent twice later). A non-blocking flock on a file
    beside the database (lock_path) lets one tick run; the other waits briefly, then
    leaves the work to it. flock, not fcntl record locks: those would not keep two threads
    of one process apart. On PostgreSQL no lock is taken: every job claims its rows, so
    ticks on several machines share the work.
    """
    import models
    try:
        import fcntl
    except ImportError:  # no flock (Windows): rely on busy_timeout and the jobs' claims
        fcntl = None
    if fcntl is None or not models.on_sqlite():
        yield True
        return
    handle = open(lock_path(app), "a+")  # noqa: SIM115
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.1)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


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
