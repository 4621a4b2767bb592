"""Staff back office for products: list, create, edit, archive; and the editor's line filler."""
from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

import models
import money
from billing import DomainError
from billing import products as product_service
from views.admin import current_staff, editor_form, staff_required
from views.admin.lists import list_page
from views.current import user_locale

bp = Blueprint("admin_products", __name__, url_prefix="/admin/products")


def _currency():
    company = models.Company.current()
    return company.currency if company else "USD"


@bp.get("")
@staff_required
def index():
    return list_page("products", "admin/products.html", currency=_currency())


def _values(product, locale):
    return {"name": product.name, "description": product.description,
            "price": money.input_string(product.price, _currency(), locale),
            "tax_name": product.tax_name,
            "tax_rate": editor_form.plain(product.tax_rate) if product.tax_rate else ""}


def _parse(form, locale):
    try:
        price = money.parse(form.get("price") or "", _currency(), locale)
    except money.MoneyError as exc:
        raise DomainError(f"Price: {exc}", "price") from None
    rate_text = (form.get("tax_rate") or "").strip()
    tax_rate = money.parse_number(rate_text, locale) if rate_text else 0
    if tax_rate is None:
        raise DomainError("The tax rate must be a number.", "tax_rate")
    return {"name": form.get("name", "")[:500], "description": form.get("description", "")[:5000],
            "price": price, "tax_name": form.get("tax_name", "")[:500], "tax_rate": tax_rate}


def _form(product=None):
    locale = user_locale()
    error = field = None
    values = _values(product, locale) if product else {}
    if request.method == "POST":
        values = request.form
        try:
            fields = _parse(request.form, locale)
            if product is None:
                product = product_service.create_product(**fields, staff=current_staff())
                flash(f"Product {product.name} created.", "success")
            else:
                product = product_service.update_product(product, **fields,
                                                         staff=current_staff())
                flash(f"Product {product.name} saved.", "success")
        except DomainError as exc:
            error, field = exc.message, exc.field
        else:
            return redirect(url_for("admin_products.index"), 303)
    return render_template("admin/product_form.html", product=product, values=values,
                           error=error, field=field, currency=_currency()), \
        422 if error else 200


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    return _form()


def _product(product_id):
    product = models.Product.get_or_none(models.Product.id == product_id)
    if product is None:
        abort(404)
    return product


@bp.route("/<int:product_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(product_id):
    return _form(_product(product_id))


@bp.post("/<int:product_id>/archive")
@staff_required
def archive(product_id):
    return _set_archived(product_id, "archive")


@bp.post("/<int:product_id>/restore")
@staff_required
def restore(product_id):
    return _set_archived(product_id, "restore")


def _set_archived(product_id, action):
    product = _product(product_id)
    try:
        product_service.set_archived(product, action == "archive", staff=current_staff())
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Product {product.name} {'archived' if action == 'archive' else 'restored'}.",
              "success")
    return redirect(url_for("admin_products.index"), 303)


@bp.post("/line")
@staff_required
def line():
    """One editor line filled from the product typed or picked in it (htmx)."""
    form = request.form
    index = form.get("index", "0")
    index = int(index) if index.isdigit() and len(index) < 4 else 0
    currency = form.get("currency", "")
    if currency not in {c for (c,) in models.Client.select(models.Client.currency).tuples()}:
        currency = _currency()
    row = {name: (form.get(name) or "").strip()[:2000] for name in editor_form.LINE_FIELDS}
    row = editor_form.fill_row(row, currency, user_locale())
    response = make_response(render_template("admin/_editor_row.html", row=row, index=index,
                                             currency=currency))
    # The totals box listens for this and adds the filled line up.
    response.headers["HX-Trigger"] = "line-filled"
    return response
