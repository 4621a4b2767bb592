"""Every PDF, rendered by WeasyPrint from a template in partials/pdf/.

Most PDFs take well under a second and are made in the request. Long ones (statements of
hundreds of rows) are made by a worker thread of `portal serve`, or by `portal run-due`,
from a queue in the database (billing.generated), so they never hold a request thread.
"""
import datetime as dt
import functools
import json
import logging
import os
import threading

from babel.dates import format_date
from flask import current_app, make_response, render_template
from peewee import JOIN
from weasyprint import HTML, URLFetcher

import i18n
import models
from billing import documents, generated, statements
from money import format_money

log = logging.getLogger("portal.pdf")


class StaticOnlyFetcher(URLFetcher):
    """Documents embed our static files and data: URLs only; they never reach the network."""

    def __init__(self, static_folder):
        super().__init__(allowed_protocols=("file", "data"))
        self.static = os.path.realpath(static_folder)

    def fetch(self, url, headers=None):
        if url.startswith("file://"):
            path = os.path.realpath(url[len("file://"):].split("?")[0])
            if not path.startswith(self.static + os.sep):
                raise ValueError(f"PDF resource outside static/: {url[:80]}")
        return super().fetch(url, headers)


def render(template, **context):
    from billing.company_settings import logo_data_url
    company = context.get("company") or models.Company.current()
    # Embedded, not linked: the fetcher reaches nothing outside static/.
    context.setdefault("logo_src", logo_data_url(company, current_app.config["UPLOAD_PATH"])
                       if company else "")
    html = render_template(template, **context)
    base = "file://" + os.path.realpath(current_app.static_folder) + "/"
    fetcher = StaticOnlyFetcher(current_app.static_folder)
    return HTML(string=html, base_url=base, url_fetcher=fetcher).write_pdf()


def send(data, filename, inline=False):
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def document_pdf(template, doc, kind, **extra):
    """An invoice, quote or credit note: its lines in order, tax summary, client, company."""
    lines = doc.ordered_lines()
    return render(template, doc=doc, kind=kind, lines=lines, taxes=documents.tax_summary(lines),
                  client=doc.client, company=models.Company.current(), **extra)


def invoice_pdf(invoice):
    return document_pdf("pdf/invoice.html", invoice, "Invoice")


def quote_pdf(quote):
    from billing import quotes
    return document_pdf("pdf/quote.html", quote, "Quote",
                        terms_accepted=quotes.terms_accepted(quote))


def receipt_pdf(payment):
    A, Inv, C = models.PaymentAllocation, models.Invoice, models.Credit
    allocations = list(A.select(A, Inv, C).join(Inv, JOIN.LEFT_OUTER, on=(A.invoice == Inv.id))
                       .switch(A).join(C, JOIN.LEFT_OUTER, on=(A.credit == C.id))
                       .where(A.payment == payment.id).order_by(A.id))
    return render("pdf/receipt.html", payment=payment, client=payment.client,
                  allocations=allocations, company=models.Company.current())


# What an e-mail can carry (mail.queue's attachments): kind -> (model, maker, file name).
ATTACHMENTS = {
    "invoice": (models.Invoice, invoice_pdf, lambda r: f"invoice-{r.number}.pdf"),
    "quote": (models.Quote, quote_pdf, lambda r: f"quote-{r.number}.pdf"),
    "receipt": (models.Payment, receipt_pdf,
                lambda r: f"receipt-{r.number or r.public_id}.pdf"),
}


def attachment(kind, record_id):
    """(file name, PDF bytes) of a record, for an e-mail; DoesNotExist when it is gone."""
    model, make, filename = ATTACHMENTS[kind]
    record = model.get_by_id(record_id)
    # Delivered by run-due as often as by a request: written in the client's language.
    with i18n.using(i18n.choose(client=record.client, company=models.Company.current())):
        return filename(record), make(record)


def statement_pdf(statement, locale):
    with i18n.using(locale):
        return render("pdf/statement.html", st=statement, company=models.Company.current(),
                      ledger=statement_ledger(statement, locale),
                      generated=models.utcnow(), locale=locale)


LEDGER_ITEM_WIDTH = 30


