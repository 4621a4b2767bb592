"""The Flask extension objects, and how sessions and limits are checked on each request.

Views import them from here (DESIGN.md §2); create_app() initialises them per app.
"""
import functools
from urllib.parse import urlparse

from babel import Locale
from flask import (
    current_app,
    flash,
    g,
    has_request_context,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect, generate_csrf
from itsdangerous import URLSafeTimedSerializer

import i18n
import models

babel = Babel()
compress = Compress()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# Pages that capture a card widen this with their gateway's origins (gateways.base.csp).
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")



def csrf_token():
    """The signed CSRF token pages carry (templates' csrf_token()). Tokens do not expire
    (WTF_CSRF_TIME_LIMIT=None: a session ends them), so the session's token is signed once,
    not on every page as Flask-WTF does: signing took about 6% of a page's work."""
    raw = session.get("csrf_token")
    if raw is None or current_app.config["WTF_CSRF_TIME_LIMIT"] is not None:
        return generate_csrf()
    secret = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    return _signed_csrf(secret, raw)


@functools.lru_cache(maxsize=4096)
def _signed_csrf(secret, raw):
    # As flask_wtf.csrf.generate_csrf signs it, so CSRFProtect checks it the same way.
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = i18n.lazy_gettext("Please log in to see that page.")
login_manager.session_protection = "basic"


# Staff and machines read English: the back office, the API and webhooks are not translated
# (their numbers and dates still follow the company's locale).
ENGLISH_ONLY = ("admin", "api", "webhooks")


def select_locale():
    """Flask-Babel asks this once per request; money and dates use the same answer. The
    answer is a parsed Locale, one per identifier: Flask-Babel would otherwise parse the
    identifier again on every request (about 2% of a tab's work)."""
    from views.current import user_locale
    if has_request_context() and (request.blueprint or "").startswith(ENGLISH_ONLY):
        return _parsed_locale("en")
    return _parsed_locale(user_locale())


@functools.lru_cache(maxsize=256)
def _parsed_locale(identifier):
    return Locale.parse(identifier)


@limiter.request_filter
def limits_off():
    return not current_app.config.get("PORTAL_RATELIMIT_ENABLED", True)


@login_manager.user_loader
def load_contact(user_id):
    from views.sessions import contact_session_ok
    contact_id, _, token = user_id.partition(":")
    if not contact_id.isdigit():
        return None
    found = models.Contact.with_client_and_company(int(contact_id))
    if found is None:
        return None
    contact, company = found
    if not contact.may_sign_in or contact.session_token != token:
        return None
    # views.current.company() reads it from here: the page needs it, and it came along.
    g.setdefault("company", company or models.Company(name="Client Portal"))
    if not contact_session_ok(contact):
        return None
    if "client_id" in session:
        _act_for_chosen_client(contact)
    return contact


def _act_for_chosen_client(contact):
    """The session chose another client of this contact's (views/client_switch.py): act for
    it, scoping everything to it, while the contact still has access; else back home."""
    from billing.client_access import acting_client
    client = acting_client(contact, session.get("client_id"))
    if client is None:
        session.pop("client_id", None)
    else:
        contact.act_for(client)


@login_manager.unauthorized_handler
def unauthorized():
    target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request") == "true":
        # A login form swapped into a tab would be wrong; send the browser to the page,
        # and back to the page it showed (not the fragment's URL) after logging in.
        shown = urlparse(request.headers.get("HX-Current-URL", ""))
        back = shown.path + ("?" + shown.query if shown.query else "")
        response = make_response("", 401)
        response.headers["HX-Redirect"] = url_for(
            "auth.login", next=back) if shown.netloc == request.host else url_for("auth.login")
        return response
    flash(str(login_manager.login_message), "info")
    return redirect(target)
