"""HTML of list parts rendered once per distinct call, kept across requests."""
import functools

from flask import request
from markupsafe import Markup

from views.current import user_locale


def memo_macro(template, macro, *args):
    """The HTML of a macro called with `args`, rendered once per distinct call (and locale
    and URL root): for list parts that repeat from view to view. Everything the macro shows
    must come from its arguments, which must be hashable."""
    return _memo_macro(template, macro, user_locale(), request.script_root, args)


def memo_macro_join(template, macro, calls):
    """memo_macro for each argument tuple in `calls`, joined: a list's rows."""
    locale, root = user_locale(), request.script_root
    return Markup("".join(_memo_macro(template, macro, locale, root, args) for args in calls))


@functools.lru_cache(maxsize=8192)
def _memo_macro(template, macro, locale, script_root, args):
    from flask import current_app
    module = current_app.jinja_env.get_template(template).make_module({"locale": locale})
    return getattr(module, macro)(*args)
