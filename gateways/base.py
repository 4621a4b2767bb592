"""The one interface every payment gateway implements, and what it can do.

The portal asks a gateway's capabilities (can it save a card? refund? does it capture card
data in the browser?), never its name: that is how "save a card" disappears when a gateway
cannot store one (DESIGN.md §8).
"""
import dataclasses
import json
import typing

from i18n import gettext


class GatewayError(Exception):
    """The gateway did not answer or failed: nothing is known to have moved; try again."""

    retryable = True

    def __init__(self, message=None):
        # Said to the person paying, in their language (i18n.gettext degrades to English).
        message = message or gettext("The payment service did not answer. Nothing was "
                                     "charged; please try again in a moment.")
        super().__init__(message)
        self.message = message


class PaymentDeclined(GatewayError):
    """The gateway answered no (declined card, failed authentication): a definite outcome."""

    retryable = False


def read_settings(text):
    """A gateway's stored settings as a dict: none stored, or text that is not a JSON
    object, reads as no settings."""
    try:
        settings = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return settings if isinstance(settings, dict) else {}


@dataclasses.dataclass(frozen=True)
class Capabilities:
    token_billing: bool = False        # can save a card/account and charge it later
    refunds: bool = False
    webhooks: bool = False
    client_side_capture: bool = False  # card data goes from the browser to the gateway
    online: bool = True                # takes money now (False: instructions, staff record it)
    methods: tuple = ("card",)         # card, bank_account, bank_transfer, cheque


@dataclasses.dataclass(frozen=True)
class SettingField:
    """One setting a gateway needs, as staff see it on the gateway form.

    The back office builds the form from these, and billing.gateway_settings checks what
    staff typed against them: the form never asks which gateway it is showing. A secret
    is never sent back to the browser in full (see masked()).
    """
    name: str
    label: str
    secret: bool = False
    required: bool = False
    prefixes: tuple = ()      # the value must start with one of these ("sk_test_", ...)
    url: bool = False         # an http(s) address
    multiline: bool = False
    max_length: int = 255
    help: str = ""

    def check(self, value):
        """A human message about `value` (already stripped), or None when it is fine."""
        # Inside a sentence the label is lower case, but an acronym ("API") stays one.
        label = " ".join(word if len(word) > 1 and word.isupper() else word.lower()
                         for word in self.label.split(" "))
        if not value:
            return f"Enter the {label}." if self.required else None
        if len(value) > self.max_length:
            return f"The {label} is at most {self.max_length} characters."
        if self.prefixes and not value.startswith(self.prefixes):
            starts = " or ".join(f"“{p}”" for p in self.prefixes)
            return f"The {label} starts with {starts}."
        if self.url and not value.startswith(("https://", "http://")):
            return f"The {label} is an address starting with https://."
        if not self.multiline and any(ch.isspace() for ch in value):
            return f"The {label} has no spaces."
        return None

    def masked(self, value):
        """What the form may show of a stored value: a secret's kind and last four only."""
        value = str(value or "")
        if not self.secret or not value:
            return value
        if len(value) < 16:
            return "•" * 8
        head = value[:value.rfind("_") + 1][:9]
        return f"{head}…{value[-4:]}"


@dataclasses.dataclass
class SavedMethod:
    """What we keep of a card or account: the gateway's token and what a person recognises."""
    token: str
    customer_reference: str = ""
    method_type: str = "card"
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None


@dataclasses.dataclass
class ChargeResult:
    """A charge's outcome: succeeded, or needs the browser (3-D Secure) to finish."""
    reference: str
    status: str  # succeeded, requires_action, processing
    client_secret: str = ""
    method: SavedMethod | None = None
    amount: int | None = None    # what the gateway says it takes, when it says
    currency: str = ""


@dataclasses.dataclass(frozen=True)
class BookedCharge:
    """A charge as a gateway's books keep it."""
    reference: str
    amount: int
    currency: str


class ChargeBook(typing.Protocol):
    """Books for a gateway with no payment service of its own to keep them (the demo
    gateway): what it charged, under which idempotency key, readable from any process.

    billing supplies them (billing/gateway_books.py), so gateways/ knows nothing of where
    they are stored; see keep_charges_in().
    """

    def by_key(self, idempotency_key: str) -> BookedCharge | None: ...

    def by_reference(self, reference: str) -> BookedCharge | None: ...

    def book(self, *, idempotency_key: str, amount: int, currency: str, reference: str,
             payment: str) -> BookedCharge:
        """Keep a new charge. The first charge under a key wins: a second booking under
        it (even at the same moment, from another process) returns the first one."""


class Gateway:
    """Base class: one instance per GatewayConfig row, holding its settings."""

    kind = ""
    title = ""
    capabilities = Capabilities()
    refused_in_production = False
    # What staff fill in on the gateway form (SettingField), in the order shown.
    settings_fields: tuple = ()
    # Origins a page that runs this gateway's browser capture must allow in its CSP.
    script_origins: tuple = ()
    # Where a gateway without a service of its own keeps its charges (a ChargeBook): the
    # one billing installed with keep_charges_in(), unless one is given to the instance.
    charge_book = None

    def __init__(self, config, charge_book=None):
        self.config = config
        if charge_book is not None:
            self.charge_book = charge_book
        self.settings = read_settings(config.settings)

    @property
    def label(self):
        return self.config.label or self.title

    # -- what subclasses implement (only what their capabilities promise) -------------
    @classmethod
    def validate_settings(cls, settings, production=False):
        """Return a list of human messages about settings that cannot work together (each
        field's own checks come from settings_fields)."""
        return []

    def charge(self, method, amount, currency, *, idempotency_key, metadata=None,
               off_session=False):
        """Charge a saved/just-captured method; raise PaymentDeclined or GatewayError.

        off_session: the customer is not there (a scheduled charge), so a charge that would
        need them (3-D Secure) is declined rather than left waiting for them."""
        raise NotImplementedError

    def retrieve_charge(self, reference):
        """Re-read a charge started earlier (e.g. after browser authentication)."""
        raise NotImplementedError

    def find_charge(self, idempotency_key, metadata):
        """The charge made for an attempt whose reference we never stored, or None.

        After a crash between the charge and our bookkeeping only the attempt's idempotency
        key and the metadata we sent ({"payment": public id}) are left to find it by. None
        means the gateway holds no such charge: nothing was taken. Raise GatewayError when
        the gateway cannot tell now (the attempt stays pending and is asked again later).
        """
        raise NotImplementedError

    def cancel_charge(self, reference):
        """Withdraw a charge still waiting for the customer (3-D Secure), so it can never
        take the money later; GatewayError when the gateway refuses (it may have finished)."""
        raise NotImplementedError

    def refund(self, reference, amount, idempotency_key=None):
        """Give `amount` of a charge back (only when capabilities.refunds)."""
        raise NotImplementedError

    def detach(self, token):
        """Forget a saved method at the gateway (the card can no longer be charged)."""

    def instructions(self):
        return ""


def keep_charges_in(book):
    """Give every gateway the ChargeBook it keeps charges in when it has no service of its
    own; billing calls this once, at import, with books in our database."""
    Gateway.charge_book = book
