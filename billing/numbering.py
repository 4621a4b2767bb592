"""Document numbers: gap-free per kind, safe under concurrent transactions."""
import models

DEFAULT_PREFIXES = {"invoice": "INV-", "quote": "QUO-", "credit": "CR-", "payment": "PAY-",
                    "recurring": "REC-"}


def next_number(kind):
    """Call inside a transaction: the UPDATE locks the counter until it ends."""
    S = models.Sequence
    S.insert(name=kind, prefix=DEFAULT_PREFIXES.get(kind, ""), next_value=1) \
        .on_conflict_ignore().execute()
    S.update(next_value=S.next_value + 1).where(S.name == kind).execute()
    seq = S.get(S.name == kind)
    return f"{seq.prefix}{seq.next_value - 1:05d}"
