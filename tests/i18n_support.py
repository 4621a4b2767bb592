"""Support for the language tests (tests/test_i18n.py, _choice.py and _catalogs.py): the
`euro` fixture (a EUR client whose contact's language the tests set; registered for every
test module through conftest's pytest_plugins) and helpers for a page's language; and a
scanner that finds text in the portal's templates that does not go through gettext."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import models
from tests import factories
from tests.core_support import opened

PARTIALS = Path(__file__).resolve().parent.parent / "partials"
# Staff-only templates: the back office stays English (DESIGN.md §3, issue 13).
STAFF_ONLY = {"email/autobill_declined_staff.txt", "email/quote_approved_staff.txt",
              "email/quote_declined_staff.txt", "email/registration_staff.txt",
              "email/subscription_cancellation.txt"}
# Rewritten by another slice as this one was written; wrapped when they merge.
NOT_YET_WRAPPED_DIRS = ()
# Words that read the same in every language the portal speaks.
ALLOWED = {"PDF", "CVC", "PO", "OK", "E-Mail"}

ATTRIBUTES = ("placeholder", "aria-label", "alt", "title", "data-confirm", "data-label",
              "value")
WORD = re.compile(r"[^\W\d_]{2,}")
EXPRESSION = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
LITERAL = re.compile(r"""(["'])((?:(?!\1).)*)\1""")
GETTEXT_CALL = re.compile(r"(?:\b_|gettext|ngettext)\(\s*$")


def portal_templates():
    for path in sorted(PARTIALS.rglob("*")):
        name = path.relative_to(PARTIALS).as_posix()
        if not path.is_file() or name.startswith("admin/") or name in STAFF_ONLY:
            continue
        if name.startswith(NOT_YET_WRAPPED_DIRS):
            continue
        yield name, path.read_text()


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ATTRIBUTES and value and not (name == "value" and tag != "button"):
                self._check(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self._check(data)

    def _check(self, text):
        # A macro that writes attributes (aria-invalid="true") or a URL path is no text.
        text = re.sub(r'[\w-]+="[^"]*"|(?<!\w)/[\w/.-]*', " ", text)
        words = [w for w in WORD.findall(text) if w not in ALLOWED]
        if words:
            self.found.append(" ".join(text.split()))


def _literal_is_text(text):
    # A phrase a person reads: a capital then lower case, or several words. Keys, CSS
    # classes, URLs and formats ("sent", "%02d", "medium") are not.
    return bool(re.match(r"[A-Z][a-z]+\b", text) and not re.match(r"[A-Z][a-z]+_", text))


def unwrapped(source):
    """Each piece of text a person would read that is not passed through gettext."""
    found = []
    for match in EXPRESSION.finditer(source):
        expr = match.group(0)
        if expr.startswith("{#"):
            continue
        for lit in LITERAL.finditer(expr):
            if _literal_is_text(lit.group(2)) and not GETTEXT_CALL.search(
                    expr[:lit.start()]) and not _ngettext_plural(expr, lit):
                found.append(lit.group(2))
    markup = EXPRESSION.sub(" ", source)
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return found + parser.found


def _ngettext_plural(expr, lit):
    before = expr[:lit.start()]
    return bool(re.search(r"ngettext\(\s*(['\"]).*?\1\s*,\s*$", before, re.S))


# ---------------------------------------------------------------- a page's language

LANGUAGES = ("de", "fr", "es")


def text(response):
    return response.get_data(as_text=True)


def html_lang(page):
    match = re.search(r'<html[^>]* lang="([^"]+)"', page)
    return match.group(1) if match else None


@pytest.fixture
def euro(app):
    """A company, a EUR client with one contact and one unpaid invoice of 1,234.56."""
    with opened(app):
        factories.company(currency="EUR")
        client = factories.client(name="Müller GmbH", currency="EUR")
        contact = factories.contact(client, email="pat@mueller.example")
        invoice = factories.invoice(client, lines=[{"product": "Beratung", "quantity": 1,
                                                    "unit_cost": 123456}])
    return {"client": client, "contact": contact, "invoice": invoice}


def set_locale(app, model, row_id, locale):
    with opened(app):
        model.update(locale=locale).where(model.id == row_id).execute()


def models_company_id(app):
    with opened(app):
        return models.Company.current().id
