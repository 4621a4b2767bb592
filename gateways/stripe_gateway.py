"""Stripe through the official `stripe` package.

Card data is captured by Stripe.js in the browser (a SetupIntent confirmed client-side);
our server only ever sees the PaymentMethod id it returns, and stores the token, brand,
last four and expiry. Charges are PaymentIntents created and confirmed server-side with our
idempotency key, so a retried request cannot charge twice at Stripe either.
"""
from urllib.parse import urlsplit

import stripe

from gateways.base import (
    Capabilities,
    ChargeResult,
    Gateway,
    GatewayError,
    PaymentDeclined,
    SavedMethod,
    SettingField,
)
from i18n import gettext

STRIPE_JS = "https://js.stripe.com/v3/"
FIND_PAGES, FIND_PAGE_SIZE = 10, 100  # how far back find_charge looks: 10 pages of 100


class StripeGateway(Gateway):
    kind = "stripe"
    title = "Card (Stripe)"
    capabilities = Capabilities(token_billing=True, refunds=True, webhooks=True,
                                client_side_capture=True, methods=("card",))
    settings_fields = (
        SettingField("publishable_key", "Publishable key", required=True,
                     prefixes=("pk_test_", "pk_live_"),
                     help="From the Stripe dashboard, Developers → API keys."),
        SettingField("secret_key", "Secret key", secret=True, required=True,
                     prefixes=("sk_test_", "sk_live_", "rk_test_", "rk_live_")),
        SettingField("webhook_secret", "Webhook signing secret", secret=True,
                     prefixes=("whsec_",),
                     help="From the webhook endpoint you add in Stripe for /webhooks/stripe."),
        SettingField("api_base", "API address (testing only)", url=True,
                     help="Leave blank for Stripe itself."),
        SettingField("js_url", "Stripe.js address (testing only)", url=True,
                     help="Leave blank for Stripe itself."),
    )

    @classmethod
    def validate_settings(cls, settings, production=False):
        errors = []
        if production and str(settings.get("secret_key", "")).startswith(("sk_test", "rk_test")):
            errors.append("Use live Stripe keys in production.")
        if production and str(settings.get("publishable_key", "")).startswith("pk_test"):
            errors.append("Use live Stripe keys in production.")
        return errors[:1]

    # -- plumbing ----------------------------------------------------------------------
    @property
    def js_url(self):
        return self.settings.get("js_url") or STRIPE_JS

    @property
    def publishable_key(self):
        return self.settings.get("publishable_key", "")

    def csp(self, base):
        """The page CSP with Stripe.js allowed: only on pages that capture a card."""
        js = _origin(self.js_url)
        api = _origin(self.settings.get("api_base") or "https://api.stripe.com")
        frames = f"{js} https://hooks.stripe.com" if js.startswith("https://js.stripe") else js
        return (base.replace("script-src 'self'", f"script-src 'self' {js}")
                + f"; connect-src 'self' {api} {js}; frame-src {frames}")

    def client(self):
        base = self.settings.get("api_base") or stripe.api_base
        return stripe.StripeClient(
            self.settings.get("secret_key", ""), base_addresses={"api": base},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=float(self.settings.get("timeout", 20))))

    def _call(self, fn, *args, **kwargs):
        """Run one API call; translate Stripe's errors into ours."""
        try:
            return fn(*args, **kwargs)
        except stripe.CardError as exc:
            raise PaymentDeclined(exc.user_message or gettext("Your card was declined.")) from exc
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            raise GatewayError() from exc
        except stripe.InvalidRequestError as exc:
            raise PaymentDeclined(gettext("The card could not be used for this payment. "
                                          "Try another card.")) from exc
        except stripe.StripeError as exc:
            raise GatewayError() from exc

    # -- customers and saved methods ---------------------------------------------------
    def create_customer(self, name, email, client_public_id):
        params = {"name": name[:200], "metadata": {"client": client_public_id}}
        if email:
            params["email"] = email
        return self._call(self.client().v1.customers.create, params=params).id

    def start_setup(self, customer):
        """A SetupIntent whose client secret the page hands to Stripe.js."""
        intent = self._call(self.client().v1.setup_intents.create,
                            params={"customer": customer, "usage": "off_session"})
        return intent.id, intent.client_secret

    def finish_setup(self, setup_intent_id, customer):
        """The card Stripe.js captured for this customer's SetupIntent."""
        api = self.client().v1
        intent = self._call(api.setup_intents.retrieve, str(setup_intent_id)[:100])
        # The id came from the browser: accept only our customer's succeeded intent.
        if intent.customer != customer or intent.status != "succeeded":
            raise PaymentDeclined(gettext("The card was not confirmed. Please enter it again."))
        pm = self._call(api.payment_methods.retrieve, intent.payment_method)
        if pm.customer != customer:
            pm = self._call(api.payment_methods.attach, pm.id, params={"customer": customer})
        card = pm.card
        return SavedMethod(token=pm.id, customer_reference=customer, method_type="card",
                           brand=card.brand or "", last4=card.last4 or "",
                           exp_month=card.exp_month, exp_year=card.exp_year)

    def detach(self, token):
        try:
            self._call(self.client().v1.payment_methods.detach, token)
        except PaymentDeclined:
            pass  # already detached at Stripe: nothing left to forget there

    # -- charges -----------------------------------------------------------------------
    def charge(self, method, amount, currency, *, idempotency_key, metadata=None,
               off_session=False):
        params = {"amount": amount, "currency": currency.lower(), "confirm": True,
                  "payment_method": method.token, "metadata": metadata or {}}
        if method.customer_reference:
            params["customer"] = method.customer_reference
        if off_session:
            params["off_session"] = True
        intent = self._call(self.client().v1.payment_intents.create, params=params,
                            options={"idempotency_key": idempotency_key})
        return self._result(intent)

    def retrieve_charge(self, reference):
        return self._result(self._call(self.client().v1.payment_intents.retrieve, reference))

    def find_charge(self, idempotency_key, metadata):
        """The PaymentIntent we created for an attempt, by the metadata we gave it.

        Listing, not Search: Stripe's search index lags behind by up to a minute or more,
        and a charge it has not indexed yet must never read as "never charged". The list
        comes newest first, and run-due asks within minutes of the attempt, so it is near
        the top. (localstripe, which the tests run against, also has no search.)
        """
        wanted = str((metadata or {}).get("payment", ""))
        api = self.client().v1.payment_intents
        params = {"limit": FIND_PAGE_SIZE}
        found = []
        for _ in range(FIND_PAGES):
            try:
                page = self._call(api.list, params=params)
            except PaymentDeclined as exc:  # a refused lookup says nothing of the charge
                raise GatewayError() from exc
            found += [intent for intent in page.data if _metadata(intent).get("payment")
                      == wanted]
            if not page.has_more or not page.data:
                break
            params["starting_after"] = page.data[-1].id
        else:
            if not found:
                raise GatewayError()  # not among the newest: cannot tell, ask again later
        return self._result(deciding(found)) if found else None

    def cancel_charge(self, reference):
        self._call(self.client().v1.payment_intents.cancel, reference)

    def refund(self, reference, amount=None, idempotency_key=None):
        params = {"payment_intent": reference}
        if amount:
            params["amount"] = amount
        options = {"idempotency_key": idempotency_key} if idempotency_key else {}
        return self._call(self.client().v1.refunds.create, params=params, options=options)

    def _result(self, intent):
        if intent.status == "requires_payment_method":
            # Stripe's own reason ("Your card has insufficient funds."); stripe's objects
            # are read by attribute (they are no longer dicts).
            error = getattr(intent, "last_payment_error", None)
            raise PaymentDeclined(getattr(error, "message", None)
                                  or gettext("Your card was declined. Try another card."))
        if intent.status == "canceled":
            raise PaymentDeclined(gettext("The payment was cancelled."))
        return ChargeResult(reference=intent.id, status=intent.status,
                            client_secret=intent.client_secret or "", amount=intent.amount,
                            currency=str(intent.currency or "").upper())

    # -- webhooks ----------------------------------------------------------------------
    def verify_event(self, payload, signature):
        """The event if the signature is Stripe's for our signing secret, else None."""
        secret = self.settings.get("webhook_secret")
        if not secret or not signature:
            return None
        try:
            return stripe.Webhook.construct_event(payload, signature, secret)
        except (ValueError, stripe.SignatureVerificationError):
            return None


def deciding(intents):
    """Of several PaymentIntents made for one payment, the one that took the money, else one
    still under way, else the first (its state says why nothing was taken)."""
    return min(intents, key=lambda i: {"succeeded": 0, "processing": 1}.get(i.status, 2))


def _metadata(intent):
    metadata = getattr(intent, "metadata", None)
    return metadata.to_dict() if metadata is not None else {}


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
