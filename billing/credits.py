"""Credits: created by staff (a refund, a goodwill adjustment, an over-payment) and shown to
the client with what is left of each. Spending credit on an invoice belongs to payments."""
from peewee import fn

import models
from billing import DomainError, documents, numbering, transaction
from prepared import prepared, slot

REASONS = ("refund", "adjustment", "overpayment")
# What a contact can still spend: issued and not used up.
AVAILABLE = ("sent", "partial")


def create_credit(client, lines, *, date=None, reason="adjustment", discount=0, notes="",
                  terms="", footer="", currency=None, status="sent", staff=None):
    if reason not in REASONS:
        raise DomainError("Choose why the credit is given: refund, adjustment or over-payment.",
                          "reason")
    if not lines:
        raise DomainError("A credit needs at least one line.", "lines")
    if status not in ("draft", "sent"):
        raise DomainError("A new credit is a draft or issued.", "status")
    with transaction():
        credit = models.Credit(
            client=client, number=numbering.next_number("credit"),
            date=date or models.utcnow().date(), currency=currency or client.currency,
            discount=discount, reason=reason, notes=notes, terms=terms, footer=footer,
            status="draft")
        credit.save()
        documents.set_lines(credit, lines, "credit")
        if credit.total <= 0:
            raise DomainError("A credit must be worth more than zero.", "lines")
        credit.balance = credit.total
        credit.status = status
        credit.save()
        models.Activity.log("credit.created", credit, client=client.id, staff=staff,
                            detail=f"{credit.total} {credit.currency} {reason}")
    return credit


def mark_sent(credit, staff=None):
    with transaction():
        changed = models.Credit.update(status="sent").where(
            (models.Credit.id == credit.id) & (models.Credit.status == "draft")).execute()
        if changed:
            models.Activity.log("credit.issued", credit, client=credit.client_id, staff=staff)
    return models.Credit.get_by_id(credit.id)


def available_totals(client_id):
    """[(currency, remaining)] of the client's spendable credit, one row per currency."""
    C = models.Credit
    rows = prepared("credit-available-totals", lambda: (
        C.for_client(slot("client")).select(C.currency, fn.SUM(C.balance))
        .where(C.status.in_(AVAILABLE) & (C.balance > 0))
        .group_by(C.currency).order_by(C.currency))).tuples(client=client_id)
    return [(currency, int(total or 0)) for currency, total in rows]


def display_status(credit):
    if credit.status in AVAILABLE and credit.balance == 0:
        return "applied"
    return {"sent": "available"}.get(credit.status, credit.status)


EDITABLE = ("date", "reason", "discount", "notes", "terms", "footer")


def update_credit(credit, fields, lines=None, staff=None):
    """Change a draft credit; once issued the client may already have spent it."""
    from billing.invoices import _locked
    if "reason" in fields and fields["reason"] not in REASONS:
        raise DomainError("Choose why the credit is given: refund, adjustment or over-payment.",
                          "reason")
    with transaction():
        credit = _locked(credit)
        if credit.status != "draft":
            raise DomainError(f"Credit {credit.number} has been issued: only draft credits "
                              "can be changed.")
        for key in EDITABLE:
            if key in fields:
                setattr(credit, key, fields[key])
        if lines is not None:
            if not lines:
                raise DomainError("A credit needs at least one line.", "lines")
            documents.set_lines(credit, lines, "credit")
        else:
            documents.reprice(credit, "credit")
        if credit.total <= 0:
            raise DomainError("A credit must be worth more than zero.", "lines")
        credit.balance = credit.total
        credit.save()
        models.Activity.log("credit.updated", credit, client=credit.client_id, staff=staff)
    return credit
