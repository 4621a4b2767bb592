"""Statement tab: a summary on screen and a PDF for any date range.

A long statement's PDF is made off the request thread (pdf.statement_file): the download
link then leads to a progress page that polls until the file is ready.
"""
import datetime as dt
import os

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user

import models
import pdf
from billing import DomainError, generated, statements
from views.current import user_locale
from views.ids import valid_public_id
from views.paging import Page, page_number
from views.tabs import portal_tab, render_tab

bp = Blueprint("statement", __name__, url_prefix="/client")


def _statement():
    start, end = statements.parse_period(request.args.get("start_date", "")[:10],
                                         request.args.get("end_date", "")[:10])
    return statements.build(current_user.client, start, end, request.args.get("status", "all"))


def _quick_ranges(statement):
    """Each named period as (key, label, start, end, current), for links above the form."""
    today = models.utcnow().date()
    # The statement read the first date along with its sums; without one, ask.
    first = statement.first_date if statement else statements.first_date(current_user.client)
    ranges = []
    for key, label in statements.RANGES:
        start, end = statements.quick_range(key, today, first)
        current = bool(statement) and (statement.start, statement.end) == (start, end)
        ranges.append((key, label, start, end, current))
    return ranges


def _pdf_url(statement):
    return url_for("statement.download", start_date=statement.start.isoformat(),
                   end_date=statement.end.isoformat(), status=statement.status)


@bp.get("/statement")
@portal_tab("statement")
def index():
    try:
        statement, error, error_field = _statement(), None, None
    except DomainError as exc:
        statement, error, error_field = None, exc.message, exc.field
    # On screen a page of rows at a time, like every list; the PDF has them all.
    page = statement and Page(lambda offset, limit: statement.rows[offset:offset + limit],
                              page_number(request.args.get("page")),
                              current_app.config["PAGE_SIZE"], len(statement.rows))
    return render_tab("statement/index.html", statement=statement, error=error,
                      error_field=error_field, page=page,
                      start_date=request.args.get("start_date", "")[:10],
                      end_date=request.args.get("end_date", "")[:10],
                      status=request.args.get("status", "all")[:10],
                      statuses=statements.STATUSES, ranges=_quick_ranges(statement),
                      pdf_url=_pdf_url(statement) if statement else "",
                      status_code=422 if error else 200)


@bp.get("/statement/pdf")
@portal_tab("statement")
def download():
    try:
        statement = _statement()
    except DomainError as exc:
        return render_tab("statement/index.html", statement=None, error=exc.message,
                          error_field=exc.field,
                          start_date="", end_date="", status="all",
                          statuses=statements.STATUSES, ranges=_quick_ranges(None),
                          pdf_url="", status_code=422)
    filename = f"statement-{statement.start}-{statement.end}.pdf"
    if len(statement.rows) <= current_app.config["STATEMENT_INLINE_ROWS"]:
        return pdf.send(pdf.statement_pdf(statement, user_locale()), filename)
    job = pdf.statement_file(statement, user_locale())
    if job.status == "ready":
        with open(generated.path_of(current_app.config["GENERATED_PATH"], job), "rb") as file:
            return pdf.send(file.read(), filename)
    return redirect(url_for("statement.progress", public_id=job.public_id), 303)


@bp.get("/statement/pdf/<public_id>")
@portal_tab("statement")
def progress(public_id):
    """Where a long statement's PDF is being made; htmx polls it, and without JavaScript the
    page refreshes itself, until the file is ready to download."""
    G = models.GeneratedFile
    job = G.get_or_none((G.public_id == public_id) & (G.client == current_user.client_id)
                        & (G.kind == "statement")) if valid_public_id(public_id) else None
    if job is None:
        abort(404)
    params = job.params_dict()
    pdf_url = url_for("statement.download", start_date=params["start"],
                      end_date=params["end"], status=params["status"])
    ready = job.status == "ready" and os.path.exists(
        generated.path_of(current_app.config["GENERATED_PATH"], job))
    return render_tab("statement/progress.html", job=job, ready=ready, pdf_url=pdf_url,
                      start=dt.date.fromisoformat(params["start"]),
                      end=dt.date.fromisoformat(params["end"]),
                      waiting=generated.waiting_before(job) if job.status == "queued" else 0,
                      refresh_seconds=0 if ready or job.status == "failed" else 3)
