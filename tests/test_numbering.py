"""billing/numbering.py: gap-free numbers per kind, each kind counting on its own."""
from billing import numbering, transaction


def numbers(*kinds):
    with transaction():
        return [numbering.next_number(kind) for kind in kinds]


def test_each_kind_counts_on_its_own_with_its_prefix(db):
    assert numbers("invoice", "credit", "invoice", "payment", "credit", "invoice") == [
        "INV-00001", "CR-00001", "INV-00002", "PAY-00001", "CR-00002", "INV-00003"]


def test_a_kind_without_a_prefix_is_numbered_plainly(db):
    assert numbers("ticket", "ticket") == ["00001", "00002"]
