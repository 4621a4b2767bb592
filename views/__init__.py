"""Blueprints, the tab registry, and the one helper that renders a page or a fragment."""
import datetime as dt
import functools
import hashlib
import math
import os
import re
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import abort, g, has_request_context, make_response, render_template, request
from flask_login import current_user, login_required
from jinja2 import pass_context
from markupsafe import Markup
from werkzeug.routing import IntegerConverter, ValidationError

import models
from billing.documents import plain_number
from money import format_money

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


def company():
    if "company" not in g:
        g.company = models.Company.current() or models.Company(name="Client Portal")
    return g.company


def tab_enabled(key):
    # Asked for every tab of the bar: work the company's switches out once per request.
    if "enabled_tabs" not in g:
        c = company()
        g.enabled_tabs = {k for k in MODULE_KEYS if c.module_enabled(k)
                          and (k != "pre_payment" or c.prepayments_enabled)}
    return key in g.enabled_tabs


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
    fragment = render_template(template, **context)
    title, fragment = page_title(fragment)
    if wants_fragment():
        body = f"<title>{title}</title>\n{fragment}" if title else fragment
    else:
        body = render_template(shell, fragment=template, fragment_html=Markup(fragment),
                               page_title=title, **context)
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
        return Markup(f"{label} · ") + company().name, fragment
    return None, fragment


class Page:
    """One page of a query: the numbers a pager shows, and only this page's rows.

    `rows` is a Peewee query, or a function of (offset, limit) for lists that fetch their
    own rows (billing.listing)."""

    def __init__(self, rows, page, per_page, total):
        self.per_page, self.total = per_page, total
        self.pages = max(1, math.ceil(total / per_page))
        # A page past the end (an old link, a shrunken filter) shows the last page.
        self.page = min(page, self.pages)
        if not total:
            self.items = []
        elif callable(rows):
            self.items = rows((self.page - 1) * per_page, per_page)
        else:
            self.items = list(rows.paginate(self.page, per_page))

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages


PUBLIC_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,24}")


def valid_public_id(value):
    """Shape check before a lookup: a malformed or over-long id is simply not found."""
    return bool(value) and PUBLIC_ID_RE.fullmatch(value) is not None


def row_id(value):
    """A row id from a form, or None when it is not one a 64-bit column can hold (a
    database asked for 2**64 answers with an overflow, not "not found")."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number < 2 ** 63 else None


def page_number(value, default=1):
    try:
        return max(1, min(int(value), 100_000))
    except (TypeError, ValueError):
        return default


def acting_staff_id():
    """The staff member behind this portal session when they opened it as the contact."""
    from flask import session
    return session.get("impersonator_id")


def acting_staff():
    """That staff member (the user loader already checked their session is live), or None."""
    staff_id = acting_staff_id()
    return models.StaffUser.get_or_none(models.StaffUser.id == staff_id) if staff_id else None


def service_config():
    """App config for billing services, with the base URL for e-mailed links: PORTAL_BASE_URL;
    else this request's own address when PORTAL_TRUSTED_HOSTS vouches for its Host (Flask
    answers 400 to any other); else the serve address. Never a Host header nobody vouched
    for: a forged one would put the attacker's site in a genuine reset e-mail."""
    from flask import current_app
    config = dict(current_app.config)
    if not config["BASE_URL"]:
        config["BASE_URL"] = (request.url_root.rstrip("/") if config.get("TRUSTED_HOSTS")
                              else config["DEFAULT_BASE_URL"])
    return config


def localize(value):
    """A UTC timestamp in the company's time zone."""
    if isinstance(value, dt.datetime):
        tz = ZoneInfo(company().timezone or "UTC")
        return value.replace(tzinfo=dt.UTC).astimezone(tz)
    return value


def user_locale():
    # Asked for every money and date cell: look the contact up once per request.
    # E-mails are also rendered by `portal run-due`, where there is no request and no user.
    if "user_locale" not in g:
        locale = ""
        if has_request_context():
            # The contact's choice, else their client's (DESIGN.md §3), else the company's.
            locale = getattr(current_user, "locale", "") or getattr(
                getattr(current_user, "client", None), "locale", "")
        g.user_locale = locale or company().locale or "en_US"
    return g.user_locale


@functools.lru_cache(maxsize=4096)
def _format_date(value, fmt, locale):
    return format_date(value, fmt, locale=locale)


def register_filters(app):
    # The filters run for every cell of a list: they take the locale from the template's
    # context (set once per render below) rather than from request globals each time.
    @app.template_filter("money")
    @pass_context
    def money_filter(ctx, minor, currency=None):
        if minor is None:
            return ""
        return format_money(minor, currency or company().currency,
                            ctx.get("locale") or user_locale())

    @app.template_filter("date")
    @pass_context
    def date_filter(ctx, value, fmt="medium"):
        if not value:
            return ""
        locale = ctx.get("locale") or user_locale()
        if isinstance(value, dt.datetime):
            if fmt == "datetime":
                return format_datetime(localize(value), "medium", locale=locale)
            value = localize(value).date()
        return _format_date(value, fmt, locale)

    app.add_template_filter(plain_number, "plain")
    app.add_template_global(list_url, "list_url")

    @app.context_processor
    def portal_context():
        return {"company": company(), "tabs": visible_tabs, "tab_enabled": tab_enabled,
                "static_url": static_url, "brand_url": brand_url, "logo_src": logo_src,
                "locale": user_locale(), "fixed_url": fixed_url}


