"""Quotes tab."""
from flask import Blueprint

from views import portal_tab, render_tab

bp = Blueprint("quotes", __name__, url_prefix="/client")


@bp.get("/quotes")
@portal_tab("quotes")
def index():
    return render_tab("placeholder.html", title="Quotes")


@bp.get("/quotes/<public_id>")
@portal_tab("quotes")
def show(public_id):
    from flask import abort
    from flask_login import current_user

    import models
    record = models.Quote.for_client(current_user.client_id).where(
        models.Quote.public_id == public_id[:24]).first()
    if record is None:
        abort(404)
    return render_tab("placeholder.html", title="Quote " + record.number)
