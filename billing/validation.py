"""Checks for what people and integrations type into names and addresses.

Every service that creates or changes a client, contact or staff member runs these, so the
portal, the back office, the API and the CLI refuse the same things with the same message.
A line break in a name or an address ends up in an e-mail header, where it is an injection.
"""
import unicodedata

from email_validator import EmailNotValidError, validate_email

from billing import DomainError
from i18n import N_
from i18n import gettext as _

# Control characters (Cc), line and paragraph separators (Zl, Zp) and formatting
# characters such as the bidirectional overrides (Cf) that can disguise a name.
REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


def single_line(value, label, field=None, limit=200):
    """A name, number or phone: one line, no control characters, at most `limit` long."""
    value = "" if value is None else value
    if not isinstance(value, str):
        raise DomainError(_("%(label)s must be text.", label=_(label)), field)
    # Checked before stripping: a trailing line break is a line break too.
    if any(unicodedata.category(ch) in REFUSED_CATEGORIES for ch in value):
        raise DomainError(_("%(label)s cannot contain line breaks or control characters.",
                            label=_(label)), field)
    value = value.strip()
    if len(value) > limit:
        raise DomainError(_("%(label)s can have at most %(limit)s characters.", label=_(label),
                            limit=limit), field)
    return value


def multi_line(value, label, field=None, limit=5000):
    """An address or a note: line breaks and tabs are fine, other control characters not."""
    value = "" if value is None else value
    if not isinstance(value, str):
        raise DomainError(_("%(label)s must be text.", label=_(label)), field)
    if any(unicodedata.category(ch) in REFUSED_CATEGORIES and ch not in "\r\n\t"
           for ch in value):
        raise DomainError(_("%(label)s cannot contain control characters.", label=_(label)), field)
    if len(value) > limit:
        raise DomainError(_("%(label)s can have at most %(limit)s characters.", label=_(label),
                            limit=limit), field)
    return value.strip()


def email_address(value, field="email", label=N_("E-mail address"),
                  missing=N_("Enter an e-mail address.")):
    """A deliverable-looking address, normalised (lower case) as our logins store them.

    `missing` is the whole sentence for a blank field: a label cannot be spliced into one,
    since the article and the case it takes differ by language and by label.

    Syntax only (check_deliverability=False): no DNS lookups in a request, and an address
    at a domain that is down today is still the client's address.
    """
    text = single_line(value, label, field, limit=254)
    if not text:
        raise DomainError(_(missing), field)
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise DomainError(_("%(address)s is not a valid e-mail address: %(reason)s", address=text,
                            reason=exc), field) from None
    return result.normalized.lower()
