"""Each template compiled once per test process, not once per test's app.

Jinja compiles a template (lex, parse, generate Python, compile it) the first time an
environment loads it and keeps it in that environment. The portal makes one app, hence one
environment, per process; the tests make one per test, so every test compiled each template
it rendered again: about a third of the time of a test that renders a few pages, and of
most mutants' runs.

Jinja's own remedy is a bytecode cache shared between environments. This one keeps the
compiled code in memory for the process, keyed by the template's name and source checksum
(as Jinja keys any bytecode cache) and by everything in the environment that shapes the
compiled code: the syntax settings, the extensions (and how gettext is installed), and the
filters and tests a template may name (the compiler checks they exist, and folds a filter
of constant arguments into the code). tests/test_template_code.py checks that every
template's shared code is the code a fresh environment compiles for it.
"""
import flask
import jinja2


def compile_settings(environment):
    """What, besides its source, a template's compiled code depends on."""
    return (
        environment.block_start_string, environment.block_end_string,
        environment.variable_start_string, environment.variable_end_string,
        environment.comment_start_string, environment.comment_end_string,
        environment.line_statement_prefix, environment.line_comment_prefix,
        environment.trim_blocks, environment.lstrip_blocks, environment.newline_sequence,
        environment.keep_trailing_newline, environment.optimized, environment.is_async,
        _named(environment.finalize), _named(environment.autoescape),
        tuple(sorted(environment.extensions)),
        getattr(environment, "newstyle_gettext", None),
        tuple(sorted((name, _named(function)) for name, function in environment.filters.items())),
        tuple(sorted((name, _named(function)) for name, function in environment.tests.items())),
    )


def _named(value):
    if callable(value):
        function = getattr(value, "__func__", value)
        return getattr(function, "__module__", None), getattr(function, "__qualname__", repr(value))
    return value


class SharedTemplateCode(jinja2.BytecodeCache):
    def __init__(self):
        self.code = {}

    def load_bytecode(self, bucket):
        code = self.code.get(_key(bucket))
        if code is not None:
            bucket.code = code

    def dump_bytecode(self, bucket):
        self.code[_key(bucket)] = bucket.code


def _key(bucket):
    return compile_settings(bucket.environment), bucket.key, bucket.checksum


shared = SharedTemplateCode()


def share_template_code():
    """Every Flask app made from now on in this process compiles through `shared`."""
    flask.Flask.jinja_options = {**flask.Flask.jinja_options, "bytecode_cache": shared}
