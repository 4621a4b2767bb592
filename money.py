"""Money as integer minor units per ISO 4217 currency; Babel does the formatting."""
import functools
import re
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision


class MoneyError(ValueError):
    pass


# Plain digits with an optional fraction: no exponents ("1e400"), no "NaN", no "0x10".
AMOUNT_RE = re.compile(r"-?(?=\.?\d)\d{0,13}(?:\.\d+)?")


def exponent(currency):
    return get_currency_precision(currency.upper())


def to_decimal(minor, currency):
    return Decimal(minor).scaleb(-exponent(currency))


def decimal_string(minor, currency):
    """"1250.00" for the JSON API and form values."""
    exp = exponent(currency)
    return f"{to_decimal(minor, currency):.{exp}f}"


def parse(text, currency, *, allow_negative=False):
    """A decimal string as typed by a person or an integration, to minor units.

    Refuses more decimals than the currency has (12.345 USD, 10.5 JPY) rather than rounding
    money silently.
    """
    raw = str(text).strip().replace(",", "") if text is not None else ""
    if not raw:
        raise MoneyError("Enter an amount, for example 125.00.")
    match = AMOUNT_RE.fullmatch(raw) if len(raw) <= 30 else None
    if match is None:
        if re.fullmatch(r"-?\d{14,}(\.\d*)?", raw):
            raise MoneyError("That amount is too large.")
        raise MoneyError("Enter the amount as a number, for example 125.00.")
    value = Decimal(raw)
    if value < 0 and not allow_negative:
        raise MoneyError("The amount cannot be negative.")
    minor = value.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        places = exponent(currency)
        raise MoneyError(f"{currency} amounts have at most {places} decimal places."
                         if places else f"{currency} amounts have no decimal places.")
    return int(minor)


@functools.lru_cache(maxsize=8192)
def format_money(minor, currency, locale="en_US"):
    # Pure and called for every cell of every list; Babel takes ~25 µs a call.
    return format_currency(to_decimal(minor, currency), currency.upper(), locale=locale or "en_US")
