"""Documents tab."""
from flask import Blueprint

from views import portal_tab, render_tab

bp = Blueprint("documents", __name__, url_prefix="/client")


@bp.get("/documents")
@portal_tab("documents")
def index():
    return render_tab("placeholder.html", title="Documents")
