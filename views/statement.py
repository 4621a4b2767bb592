"""Statement tab."""
from flask import Blueprint

from views import portal_tab, render_tab

bp = Blueprint("statement", __name__, url_prefix="/client")


@bp.get("/statement")
@portal_tab("statement")
def index():
    return render_tab("placeholder.html", title="Statement")
