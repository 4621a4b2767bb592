"""An offline sandbox gateway: tokenises test card numbers so every flow can be tried.

No money moves and nothing leaves the server. It accepts only the published test numbers
below (anything else is refused, so a real card number is never kept), stores only the
token, brand, last four and expiry like a real gateway, and refuses to run when
PORTAL_ENV=production.
"""
import datetime as dt
import secrets

from gateways.base import (
    Capabilities,
    ChargeResult,
    Gateway,
    GatewayError,
    PaymentDeclined,
    SavedMethod,
)
from i18n import gettext

# number: (brand, outcome). Outcomes: ok; declined (refused when saved or charged);
# charge_declined (saves, then every charge is declined); error (the gateway fails).
TEST_CARDS = {
    "4242424242424242": ("visa", "ok"),
    "5555555555554444": ("mastercard", "ok"),
    "4000000000000002": ("visa", "declined"),
    "4000000000000341": ("visa", "chargedeclined"),
    "4000000000000119": ("visa", "error"),
}


class DemoGateway(Gateway):
    kind = "demo"
    title = "Demo gateway (test cards only, no money moves)"
    capabilities = Capabilities(token_billing=True, refunds=True, webhooks=False,
                                client_side_capture=False, methods=("card",))
    refused_in_production = True

    @classmethod
    def validate_settings(cls, settings, production=False):
        if production:
            return ["The demo gateway cannot be used when PORTAL_ENV=production."]
        return []

    def tokenize(self, number, exp_month, exp_year, cvc, today=None):
        """Turn a test card into a token; raise PaymentDeclined with a plain reason."""
        number = "".join((number or "").split())
        if number not in TEST_CARDS:
            raise PaymentDeclined(gettext("The demo gateway accepts only test card numbers, "
                                          "for example 4242 4242 4242 4242."))
        try:
            month, year = int(exp_month), int(exp_year)
        except (TypeError, ValueError):
            raise PaymentDeclined(gettext("Enter the card's expiry month and year.")) from None
        year = year + 2000 if year < 100 else year
        today = today or dt.datetime.now(dt.UTC).date()  # UTC, like every date we keep
        if not 1 <= month <= 12 or (year, month) < (today.year, today.month) or year > 2100:
            raise PaymentDeclined(gettext("The card's expiry date is not valid."))
        if not (cvc or "").isdigit() or len(cvc) not in (3, 4):
            raise PaymentDeclined(
                gettext("Enter the 3-digit security code from the back of the card."))
        brand, outcome = TEST_CARDS[number]
        if outcome == "declined":
            raise PaymentDeclined(gettext("Your card was declined. Try another card."))
        return SavedMethod(token=f"demo_{outcome}_{secrets.token_hex(8)}",
                           customer_reference="demo", brand=brand, last4=number[-4:],
                           exp_month=month, exp_year=year)

    def charge(self, method, amount, currency, *, idempotency_key, metadata=None,
               off_session=False):
        outcome = method.token.split("_")[1] if method.token.startswith("demo_") else ""
        if outcome == "error":
            raise GatewayError()
        if outcome != "ok":
            raise PaymentDeclined(gettext("Your card was declined. Try another card."))
        # Like Stripe: a key already charged answers with that charge, never a second one.
        books = self.books()
        charge = books.by_key(idempotency_key) or books.book(
            idempotency_key=idempotency_key, amount=amount, currency=currency.upper(),
            reference=f"demo_ch_{secrets.token_hex(10)}",
            payment=str((metadata or {}).get("payment", "")))
        if (charge.amount, charge.currency) != (amount, currency.upper()):
            raise PaymentDeclined(gettext("This payment form was already used for another "
                                          "amount. Please start again."))
        return _result(charge)

    def retrieve_charge(self, reference):
        charge = self.books().by_reference(reference)
        if charge is None:
            raise PaymentDeclined(gettext("The demo gateway has no such charge."))
        return _result(charge)

    def find_charge(self, idempotency_key, metadata):
        charge = self.books().by_key(idempotency_key)
        return _result(charge) if charge is not None else None

    def books(self):
        """Its own books (a ChargeBook), standing in for a payment service's records."""
        if self.charge_book is None:
            raise RuntimeError("The demo gateway has no books: billing installs them "
                               "(gateways.base.keep_charges_in) when it is imported.")
        return self.charge_book

    def refund(self, reference, amount, idempotency_key=None):
        return {"id": f"demo_re_{secrets.token_hex(8)}", "amount": amount}


def _result(charge):
    return ChargeResult(reference=charge.reference, status="succeeded", amount=charge.amount,
                        currency=charge.currency)
