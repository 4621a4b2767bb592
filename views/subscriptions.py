"""Subscriptions tab."""
from flask import Blueprint

from views import portal_tab, render_tab

bp = Blueprint("subscriptions", __name__, url_prefix="/client")


@bp.get("/subscriptions")
@portal_tab("subscriptions")
def index():
    return render_tab("placeholder.html", title="Subscriptions")
