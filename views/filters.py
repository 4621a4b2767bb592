"""Template filters (money, dates) and the globals every page's template sees."""
import datetime as dt
import functools

from babel.dates import format_date, format_datetime
from flask import request, url_for
from flask_babel import get_locale
from jinja2 import pass_context

import i18n
from billing import schedule
from billing.documents import plain_number
from billing.schedule import FREQUENCIES
from extensions import csrf_token
from money import format_money
from views.current import company, user_locale
from views.kept_html import kept, list_rows
from views.paging import list_url
from views.tabs import TABS, enabled_tabs, tab_enabled
from views.urls import brand_url, fixed_url, logo_src, record_url, static_url


def localize(value):
    """A UTC timestamp in the company's time zone."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC).astimezone(schedule.zone(company()))
    return value


@functools.lru_cache(maxsize=4096)
def _format_date(value, fmt, locale):
    return format_date(value, fmt, locale=locale)


def text_language():
    """What <html lang> says: the language the text is in (the back office is English
    whatever the company's locale), which is the locale's in the portal."""
    locale = get_locale()
    return locale.language if locale is not None else i18n.language(user_locale())


def language_url(code):
    """This page again in another language (the visitor's pick; see views.auth)."""
    args = dict(request.args.items(), lang=code)
    if request.endpoint and request.url_rule is not None and "GET" in request.url_rule.methods:
        return url_for(request.endpoint, **(request.view_args or {}), **args)
    return url_for("auth.login", lang=code)


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
    app.add_template_global(record_url, "record_url")
    app.add_template_global(list_rows, "list_rows")
    app.add_template_global(kept, "kept")
    # Functions and constants are globals, so kept parts (views/kept_html) may call them too;
    # the context processor below adds only what this request decides.
    for name, value in (("fixed_url", fixed_url), ("static_url", static_url),
                        ("brand_url", brand_url), ("logo_src", logo_src),
                        ("portal_tabs", TABS), ("enabled_tabs", enabled_tabs),
                        ("tab_enabled", tab_enabled),
                        ("language_names", i18n.LANGUAGE_NAMES),
                        ("language_url", language_url)):
        app.add_template_global(value, name)
    app.add_template_global(FREQUENCIES, "frequencies")

    @app.context_processor
    def portal_context():
        # csrf_token replaces Flask-WTF's own (its context processor ran first).
        return {"company": company(), "locale": user_locale(), "html_lang": text_language(),
                "csrf_token": csrf_token}
