"""The tests share compiled templates between apps (tests/template_code.py): each template's
shared code must be the code the app's own environment compiles for it, and environments
that would compile a template differently must not share it."""
import jinja2

from tests.conftest import make_app
from tests.template_code import compile_settings, shared


def test_every_templates_shared_code_is_what_a_new_apps_environment_compiles(app, tmp_path):
    first = app.jinja_env
    names = first.list_templates()
    assert len(names) > 50
    for name in names:
        first.get_template(name)
    (tmp_path / "second").mkdir()
    environment = make_app(tmp_path / "second").jinja_env
    assert environment.bytecode_cache is shared
    assert compile_settings(environment) == compile_settings(first)
    for name in names:
        source, filename, _ = environment.loader.get_source(environment, name)
        bucket = shared.get_bucket(environment, name, filename, source)
        assert bucket.code is not None, name
        assert bucket.code == environment.compile(source, name, filename), name


TEMPLATE = "{{ 'Paid'|label }}\n{% if shown %}\n  {{ amount }}\n{% endif %}\n"


def _render(**options):
    filters = options.pop("filters", {"label": str.upper})
    environment = jinja2.Environment(loader=jinja2.DictLoader({"row.html": TEMPLATE}),
                                     bytecode_cache=shared, **options)
    environment.filters.update(filters)
    return environment.get_template("row.html").render(shown=True, amount=5)


def test_environments_that_compile_a_template_differently_each_get_their_own_code():
    assert _render() == "PAID\n\n  5\n"
    # Jinja folds a filter of constant arguments into the code: another function, other code.
    assert _render(filters={"label": str.lower}) == "paid\n\n  5\n"
    assert _render(trim_blocks=True) == "PAID\n  5\n"
    assert _render(variable_start_string="[[", variable_end_string="]]") == (
        "{{ 'Paid'|label }}\n\n  {{ amount }}\n")
    assert _render() == "PAID\n\n  5\n"
