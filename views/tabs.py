"""The portal's tab registry, and the one helper that renders a page or a fragment."""
import functools
import re

from flask import abort, current_app, g, make_response, request
from flask_babel import gettext
from flask_login import login_required
from markupsafe import Markup

from views.current import company

# (module key, label, endpoint). The key is what Company.disabled_modules switches off.
TABS = [
    ("invoices", "Invoices", "invoices.index"),
    ("recurring_invoices", "Recurring Invoices", "recurring.index"),
    ("payments", "Payments", "payments.index"),
    ("quotes", "Quotes", "quotes.index"),
    ("credits", "Credits", "credits.index"),
    ("payment_methods", "Payment Methods", "payment_methods.index"),
    ("documents", "Documents", "documents.index"),
    ("statement", "Statement", "statement.index"),
    ("subscriptions", "Subscriptions", "subscriptions.index"),
    ("pre_payment", "Pre-Payment", "pre_payment.index"),
]
MODULE_KEYS = [key for key, _, _ in TABS]


def enabled_tabs():
    """The keys of the tabs the business left on, worked out once per request."""
    if "enabled_tabs" not in g:
        c = company()
        g.enabled_tabs = frozenset(k for k in MODULE_KEYS if c.module_enabled(k)
                                   and (k != "pre_payment" or c.prepayments_enabled))
    return g.enabled_tabs


def tab_enabled(key):
    return key in enabled_tabs()


def portal_tab(key):
    """A contact-only tab view that 404s when the business switched its module off."""
    def decorate(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not tab_enabled(key):
                abort(404)
            g.active_tab = key
            return view(*args, **kwargs)
        return wrapper
    return decorate


def wants_fragment():
    htmx = request.htmx
    return bool(htmx) and not htmx.history_restore_request and not htmx.boosted


def render_tab(template, status_code=200, *, shell="page.html", **context):
    """Full page for a normal, boosted or history-restore request; the fragment for htmx.

    `shell` is the page around the fragment: the portal's, or "admin/page.html".
    Every page has its own <title> (see page_title); htmx takes it from the fragment."""
    # The context processors run once: the shell is drawn from what the fragment saw.
    current_app.update_template_context(context)
    templates = current_app.jinja_env
    fragment = templates.get_template(template).render(context)
    title, fragment = page_title(fragment)
    if wants_fragment():
        body = f"<title>{title}</title>\n{fragment}" if title else fragment
    else:
        body = templates.get_template(shell).render(
            context, fragment=template, fragment_html=Markup(fragment), page_title=title)
    response = make_response(body, status_code)
    response.headers["Vary"] = "HX-Request"
    return response


LEADING_TITLE_RE = re.compile(r"\s*<title>(.*?)</title>\s*", re.S)


def page_title(fragment):
    """(title, fragment without it). A fragment names its page with a leading <title>
    (already escaped: it was rendered); else a page, a fragment with an <h1>, is named
    after its tab; a part of a page (a form re-rendered with its errors) names nothing."""
    match = LEADING_TITLE_RE.match(fragment)
    if match:
        return Markup(f"{match.group(1).strip()} · ") + company().name, fragment[match.end():]
    label = next((label for key, label, _ in TABS if key == g.get("active_tab")), None)
    if label and "<h1" in fragment:
        return Markup(f"{gettext(label)} · ") + company().name, fragment
    return None, fragment
