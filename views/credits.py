"""Credits tab."""
from flask import Blueprint

from views import portal_tab, render_tab

bp = Blueprint("credits", __name__, url_prefix="/client")


@bp.get("/credits")
@portal_tab("credits")
def index():
    return render_tab("placeholder.html", title="Credits")


@bp.get("/credits/<public_id>")
@portal_tab("credits")
def show(public_id):
    from flask import abort
    from flask_login import current_user

    import models
    record = models.Credit.for_client(current_user.client_id).where(
        models.Credit.public_id == public_id[:24]).first()
    if record is None:
        abort(404)
    return render_tab("placeholder.html", title="Credit " + record.number)
