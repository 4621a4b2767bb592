"""Pre-Payment tab."""
from flask import Blueprint

from views import company, portal_tab, render_tab

bp = Blueprint("pre_payment", __name__, url_prefix="/client")


@bp.get("/pre_payment")
@portal_tab("pre_payment")
def index():
    return render_tab("placeholder.html", title="Pre-Payment",
                      minimum=company().minimum_prepayment)
