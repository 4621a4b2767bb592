"""Recurring Invoices tab."""
from flask import Blueprint

from views import portal_tab, render_tab

bp = Blueprint("recurring", __name__, url_prefix="/client")


@bp.get("/recurring_invoices")
@portal_tab("recurring_invoices")
def index():
    return render_tab("placeholder.html", title="Recurring Invoices")
