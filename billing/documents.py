"""Line items and totals shared by invoices, quotes, credits and recurring templates."""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import models
from billing import DomainError
from money import MAX_MINOR

HUNDRED = Decimal(100)
QUANTITY_PLACES = Decimal("0.0001")  # LineItem.quantity keeps four decimals


def _number(value, label, places=None):
    """A finite decimal from a form, the API or code; a DomainError instead of a crash."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(f"{label} must be a number.", "lines") from None
    if not number.is_finite() or abs(number) >= 10 ** 9:
        raise DomainError(f"{label} must be a number.", "lines")
    return number.quantize(places, rounding=ROUND_HALF_UP) if places else number


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
    # Every amount must fit the BIGINT columns, and the balances that add them up.
    if any(abs(line.amount) > MAX_MINOR for line in lines) or abs(subtotal) > MAX_MINOR:
        raise DomainError("That total is too large for one document: lower the quantity or "
                          "the price.", "lines")
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
    lines = build_lines(line_dicts, **{field: document})
    document.subtotal, document.tax_total, document.total = price_lines(lines, document.discount)
    models.LineItem.delete().where(getattr(models.LineItem, field) == document).execute()
    for line in lines:
        line.save()
    return lines


def preview(line_dicts, discount=0):
    """What the lines would total, unsaved: the editor's live totals use the very rules and
    arithmetic that saving does. Returns (lines, subtotal, tax_total, total)."""
    lines = build_lines(line_dicts)
    return (lines, *price_lines(lines, discount))


def build_lines(line_dicts, **owner):
    """Checked, unsaved LineItems from plain dicts; a DomainError names what is wrong."""
    lines = []
    for position, data in enumerate(line_dicts):
        try:
            lines.append(_build_line(position, data, owner))
        except DomainError as exc:
            # A form of twelve lines needs to say which one is wrong.
            raise DomainError(f"Line {position + 1}: {exc.message}", exc.field) from None
    return lines


def _build_line(position, data, owner):
    # Priced on the stored (rounded) quantity, so quantity x price matches the amount.
    quantity = _number(data.get("quantity", 1), "Quantity", QUANTITY_PLACES)
    if quantity <= 0:
        raise DomainError("Each line needs a quantity above zero.", "lines")
    raw_cost = data.get("unit_cost", 0)
    try:
        if isinstance(raw_cost, bool):  # True is 1 to int(), never to a person
            raise ValueError(raw_cost)
        text = str(raw_cost).strip()
        if len(text) > 30 and not text.lstrip("-").isdigit():
            raise ValueError(text)
        # Python refuses int() of a 5,000-digit string; it is simply too large.
        unit_cost = int(text) if len(text) <= 30 else MAX_MINOR + 1
    except ValueError:
        raise DomainError("The price must be a whole number of minor units.",
                          "lines") from None
    if abs(unit_cost) > MAX_MINOR:
        raise DomainError("That price is too large.", "lines")
    discount_percent = _number(data.get("discount_percent", 0), "Discount")
    tax_rate = _number(data.get("tax_rate", 0), "Tax rate")
    if not 0 <= discount_percent <= 100 or not 0 <= tax_rate <= 100:
        raise DomainError("Discounts and tax rates are percentages from 0 to 100.", "lines")
    return models.LineItem(
        position=position, product=data.get("product", ""),
        description=data.get("description", ""), quantity=quantity, unit_cost=unit_cost,
        discount_percent=discount_percent, tax_name=data.get("tax_name", ""),
        tax_rate=tax_rate, **owner)


def reprice(document, field):
    """Recompute totals after a change of discount, keeping the lines."""
    lines = list(models.LineItem.select().where(getattr(models.LineItem, field) == document))
    document.subtotal, document.tax_total, document.total = price_lines(lines, document.discount)
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
