"""Products: what the business sells, kept so a document line can be filled by picking one.

Prices are in the company's currency; a line copies them, so changing a product later never
changes a document already written.
"""
from decimal import Decimal, InvalidOperation

import models
from billing import DomainError, transaction, validation
from money import MAX_MINOR


def _clean(name, description, price, tax_name, tax_rate):
    name = validation.single_line(name, "Name", "name", limit=100)
    if not name:
        raise DomainError("Enter the product's name.", "name")
    description = validation.multi_line(description, "Description", "description", limit=2000)
    if isinstance(price, bool) or not isinstance(price, int) or not 0 <= price <= MAX_MINOR:
        raise DomainError("The price must be zero or more.", "price")
    tax_name = validation.single_line(tax_name, "Tax name", "tax_name", limit=50)
    try:
        tax_rate = Decimal(str(tax_rate))
    except (InvalidOperation, ValueError):
        raise DomainError("The tax rate must be a number.", "tax_rate") from None
    if not tax_rate.is_finite() or not 0 <= tax_rate <= 100:
        raise DomainError("The tax rate is a percentage from 0 to 100.", "tax_rate")
    return {"name": name, "description": description, "price": price, "tax_name": tax_name,
            "tax_rate": tax_rate}


def _check_unique(name, product_id=None):
    P = models.Product
    query = P.select().where((P.name == name) & P.archived_at.is_null())
    if product_id is not None:
        query = query.where(P.id != product_id)
    if query.exists():
        raise DomainError(f"There is already a product called {name}.", "name")


def create_product(name, description="", price=0, tax_name="", tax_rate=0, staff=None):
    fields = _clean(name, description, price, tax_name, tax_rate)
    with transaction():
        _check_unique(fields["name"])
        product = models.Product.create(**fields)
        models.Activity.log("product.created", product, staff=staff)
    return product


def update_product(product, name, description="", price=0, tax_name="", tax_rate=0,
                   staff=None):
    fields = _clean(name, description, price, tax_name, tax_rate)
    with transaction():
        _check_unique(fields["name"], product.id)
        models.Product.update(**fields).where(models.Product.id == product.id).execute()
        models.Activity.log("product.updated", product, staff=staff)
    return models.Product.get_by_id(product.id)


def set_archived(product, archived, staff=None):
    """Archived products leave the picker; lines that used them keep their copy."""
    with transaction():
        if not archived:
            _check_unique(product.name, product.id)
        models.Product.update(archived_at=models.utcnow() if archived else None).where(
            models.Product.id == product.id).execute()
        models.Activity.log("product.archived" if archived else "product.restored", product,
                            staff=staff)
    return models.Product.get_by_id(product.id)


def find(name):
    """The active product of that name (as typed in a line's product field), or None."""
    name = (name or "").strip()
    if not name:
        return None
    return models.Product.active().where(models.Product.name == name).first()


def fill_line(line, currency):
    """Fill a line's blank description, price and tax from the product it names.

    `line` holds unit_cost in minor units (or None when left blank). What the person typed
    always wins; a product priced in another currency than the document's lends only its
    words, never its price.
    """
    product = find(line.get("product"))
    if product is None:
        return line
    company = models.Company.current()
    filled = dict(line)
    if not filled.get("description"):
        filled["description"] = product.description
    if filled.get("unit_cost") is None and company and company.currency == currency:
        filled["unit_cost"] = product.price
    if not filled.get("tax_name") and filled.get("tax_rate") is None:
        filled["tax_name"], filled["tax_rate"] = product.tax_name, product.tax_rate
    return filled
