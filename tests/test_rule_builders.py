"""The tests share Werkzeug's compiled URL builders between apps (tests/rule_builders.py):
each route's shared builder must be the code Werkzeug compiles for that route itself."""
from werkzeug.routing import Map, Rule, rules

from tests import rule_builders


def _code(function):
    code = function.__code__
    return (code.co_code, code.co_consts, code.co_names, code.co_varnames, code.co_argcount,
            function.__defaults__)


def test_every_routes_shared_builder_is_the_one_werkzeug_compiles_for_it(app):
    assert rules.Rule._compile_builder is rule_builders._shared_builder
    routes = list(app.url_map.iter_rules())
    assert len(routes) > 100
    for rule in routes:
        for append_unknown, built in ((False, rule._build), (True, rule._build_unknown)):
            assert built.__self__ is rule
            fresh = rule_builders.compile_unshared(rule, append_unknown)
            assert _code(built.__func__) == _code(fresh), rule.rule


def test_routes_that_differ_only_in_a_default_get_their_own_builders():
    url_map = Map([Rule("/page/<int:n>", endpoint="a"),
                         Rule("/page/<int:n>", endpoint="b", defaults={"n": 1}),
                         Rule("/page/<int:n>", endpoint="c", defaults={"n": 2})])
    urls = url_map.bind("example.test")
    assert urls.build("a", {"n": 5}) == "/page/5"
    assert urls.build("b", {}) == "/page/1"
    assert urls.build("c", {}) == "/page/2"
    assert urls.build("a", {"n": 5, "q": "x"}) == "/page/5?q=x"
