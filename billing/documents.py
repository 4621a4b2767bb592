"""Line items and totals shared by invoices, quotes, credits and recurring templates."""
from decimal import ROUND_HALF_UP, Decimal

import models
from billing import DomainError

HUNDRED = Decimal(100)


def _round(value):
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def price_lines(lines, discount=0):
    """Set each line's amount and tax; return (subtotal, tax_total, total).

    The document discount is shared across lines in proportion to their amounts before tax,
    so tax is charged on what the client actually pays for.
    """
    for line in lines:
        gross = Decimal(line.quantity) * line.unit_cost
        line.amount = _round(gross * (1 - Decimal(line.discount_percent) / HUNDRED))
    subtotal = sum(line.amount for line in lines)
    if discount < 0 or discount > subtotal:
        raise DomainError("The discount must be between zero and the subtotal.", "discount")
    tax_total = 0
    for line in lines:
        share = Decimal(line.amount) * discount / subtotal if subtotal else Decimal(0)
        line.tax_amount = _round((line.amount - share) * Decimal(line.tax_rate) / HUNDRED)
        tax_total += line.tax_amount
    return subtotal, tax_total, subtotal - discount + tax_total


def set_lines(document, line_dicts, field):
    """Replace a document's lines and totals from plain dicts (form, API, demo)."""
    lines = []
    for position, data in enumerate(line_dicts):
        quantity = Decimal(str(data.get("quantity", 1)))
        if quantity <= 0:
            raise DomainError("Each line needs a quantity above zero.", "lines")
        lines.append(models.LineItem(
            position=position, product=data.get("product", ""),
            description=data.get("description", ""), quantity=quantity,
            unit_cost=int(data.get("unit_cost", 0)),
            discount_percent=Decimal(str(data.get("discount_percent", 0))),
            tax_name=data.get("tax_name", ""), tax_rate=Decimal(str(data.get("tax_rate", 0))),
            **{field: document}))
    document.subtotal, document.tax_total, document.total = price_lines(lines, document.discount)
    models.LineItem.delete().where(getattr(models.LineItem, field) == document).execute()
    for line in lines:
        line.save()
    return lines


def tax_summary(lines):
    """[(tax name and rate, amount)] for the totals box."""
    summary = {}
    for line in lines:
        if line.tax_amount:
            label = f"{line.tax_name} {plain_number(line.tax_rate)}%".strip()
            summary[label] = summary.get(label, 0) + line.tax_amount
    return list(summary.items())


def plain_number(value):
    """20.000 -> "20", 3.50 -> "3.5": no trailing zeros and never "2E+1"."""
    return format(Decimal(value).normalize(), "f")
