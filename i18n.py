"""Languages: the one decision of which locale a page or an e-mail speaks (text, money and
dates alike), and gettext that works in a request, in `portal run-due` and in a bare script.

The portal's text is translated into LANGUAGES; any valid locale still formats money and
dates its own way ("it_IT" reads English text with Italian numbers).
"""
import contextlib
import functools

from babel import Locale, UnknownLocaleError
from flask import g, has_app_context, has_request_context, request
from peewee import DoesNotExist

LANGUAGES = ("en", "de", "fr", "es")
# Each language named in itself, so a reader finds theirs whatever the page speaks now.
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "fr": "Français", "es": "Español"}
COOKIE = "portal_lang"
DEFAULT = "en"


@functools.lru_cache(maxsize=512)
def valid(locale):
    """`locale` as Babel spells it ("de_DE"), or "" when it is not one. Asked for the
    contact's, client's and company's locales on every request: Babel's parse is kept."""
    if not locale or not isinstance(locale, str) or len(locale) > 10:
        return ""
    try:
        return str(Locale.parse(locale.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        return ""


def accept_language():
    """The browser's best match among LANGUAGES, or "" outside a request."""
    if not has_request_context():
        return ""
    # By the reader's order of preference, matching "fr-CH" to "fr": werkzeug's best_match
    # would pick an exact "de;q=0.5" over the preferred "fr-CH".
    for value, _quality in request.accept_languages:
        primary = value.replace("_", "-").split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return ""


def visitor_choice():
    """What an anonymous visitor picked on the login page (?lang=, kept in a cookie)."""
    if not has_request_context():
        return ""
    picked = request.args.get("lang") or request.cookies.get(COOKIE, "")
    return picked if picked in LANGUAGES else ""


def choose(contact=None, company=None, *, client=None, visitor="", accept=""):
    """The contact's choice, else their client's, else the company's, else the browser's
    (DESIGN.md §3); an anonymous visitor's own pick comes before the company's."""
    if client is None and contact is not None:
        try:
            client = getattr(contact, "client", None)
        except DoesNotExist:  # an unsaved contact with no client yet
            client = None
    return (valid(getattr(contact, "locale", ""))
            or valid(getattr(client, "locale", ""))
            or visitor
            or valid(getattr(company, "locale", ""))
            or accept or DEFAULT)


def language(locale):
    """"de" for "de_DE": what <html lang> says and which catalog is read."""
    return (locale or DEFAULT).split("_")[0]


@contextlib.contextmanager
def using(locale):
    """Speak `locale` for a while: an e-mail to one contact, in a request or in run-due.
    Text (Flask-Babel) and money and dates (views.current.user_locale) switch together."""
    if not has_app_context():
        yield
        return
    from flask_babel import force_locale
    saved = g.get("user_locale")
    g.user_locale = valid(locale) or DEFAULT
    try:
        with force_locale(g.user_locale):
            yield
    finally:
        if saved is None:
            g.pop("user_locale", None)
        else:
            g.user_locale = saved


def for_contact(contact, company=None):
    """using() the locale an e-mail to `contact` is written in."""
    return using(choose(contact, company))


def gettext(message, **variables):
    """Flask-Babel's gettext, or the English text (formatted) with no app around."""
    if has_app_context():
        from flask_babel import gettext as babel_gettext
        return babel_gettext(message, **variables)
    return message % variables if variables else message


def lazy_gettext(message, **variables):
    from flask_babel import lazy_gettext as babel_lazy
    return babel_lazy(message, **variables)


def install_template_gettext(app):
    """Templates translate through here instead of Flask-Babel's own callables.

    Flask-Babel looks the catalog up through three context lookups for every string (about
    90 µs each): a list's rows label every cell, some 300 strings a tab, and that was half
    of a tab's time. Here each string asks only for the locale (which i18n.using may switch
    mid-request, so it is asked every time) and takes the catalog Flask-Babel loaded for it,
    kept per locale."""
    from flask_babel import get_locale, get_translations
    catalogs = {}

    def catalog():
        key = str(get_locale())
        found = catalogs.get(key)
        if found is None:
            found = catalogs[key] = get_translations()
        return found

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: catalog().ugettext(s),
        ngettext=lambda s, p, n: catalog().ungettext(s, p, n),
        pgettext=lambda c, s: catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalog().unpgettext(c, s, p, n),
        newstyle=True)


def N_(message):  # noqa: N802 - the name gettext tools look for
    """Marks a string for the catalog that is translated later, where it is shown."""
    return message


# Labels that Python code keeps in English (lists, statuses) and templates translate as
# they show them; listed here so the catalog has them.
SHOWN_LABELS = (
    # models.InvoiceStatus.STATUS_LABELS
    N_("Unpaid"), N_("Partially paid"), N_("Paid"), N_("Overdue"), N_("Cancelled"),
    N_("Void"), N_("Draft"),
    # views.invoices.FILTER_LABELS and SORT_LABELS
    N_("All"), N_("unpaid"), N_("overdue"), N_("paid"), N_("Newest first"),
    N_("Oldest first"), N_("Due soonest"), N_("Due latest"),
    N_("Largest amount"), N_("Smallest amount"), N_("Largest balance"),
    N_("Smallest balance"), N_("Number, A to Z"), N_("Number, Z to A"),
    N_("Status, A to Z"), N_("Status, Z to A"),
    # views.tabs.TABS
    N_("Invoices"), N_("Recurring Invoices"), N_("Payments"), N_("Quotes"), N_("Credits"),
    N_("Payment Methods"), N_("Documents"), N_("Statement"), N_("Subscriptions"),
    N_("Pre-Payment"),
    # Statuses shown capitalised (quotes, credits, recurring invoices) and PDF stamps
    N_("Sent"), N_("Approved"), N_("Converted"), N_("Declined"), N_("Expired"), N_("Open"),
    N_("Applied"), N_("Partial"), N_("Paused"), N_("Completed"), N_("Stopped"),
    N_("Ended"), N_("Past due"),
    N_("draft"), N_("sent"), N_("partial"), N_("void"), N_("cancelled"), N_("declined"),
    N_("expired"), N_("refunded"),
    # Payment method types
    N_("Card"), N_("Bank account"),
    # billing.schedule.FREQUENCIES
    N_("Daily"), N_("Weekly"), N_("Every two weeks"), N_("Every four weeks"), N_("Monthly"),
    N_("Every two months"), N_("Every three months"), N_("Every six months"), N_("Yearly"),
    # billing.statements: periods, filters, ageing buckets and the kinds of row
    N_("This month"), N_("Last month"), N_("This quarter"), N_("This year"),
    N_("Last year"), N_("All time"), N_("All activity"), N_("Unpaid invoices"),
    N_("Paid invoices"), N_("Current"), N_("1–30 days"), N_("31–60 days"),
    N_("61–90 days"), N_("Over 90 days"), N_("Invoice"), N_("Payment"), N_("Credit"),
    N_("Quote"),
    # Field names that validation messages name (billing.validation, registration)
    N_("Company or your name"), N_("Your company or name"), N_("Address"),
    N_("VAT or tax number"), N_("E-mail address"), N_("First name"), N_("Last name"),
    N_("Phone"),
    # The gateways' own names (gateways/*.py title), unless staff named them
    N_("Demo gateway (test cards only, no money moves)"), N_("Bank transfer or cheque"),
    N_("Card (Stripe)"),
    # models.Subscription.STATUS_LABELS (the others are above)
    N_("Trial"), N_("Active"), N_("Ending"), N_("Suspended"), N_("Awaiting payment"),
    # billing.subscriptions.CANCELLATION_LABELS
    N_("Clients cannot cancel"), N_("At the end of the paid period"), N_("Immediately"),
    # billing.company_settings.DEFAULT_CANCELLATION_REASONS (a business's own stay as typed)
    N_("It costs too much"), N_("I no longer need it"),
    N_("I am switching to another provider"), N_("It is missing something I need"),
    N_("I am not satisfied with the service"), N_("Other"),
)
