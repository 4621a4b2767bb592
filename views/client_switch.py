"""Switching the client a contact acts for, when one login belongs to several clients.

The session names the chosen client (session["client_id"], absent for the contact's own);
extensions.load_contact makes each request act for it while the access lasts.
"""
from flask import Blueprint, abort, flash, make_response, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

import models
from billing import client_access

bp = Blueprint("client_switch", __name__, url_prefix="/client")


def switchable_clients():
    """The clients the page's switcher offers, or [] when there is nothing to switch between.
    A contact with no other client costs no query (Contact.other_clients says so)."""
    if not getattr(current_user, "is_authenticated", False) or not current_user.other_clients:
        return []
    found = client_access.clients_of(current_user._get_current_object())
    return found if len(found) > 1 else []


@bp.post("/switch")
@login_required
def switch():
    contact = current_user._get_current_object()
    client = client_access.find_for(contact, request.form.get("client", "")[:24])
    if client is None:
        abort(404)  # somebody else's client is simply not found
    if client.id == contact.home_client_id:
        session.pop("client_id", None)
    else:
        session["client_id"] = client.id
    models.Activity.log("contact.client_switched", contact, client=client.id, contact=contact)
    flash(_("You are now working for %(client)s.", client=client.name), "success")
    target = url_for("invoices.index")
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)
