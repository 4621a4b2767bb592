"""Payments tab."""
from flask import Blueprint

from views import portal_tab, render_tab

bp = Blueprint("payments", __name__, url_prefix="/client")


@bp.get("/payments")
@portal_tab("payments")
def index():
    return render_tab("placeholder.html", title="Payments")
