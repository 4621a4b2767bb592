"""Bank transfer or cheque: the client reads instructions, staff record the payment."""
from gateways.base import Capabilities, Gateway, SettingField


class ManualGateway(Gateway):
    kind = "manual"
    title = "Bank transfer or cheque"
    capabilities = Capabilities(token_billing=False, refunds=False, webhooks=False,
                                client_side_capture=False, online=False,
                                methods=("bank_transfer", "cheque"))
    settings_fields = (
        SettingField("instructions", "Payment instructions", multiline=True, max_length=2000,
                     help="Shown to clients: bank details (IBAN, sort code), who to make "
                          "cheques out to, and that they should quote the invoice number."),
    )

    def instructions(self):
        return self.settings.get("instructions") or (
            "Please pay by bank transfer or cheque and quote the invoice number. "
            "We record your payment when it arrives.")
