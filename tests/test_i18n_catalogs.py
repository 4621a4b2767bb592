"""The translation catalogs: each language's .po is complete and not fuzzy, carries the
labels Python keeps in English, and its committed .mo says the same; every portal template
string is wrapped for translation (and the scanner that checks it finds unwrapped text).

Siblings: tests/test_i18n.py (pages, e-mails and what stays English) and
tests/test_i18n_choice.py (which language). The scanner is tests/i18n_support.py."""
import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import models
from tests.i18n_support import LANGUAGES, portal_templates, unwrapped

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"


def catalog(lang):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f)


def extracted_ids():
    """What the code asks to translate now (the same extraction as translations/babel.cfg)."""
    method_map = [("**/admin/**", "ignore"), ("**/api/**", "ignore"), ("tests/**", "ignore"),
                  ("bench/**", "ignore"), ("static/**", "ignore"), ("**.py", "python"),
                  ("partials/**.html", "jinja2"), ("partials/email/**.txt", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
                "N_": None}
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords=keywords):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def msg_key(msg):
    return msg.id if isinstance(msg.id, str) else msg.id[0]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_is_complete_and_not_fuzzy(lang):
    cat = catalog(lang)
    assert not cat.fuzzy
    problems = []
    for msg in cat:
        if not msg.id:
            continue
        strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        if msg.fuzzy or not all(s.strip() for s in strings):
            problems.append(msg.id)
    assert not problems, problems
    assert not list(cat.check())  # placeholders match (python-format)
    translated = {msg_key(m) for m in cat if m.id}
    untranslated = sorted(extracted_ids() - translated)
    assert not untranslated, f"run the steps in README 'Translations': {untranslated}"


def test_labels_that_python_keeps_in_english_are_in_the_catalog():
    from billing import statements
    from billing.company_settings import REGISTRATION_FIELDS
    from billing.schedule import FREQUENCIES
    from views import credits, invoices, quotes, tabs
    labels = set(models.InvoiceStatus.STATUS_LABELS.values()) | set(FREQUENCIES.values())
    labels |= {label for _, label in invoices.FILTER_LABELS + invoices.SORT_LABELS}
    labels |= {label for _, label, _ in tabs.TABS} | set(quotes.FILTERS.values())
    labels |= set(credits.FILTERS.values()) | {label for _, label, _ in REGISTRATION_FIELDS}
    labels |= {label for _, label in statements.RANGES + statements.STATUSES}
    labels |= {label for label, _, _ in statements.AGEING}
    from billing import subscriptions
    from billing.company_settings import DEFAULT_CANCELLATION_REASONS
    labels |= set(models.Subscription.STATUS_LABELS.values())
    labels |= set(subscriptions.CANCELLATION_LABELS.values()) | set(DEFAULT_CANCELLATION_REASONS)
    for lang in LANGUAGES:
        translated = {msg_key(m) for m in catalog(lang) if m.id and m.string}
        assert labels <= translated, (lang, sorted(labels - translated))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalogs_are_up_to_date(lang):
    """The .mo files are committed (pip install -e needs no build step): each must say what
    its .po says. After editing a .po: pybabel compile -d translations."""
    mo_path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), "pybabel compile -d translations"
    with open(mo_path, "rb") as f:
        compiled = gettext.GNUTranslations(f)
    stale = []
    for msg in catalog(lang):
        if not msg.id:
            continue
        if isinstance(msg.id, str):
            if compiled.gettext(msg.id) != msg.string:
                stale.append(msg.id)
        elif (compiled.ngettext(msg.id[0], msg.id[1], 1) != msg.string[0]
              or compiled.ngettext(msg.id[0], msg.id[1], 5) != msg.string[-1]):
            stale.append(msg.id[0])
    assert not stale, f"pybabel compile -d translations: {stale[:5]}"


def test_every_portal_template_string_is_wrapped():
    found = {name: unwrapped(source) for name, source in portal_templates()}
    found = {name: texts for name, texts in found.items() if texts}
    assert not found, found


def test_the_scanner_finds_unwrapped_text():
    assert unwrapped("<p>Hello there</p>") == ["Hello there"]
    assert unwrapped('<input placeholder="Your name">') == ["Your name"]
    assert unwrapped('{{ "Until stopped" if x else y }}') == ["Until stopped"]
    assert unwrapped('<p>{{ _("Hello there") }} {{ name }}</p>') == []
    assert unwrapped("<p>{{ ngettext('One quote', 'Two quotes', n) }}</p>") == []
    assert unwrapped('<td data-label="{{ _(\'Amount\') }}">—</td>') == []


# A sentence in a script's string literal: a capital, then words ("That page no longer exists.").
SCRIPT_SENTENCE = re.compile(r"""["'][A-Z][a-z']+[ ,.][^"']*["']""")


def test_our_scripts_say_nothing_in_english():
    """What static/js says to a person comes from the page (data-* attributes written with
    _()), so it is translated with the rest; the vendored htmx says nothing to anyone."""
    found = {}
    for script in sorted((ROOT / "static" / "js").glob("*.js")):
        if script.name.startswith("htmx-"):
            continue
        sentences = SCRIPT_SENTENCE.findall(script.read_text())
        if sentences:
            found[script.name] = sentences
    assert not found, found
    assert SCRIPT_SENTENCE.findall('notify("That page no longer exists.");') == [
        '"That page no longer exists."']
