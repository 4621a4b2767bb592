"""Statement tab: a summary on screen and a PDF for any date range."""
from flask import Blueprint, request
from flask_login import current_user

import models
import pdf
from billing import DomainError, statements
from views import portal_tab, render_tab

bp = Blueprint("statement", __name__, url_prefix="/client")


def _statement():
    start, end = statements.parse_period(request.args.get("start_date", "")[:10],
                                         request.args.get("end_date", "")[:10])
    return statements.build(current_user.client, start, end)


@bp.get("/statement")
@portal_tab("statement")
def index():
    try:
        statement, error = _statement(), None
    except DomainError as exc:
        statement, error = None, exc.message
    return render_tab("statement/index.html", statement=statement, error=error,
                      start_date=request.args.get("start_date", "")[:10],
                      end_date=request.args.get("end_date", "")[:10],
                      status_code=422 if error else 200)


@bp.get("/statement/pdf")
@portal_tab("statement")
def download():
    try:
        statement = _statement()
    except DomainError as exc:
        return render_tab("statement/index.html", statement=None, error=exc.message,
                          start_date="", end_date="", status_code=422)
    data = pdf.render("pdf/statement.html", st=statement, company=models.Company.current(),
                      generated=models.utcnow())
    return pdf.send(data, f"statement-{statement.start}-{statement.end}.pdf")