def statement_ledger(statement, locale):
    """The statement's rows as lines of monospaced text, (heading, [line, ...]), each column
    as wide as its widest cell.

    WeasyPrint lays out and draws a PDF glyph by glyph, padding included, and styles every
    element. A five-year statement as a table took minutes. Blocks of lines with no padding
    beyond the widest cell take about two thirds of the time of an element per row
    (bench/statement_pdf.py: 2,000 invoices and 2,000 payments)."""
    _ = i18n.gettext
    cur = statement.currency

    def amount(minor):
        return format_money(minor, cur, locale) if minor else ""

    def item(text):
        return text if len(text) <= LEDGER_ITEM_WIDTH else text[:LEDGER_ITEM_WIDTH - 1] + "…"

    @functools.cache
    def day(date):  # a statement has many rows a day, and Babel takes ~50 µs a date
        return format_date(date, "medium", locale=locale)

    rows = [(day(date), item(f"{_(kind)} {ref}"), amount(charge), amount(paid),
             format_money(balance, cur, locale))
            for date, kind, ref, charge, paid, balance in statement.rows]
    if statement.status == "all":
        rows.insert(0, (day(statement.start),
                        _("Opening balance"), "", "", format_money(statement.opening, cur, locale)))
    heading = (_("Date"), _("Item"), _("Charges"), _("Payments"),
               _("Balance") if statement.status == "all" else _("Balance due"))
    widths = [max(len(row[column]) for row in [heading, *rows]) for column in range(5)]

    def line(date, text, charge, paid, balance):
        return (date.ljust(widths[0] + 3) + text.ljust(widths[1] + 3) + charge.rjust(widths[2])
                + paid.rjust(widths[3] + 4) + balance.rjust(widths[4] + 4))

    return line(*heading), [line(*row) for row in rows]


@functools.cache
def _template_digest(name):
    """Part of every fingerprint: a changed template is a different file."""
    source = current_app.jinja_env.loader.get_source(current_app.jinja_env, name)[0]
    return generated.fingerprint("template", source)


def statement_file(statement, locale):
    """The queued, running or ready GeneratedFile for a statement too long to make inline."""
    company = models.Company.current()
    digest = generated.fingerprint(
        "statement", statement.digest(), statement.client.__data__, company.__data__, locale,
        _template_digest("pdf/statement.html"), _template_digest("pdf/_base.html"))
    params = {"client_id": statement.client.id, "start": statement.start,
              "end": statement.end, "status": statement.status, "locale": locale}
    job = generated.request(statement.client, "statement", digest, params,
                            f"statement-{statement.start}-{statement.end}.pdf",
                            current_app.config["GENERATED_PATH"])
    if job.status == "queued":
        worker = current_app.extensions.get("pdf_worker")
        if worker is not None:
            worker.wake.set()
    return job


def _make_statement(params):
    client = models.Client.get_by_id(params["client_id"])
    statement = statements.build(client, dt.date.fromisoformat(params["start"]),
                                 dt.date.fromisoformat(params["end"]), params["status"])
    return statement_pdf(statement, params["locale"])


MAKERS = {"statement": _make_statement}


def make_queued(app, limit=None):
    """Make waiting files until none is left (or `limit` are made); returns how many."""
    made = 0
    with app.app_context():
        opened = models.db.connect(reuse_if_open=True)
        try:
            while limit is None or made < limit:
                job = generated.claim_next()
                if job is None:
                    break
                try:
                    data = MAKERS[job.kind](json.loads(job.params))
                except Exception:  # one bad file must not stop the others being made
                    log.exception("making %s %s failed", job.kind, job.public_id)
                    generated.fail(job, "The file could not be made.")
                    continue
                made += generated.finish(job, app.config["GENERATED_PATH"], data)
        finally:
            if opened:
                models.db.close()
    return made


class Worker:
    """A thread of `portal serve` that makes queued files; a request that queues one wakes it,
    and it also looks every `interval` seconds for files queued by other processes."""

    def __init__(self, app, interval=2.0):
        self.app, self.interval = app, interval
        self.wake, self.stopping = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self.run, name="pdf-worker", daemon=True)

    def run(self):
        while not self.stopping.is_set():
            try:
                make_queued(self.app)
            except Exception:  # a database hiccup: try again on the next round
                log.exception("the PDF worker's round failed")
            self.wake.wait(self.interval)
            self.wake.clear()

    def stop(self, timeout=30):
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout)
        return not self.thread.is_alive()


def start_worker(app, interval=2.0):
    worker = Worker(app, interval)
    app.extensions["pdf_worker"] = worker
    worker.thread.start()
    return worker
