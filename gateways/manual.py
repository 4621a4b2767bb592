"""Bank transfer or cheque: the client reads instructions, staff record the payment."""
from gateways.base import Capabilities, Gateway


class ManualGateway(Gateway):
    kind = "manual"
    title = "Bank transfer or cheque"
    capabilities = Capabilities(token_billing=False, refunds=False, webhooks=False,
                                client_side_capture=False, online=False,
                                methods=("bank_transfer", "cheque"))

    def instructions(self):
        return self.settings.get("instructions") or (
            "Please pay by bank transfer or cheque and quote the invoice number. "
            "We record your payment when it arrives.")
