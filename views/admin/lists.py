"""The one way a back-office list page reads its request: search text, status, archived,
sort and page number, into the list's billing.admin_lists definition and the pager."""
from flask import render_template, request

from billing import listing
from billing.admin_lists import LISTS
from views.paging import Page, page_number, search_text
from views.tabs import render_tab

PER_PAGE = 50


def list_page(name, template, *, shell=None, with_rows=None, filters=None, **context):
    """Render `template` with `page` (rows and pager), the filters as understood (q, status,
    archived, sort), `pager_args` (the non-default ones, for pager links) and `filtered`
    (the empty state says nothing matched rather than nothing exists). `with_rows(rows)`
    gives more context about the page's rows (one query for all of them, never one each);
    `filters` are the list's own (already checked) filters, passed on to its definition."""
    spec = LISTS[name]
    args = request.args
    search = search_text(100)
    status = args.get("status", "")[:20]
    if status not in spec.statuses:
        status = ""
    archived = spec.archivable and args.get("archived") == "1"
    key, descending = listing.parse_sort(args.get("sort"), spec.sort_keys, spec.default_sort)
    sort = ("-" if descending else "") + key
    page = Page(spec.make(search, status, archived, key, descending, **(filters or {})),
                page_number(args.get("page")), PER_PAGE)
    pager_args = {name: value for name, value in (
        ("q", search), ("status", status), ("archived", "1" if archived else ""),
        ("sort", "" if sort == spec.default_sort else sort)) if value}
    chosen = {name: value for name, value in (filters or {}).items() if value}
    pager_args.update(chosen)
    context.update(page=page, spec=spec, q=search, status=status, archived=archived,
                   sort=sort, pager_args=pager_args, filtered=bool(search or status or chosen),
                   filters=filters or {})
    if with_rows is not None:
        context.update(with_rows(page.items))
    if shell:
        return render_tab(template, shell=shell, **context)
    return render_template(template, **context)