def list_url(args, path=None):
    """This page (or `path`) with other query arguments: a list's sort and page links
    (url_for would route-build each of them again)."""
    return (path or request.path) + "?" + urlencode(args)


def memo_macro(template, macro, *args):
    """The HTML of a macro called with `args`, rendered once per distinct call (and locale
    and URL root): for list parts that repeat from view to view. Everything the macro shows
    must come from its arguments, which must be hashable."""
    return _memo_macro(template, macro, user_locale(), request.script_root, args)


def memo_macro_join(template, macro, calls):
    """memo_macro for each argument tuple in `calls`, joined: a list's rows."""
    locale, root = user_locale(), request.script_root
    return Markup("".join(_memo_macro(template, macro, locale, root, args) for args in calls))


@functools.lru_cache(maxsize=8192)
def _memo_macro(template, macro, locale, script_root, args):
    from flask import current_app
    module = current_app.jinja_env.get_template(template).make_module({"locale": locale})
    return getattr(module, macro)(*args)


@functools.lru_cache(maxsize=64)
def _file_hash(path, mtime):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def static_url(filename):
    """A static URL carrying its content hash, so browsers may cache it for a year."""
    from flask import current_app
    path = os.path.join(current_app.static_folder, filename)
    return _static_url(request.script_root, filename, os.path.getmtime(path), path)


@functools.lru_cache(maxsize=64)
def _static_url(script_root, filename, mtime, path):
    from flask import url_for
    return url_for("static", filename=filename, v=_file_hash(path, mtime))


@functools.lru_cache(maxsize=256)
def _fixed_url(script_root, endpoint):
    from flask import url_for
    return url_for(endpoint)


def fixed_url(endpoint):
    """url_for of a route without arguments, built once: the tab bar has a dozen of them."""
    return _fixed_url(request.script_root, endpoint)


def brand_url():
    """The brand stylesheet's URL, versioned by the colour so a change reaches browsers."""
    return _brand_url(request.script_root, company().brand_color or "")


@functools.lru_cache(maxsize=64)
def _brand_url(script_root, color):
    from flask import url_for
    return url_for("brand_css", v=hashlib.sha256(color.encode()).hexdigest()[:8])


def brand_css():
    """The business's colour as CSS: a stylesheet, because the CSP forbids inline styles."""
    color = company().brand_color
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color or ""):
        color = "#1f5fbf"
    response = make_response(f":root{{--brand:{color}}}\n")
    response.headers["Content-Type"] = "text/css"
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def company_logo():
    """The uploaded logo. Pages link it with ?v= its stored name, which changes with the
    image, so that URL may be cached for good; an old ?v= gets today's logo, uncached."""
    from flask import current_app, send_file

    from billing import company_settings
    name = company().logo_file
    path = company_settings.logo_path(current_app.config["UPLOAD_PATH"], name)
    if path is None:
        abort(404)
    response = send_file(path, mimetype=company_settings.logo_content_type(name),
                         conditional=True)
    response.headers["Cache-Control"] = ("public, max-age=31536000, immutable"
                                         if request.args.get("v") == name else "no-cache")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def logo_src():
    """Where the portal's pages load the logo from, or "" when there is none."""
    c = company()
    if c.logo_file:
        return _logo_url(request.script_root, c.logo_file)
    return c.logo_url or ""


@functools.lru_cache(maxsize=16)
def _logo_url(script_root, name):
    from flask import url_for
    return url_for("company_logo", v=name)


def visible_tabs():
    """(key, label, url) of each tab the business left on."""
    return [(key, label, fixed_url(endpoint)) for key, label, endpoint in TABS
            if tab_enabled(key)]


class RowIdConverter(IntegerConverter):
    """`<int:...>` for row ids: a number no 64-bit column can hold is simply not found.

    Werkzeug's own converter passes 2**64 (or a 5,000-digit number, which int() refuses
    with a ValueError) to the view, and the database answers with an overflow: a 500.
    """

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2 ** 63 - 1)
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value):
        if len(value) > 19:
            raise ValidationError()
        return super().to_python(value)


def register_views(app):
    # Before any blueprint: routes bind their converters when they are registered.
    app.url_map.converters["int"] = RowIdConverter
    from views import (
        admin,
        auth,
        checkout,
        credits,
        documents,
        errors,
        invitations,
        invoices,
        payment_methods,
        payments,
        pre_payment,
        profile,
        quotes,
        recurring,
        statement,
        subscriptions,
        webhooks,
    )
    from views.admin import activity as admin_activity
    from views.admin import clients as admin_clients
    from views.admin import contacts as admin_contacts
    from views.admin import documents as admin_documents
    from views.admin import editor as admin_editor
    from views.admin import payments as admin_payments
    from views.admin import products as admin_products
    from views.admin import quotes as admin_quotes
    from views.admin import settings as admin_settings
    from views.admin import subscriptions as admin_subscriptions
    register_filters(app)
    errors.register(app)
    from views.sessions import activity_actor
    models.Activity.request_actor = staticmethod(activity_actor)
    app.add_url_rule("/client/brand.css", "brand_css", brand_css)
    app.add_url_rule("/client/logo", "company_logo", company_logo)
    for module in (auth, invitations, invoices, recurring, payments, quotes, credits,
                   payment_methods, documents, statement, subscriptions, pre_payment,
                   profile, admin, admin_clients, admin_contacts, admin_activity,
                   admin_documents, admin_quotes, admin_editor, admin_products,
                   checkout, admin_payments, webhooks, admin_settings, admin_subscriptions):
        app.register_blueprint(module.bp)
    import views.api
    views.api.load_resources()
    app.register_blueprint(views.api.bp)
