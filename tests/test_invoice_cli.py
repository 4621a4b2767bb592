import models
from portal import cli
from tests import factories
from tests.core_support import opened


def test_invoice_lifecycle_from_the_cli(app, runner):
    with opened(app):
        client = factories.client()
        factories.contact(client, email="payer@test.example")
        draft = factories.invoice(client, status="draft")
    result = runner.invoke(cli, ["invoice", "mark-sent", draft.number])
    assert result.exit_code == 0, result.output
    assert f"{draft.number}: sent, balance 10000" in result.output
    result = runner.invoke(cli, ["invoice", "email", draft.number])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["invoice", "mark-paid", draft.number])
    assert f"{draft.number}: paid, balance 0" in result.output
    again = runner.invoke(cli, ["invoice", "mark-paid", draft.number])
    assert again.exit_code != 0 and "already paid" in again.output
    missing = runner.invoke(cli, ["invoice", "mark-sent", "INV-99999"])
    assert missing.exit_code != 0 and "No invoice INV-99999" in missing.output
    with opened(app):
        messages = list(models.EmailMessage.select())
        payments = list(models.Payment.select())
    assert [m.to for m in messages] == ["payer@test.example"]
    assert "http://portal.test/client/invoice/" in messages[0].body_text
    assert len(payments) == 1 and payments[0].amount == 10000
