"""Finds text in the portal's templates that does not go through gettext."""
import re
from html.parser import HTMLParser
from pathlib import Path

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
