"""One compiled URL builder per distinct route for the whole test process.

Werkzeug compiles a Python function for each route as it is added to an app (the code that
url_for runs: it builds an AST for the route and compiles it), and that was about four fifths
of create_app(): ~80 ms of CPU for every test's app, about the time of the test itself for
most tests and of most mutants' runs. The portal makes its app once per process; the tests
make one per test, with the same routes each time.

The function depends only on the route's parts (its static text and variable names, in
order), the names of its defaults and the URL text of any default that fills a variable,
and whether unknown arguments become a query string: with those as the key, a route added
again gets the very function compiled before, bound to its own Rule (which carries its own
converters). tests/test_rule_builders.py checks the shared code against a fresh compile for
every route of an app.
"""
import inspect

from werkzeug.routing import rules

_compile = rules.Rule._compile_builder
_builders = {}


def builder_key(rule, append_unknown):
    defaults = rule.defaults or {}
    return (append_unknown, tuple(rule._trace), tuple(defaults),
            tuple((name, rule._converters[name].to_url(defaults[name]))
                  for dynamic, name in rule._trace if dynamic and name in defaults))


def _shared_builder(self, append_unknown=True):
    key = builder_key(self, append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _compile(self, append_unknown)
    return builder


def share_rule_builders():
    """Install the shared builders, unless Werkzeug's method is not the one described above
    (a newer Werkzeug then simply compiles each route as before)."""
    if list(inspect.signature(_compile).parameters) == ["self", "append_unknown"]:
        rules.Rule._compile_builder = _shared_builder


def compile_unshared(rule, append_unknown):
    return _compile(rule, append_unknown)
