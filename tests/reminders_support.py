"""Plain helpers shared by the reminder tests (tests/test_reminder_rules.py and
test_reminder_runs.py): the day they run on, the business, the config a run is given, and
saving the reminder settings as the form does."""
import datetime as dt

from billing import reminders
from tests import factories

TODAY = dt.date(2026, 6, 15)


def shop():
    return factories.company(name="Shop Ltd", currency="USD", locale="en_US")


def config(tmp_path):
    return {"BASE_URL": "http://portal.test", "SMTP_URL": "",
            "OUTBOX_PATH": str(tmp_path / "outbox")}


def save(company, rules=(("", False),) * 3, kind="", value=""):
    return reminders.save(company, rule_inputs=list(rules), fee_kind=kind, fee_value=value)
