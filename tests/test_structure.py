"""The layers' import rules (DESIGN.md §2), read from the source with ast, so an import
tucked inside a function counts as much as one at the top.

gateways/ only talks to payment services: it knows nothing of our database or services
(billing hands a gateway what it needs, e.g. gateways.base.ChargeBook). views/ never imports
portal.py (extension objects live in extensions.py). billing/ takes plain values, never the
request.
"""
import ast
import graphlib
import pathlib

import pytest

from gateways.base import BookedCharge
from gateways.demo import DemoGateway

ROOT = pathlib.Path(__file__).resolve().parent.parent
REQUEST_OBJECTS = {"request", "session", "g"}


def imports(source):
    """[(module, name or None)] that `source` imports anywhere, absolute names only."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.module, alias.name) for alias in node.names]
    return found


def top_level(module):
    return module.split(".")[0]


def sources(package, recursive=False):
    paths = sorted((ROOT / package).rglob("*.py") if recursive else (ROOT / package).glob("*.py"))
    assert paths, f"no {package}/*.py found"
    return [(path.relative_to(ROOT).as_posix(), path.read_text()) for path in paths]


def test_the_scanner_sees_every_form_of_import():
    source = ("import models\nfrom models import Invoice\nimport billing.checkout as c\n"
              "def later():\n    from portal import create_app\n    from . import base\n")
    assert imports(source) == [("models", None), ("models", "Invoice"),
                               ("billing.checkout", None), ("portal", "create_app")]


@pytest.mark.parametrize("path, source", sources("gateways"))
def test_gateways_import_neither_models_nor_the_layers_above(path, source):
    above = {"models", "billing", "views", "portal"}
    wrong = sorted({module for module, _name in imports(source) if top_level(module) in above})
    assert not wrong, f"{path} imports {wrong}: gateways/ must not know the database or the " \
                      "services (billing passes in what a gateway needs)"


@pytest.mark.parametrize("path, source", sources("views", recursive=True))
def test_views_do_not_import_portal(path, source):
    wrong = [module for module, _name in imports(source) if top_level(module) == "portal"]
    assert not wrong, f"{path} imports portal.py: take extension objects from extensions.py"


@pytest.mark.parametrize("path, source", sources("billing"))
def test_billing_never_reads_the_request(path, source):
    wrong = sorted({f"{module}.{name}" if name else module for module, name in imports(source)
                    if top_level(module) == "flask_login"
                    or (module == "flask" and name in REQUEST_OBJECTS)})
    assert not wrong, f"{path} imports {wrong}: billing/ takes plain values from the view"


def module_name(path):
    name = path.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


def test_services_import_each_other_without_a_cycle():
    """Module-level imports among billing/ and gateways/ form no cycle, so any of them can be
    imported first. (A function may import a module that builds on its own, lazily: see
    billing.checkout.finalize.)"""
    modules = {module_name(path): source for path, source in sources("billing") +
               sources("gateways")}
    graph = {}
    for name, source in modules.items():
        found = imports_at_top(ast.parse(source))
        # "from billing import checkout" imports billing.checkout: both names count.
        wanted = {module for module, _ in found} | {f"{module}.{name}" for module, name in found
                                                   if name}
        graph[name] = {m for m in wanted if m in modules and m != name
                       and m != name.split(".")[0]}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def imports_at_top(module):
    found = []
    for node in module.body:
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.module, alias.name) for alias in node.names]
    return found


class MemoryBook:
    """A ChargeBook in a dict: the demo gateway keeps its charges wherever it is told."""

    def __init__(self):
        self.charges = {}

    def by_key(self, idempotency_key):
        return self.charges.get(idempotency_key)

    def by_reference(self, reference):
        return next((c for c in self.charges.values() if c.reference == reference), None)

    def book(self, *, idempotency_key, amount, currency, reference, payment):
        return self.charges.setdefault(idempotency_key,
                                       BookedCharge(reference, amount, currency))


def test_the_demo_gateway_keeps_its_charges_in_the_books_it_is_given(db):
    import models
    config = models.GatewayConfig(kind="demo", settings="{}")
    book = MemoryBook()
    gateway = DemoGateway(config, charge_book=book)
    card = gateway.tokenize("4242 4242 4242 4242", "12", "2099", "123")
    first = gateway.charge(card, 1500, "eur", idempotency_key="key-1" * 4)
    again = gateway.charge(card, 1500, "eur", idempotency_key="key-1" * 4)
    assert first == again and len(book.charges) == 1  # one charge per key, as ever
    assert gateway.retrieve_charge(first.reference).amount == 1500
    assert gateway.find_charge("key-2" * 4, {}) is None
    assert not models.DemoCharge.select().exists()  # nothing went to the database
    # Without books of its own it uses the ones billing installed: our database.
    DemoGateway(config).charge(card, 700, "eur", idempotency_key="key-3" * 4)
    assert models.DemoCharge.get().amount == 700
