"""Payment Methods tab."""
from flask import Blueprint

from views import portal_tab, render_tab

bp = Blueprint("payment_methods", __name__, url_prefix="/client")


@bp.get("/payment_methods")
@portal_tab("payment_methods")
def index():
    return render_tab("placeholder.html", title="Payment Methods")
