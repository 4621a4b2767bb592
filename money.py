"""Money as integer minor units per ISO 4217 currency; Babel formats and parses it."""
import functools
import re
from decimal import Decimal

from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_precision,
    get_decimal_symbol,
    get_group_symbol,
    parse_decimal,
)

from i18n import gettext as _


class MoneyError(ValueError):
    pass


# The machine format (JSON API, stored plans): what `decimal_string` writes, and the "locale"
# to pass to parse() for it. Never grouped, always "." for the decimals.
PLAIN = "plain"

# Far above any invoice a small business sends, and far below 2**63: sums of a few thousand
# such amounts still fit the BIGINT columns.
MAX_MINOR = 10 ** 12

# Plain digits with an optional fraction: no exponents ("1e400"), no "NaN", no "0x10".
PLAIN_RE = re.compile(r"-?(?=\.?\d)\d*(?:\.\d*)?")
# Letters are never part of an amount; Babel would read "NaN", "Infinity" and "1e3".
LETTER_RE = re.compile(r"[^\W\d_]")
SPACES = (" ", "\xa0", "\u202f")
MAX_TEXT = 40


def exponent(currency):
    return get_currency_precision(currency.upper())


def to_decimal(minor, currency):
    return Decimal(minor).scaleb(-exponent(currency))


def decimal_string(minor, currency):
    """"1250.00" for the JSON API."""
    exp = exponent(currency)
    return f"{to_decimal(minor, currency):.{exp}f}"


def input_string(minor, currency, locale):
    """What a form field holds, in the locale parse() reads it back in: "1250,00" in German.

    No grouping: a person editing it should not have to keep the separators right.
    """
    if locale == PLAIN:
        return decimal_string(minor, currency)
    exp = exponent(currency)
    pattern = "0." + "0" * exp if exp else "0"
    return format_decimal(to_decimal(minor, currency), pattern, locale=locale or "en_US")


def example(locale):
    """An amount written the way this locale writes it, for error messages."""
    if locale == PLAIN:
        return "1250.00"
    return format_decimal(Decimal("1250.00"), "#,##0.00", locale=locale or "en_US")


def parse(text, currency, locale, *, allow_negative=False):
    """An amount typed by a person in their locale (or PLAIN for machines) to minor units.

    Babel reads it strictly: "10,00" is ten in de_DE, and refused in en_US, where it could
    be ten or a mistyped thousand. Refuses more decimals than the currency has (12.345 USD,
    10.5 JPY, "1.000" USD) rather than rounding money silently, and anything beyond
    MAX_MINOR, so nothing overflows a 64-bit column.
    """
    raw = str(text).strip() if text is not None else ""
    if not raw:
        raise MoneyError(_("Enter an amount, for example %(example)s.", example=example(locale)))
    if len(raw) > MAX_TEXT:
        if re.fullmatch(r"-?\d+", raw):
            raise MoneyError(_("That amount is too large."))
        raise MoneyError(_("Enter the amount as a number, for example %(example)s.",
                           example=example(locale)))
    value = _plain(raw) if locale == PLAIN else _localized(raw, locale or "en_US")
    if value is None or not value.is_finite():
        raise MoneyError(_("Enter the amount as a number, for example %(example)s.",
                           example=example(locale)))
    if value < 0 and not allow_negative:
        raise MoneyError(_("The amount cannot be negative."))
    places = exponent(currency)
    if -value.as_tuple().exponent > places:
        raise MoneyError(_("%(currency)s amounts have at most %(places)s decimal places.",
                           currency=currency, places=places)
                         if places else _("%(currency)s amounts have no decimal places.",
                                          currency=currency))
    minor = int(value.scaleb(places))
    if abs(minor) > MAX_MINOR:
        raise MoneyError(_("That amount is too large."))
    return minor


def parse_number(text, locale):
    """A quantity or a rate typed in `locale` ("1,5" in German) as a finite Decimal, or
    None when it is not one."""
    raw = str(text).strip() if text is not None else ""
    if not raw or len(raw) > MAX_TEXT:
        return None
    value = _plain(raw) if locale == PLAIN else _localized(raw, locale or "en_US")
    return value if value is not None and value.is_finite() else None


def _plain(raw):
    return Decimal(raw) if PLAIN_RE.fullmatch(raw) else None


def _localized(raw, locale):
    if LETTER_RE.search(raw):
        return None
    # French and others group with a (narrow) no-break space; people type a plain one.
    group = get_group_symbol(locale)
    if group in SPACES:
        for space in SPACES:
            raw = raw.replace(space, group)
    if raw.startswith(get_decimal_symbol(locale)):
        raw = "0" + raw  # ".5" / ",5"
    try:
        return parse_decimal(raw, locale, strict=True)
    except (NumberFormatError, ValueError):
        return None


def locale_for(contact=None, company=None):
    """The locale a person reads and types amounts in: i18n.choose, the one decision that
    views.current.user_locale makes too (staff have no locale of their own)."""
    import i18n
    return i18n.choose(contact, company, visitor=i18n.visitor_choice(),
                       accept=i18n.accept_language())


@functools.lru_cache(maxsize=8192)
def format_money(minor, currency, locale="en_US"):
    # Pure and called for every cell of every list; Babel takes ~25 µs a call.
    return format_currency(to_decimal(minor, currency), currency.upper(), locale=locale or "en_US")
