"""The schema, and the state that belongs to one record.

Money is integer minor units beside a currency code (DESIGN.md §4). Timestamps are naive UTC.
Rules that span records (payments, conversion, numbering) live in billing/.
"""
import copy
import datetime as dt
import hashlib
import json
import secrets

from flask_login import UserMixin
from peewee import (
    JOIN,
    BigIntegerField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    DecimalField,
    DeferredForeignKey,
    ForeignKeyField,
    IntegerField,
    Model,
    PostgresqlDatabase,
    SqliteDatabase,
    TextField,
    fn,
)
from playhouse.migrate import SchemaMigrator, migrate
from werkzeug.security import check_password_hash, generate_password_hash

db = DatabaseProxy()


def on_sqlite():
    """Pooled or not: the locking strategy depends on the engine, not the class name."""
    return isinstance(db.obj, SqliteDatabase)


def on_postgres():
    return isinstance(db.obj, PostgresqlDatabase)


def utcnow():
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def new_public_id():
    """Opaque id for portal URLs: a row number would leak volume and invite guessing."""
    return secrets.token_urlsafe(12)


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


class BaseModel(Model):
    class Meta:
        database = db


class PublicModel(BaseModel):
    public_id = CharField(max_length=24, unique=True, default=new_public_id)


class Company(BaseModel):
    """The business running the portal (one row) and its portal settings."""
    name = CharField(max_length=200)
    email = CharField(max_length=254, default="")
    address = TextField(default="")
    logo_url = CharField(max_length=500, default="")
    brand_color = CharField(max_length=7, default="#1f5fbf")
    currency = CharField(max_length=3, default="USD")
    locale = CharField(max_length=10, default="en_US")
    timezone = CharField(max_length=64, default="UTC")
    # Comma-separated tab keys the business switched off (see views.tabs.TABS).
    disabled_modules = TextField(default="")
    require_invitation_password = BooleanField(default=False)
    registration_enabled = BooleanField(default=False)
    invoice_terms = TextField(default="")
    quote_terms = TextField(default="")
    allow_partial_payments = BooleanField(default=False)
    minimum_partial_payment = BigIntegerField(default=0)
    allow_over_payment = BooleanField(default=False)
    prepayments_enabled = BooleanField(default=False)
    minimum_prepayment = BigIntegerField(default=0)
    quote_requires_terms = BooleanField(default=False)
    quote_requires_signature = BooleanField(default=False)
    invitation_ttl_days = IntegerField(default=90)
    phone = CharField(max_length=50, default="")
    vat_number = CharField(max_length=50, default="")
    # The uploaded logo under the instance's uploads folder, named by its content (see
    # billing.company_settings.save_branding); "" when none. Wins over logo_url.
    logo_file = CharField(max_length=64, default="")
    # Off: contacts reach the portal only through e-mailed links (billing.company_settings).
    portal_login_enabled = BooleanField(default=True)
    # JSON {field: "required" | "optional" | "hidden"} for /client/register; "" = defaults.
    registration_fields = TextField(default="")
    quote_requires_po_number = BooleanField(default=False)
    # Issuing an invoice applies the client's unapplied payments to it (billing.applying).
    auto_apply_prepayments = BooleanField(default=False)
    # E-mail a receipt (PDF attached) for every completed payment (billing.receipts).
    send_receipts = BooleanField(default=True)
    # Invoice and quote e-mails carry the document's PDF beside their link.
    attach_pdf_to_emails = BooleanField(default=False)
    # JSON [{"days": n, "enabled": bool}] (at most three; days from the due date, negative
    # before it) and the late fee: kind "", "fixed" (value in minor units of `currency`) or
    # "percent" (value in hundredths of a percent of the balance). See billing.reminders.
    reminder_rules = TextField(default="")
    late_fee_kind = CharField(max_length=8, default="")
    late_fee_value = BigIntegerField(default=0)
    # The reasons a contact picks from when cancelling a subscription, one a line; "" = the
    # defaults (billing.company_settings.cancellation_reasons).
    cancellation_reasons = TextField(default="")
    # What a subscription becomes once auto-bill gives up on a renewal's charge: "past_due"
    # (keeps renewing) or "suspended" (no renewals until paid). See billing.renewals.
    failed_renewal_status = CharField(max_length=16, default="past_due")
    # Contacts may edit their client's billing and shipping address and VAT number.
    contacts_edit_billing_details = BooleanField(default=False)
    # Contacts must turn on two-factor sign-in before they can use the portal.
    require_two_factor = BooleanField(default=False)

    @classmethod
    def current(cls):
        # Read on every request: the SQL is built once (see prepared.py).
        from prepared import model_fields, prepared
        found = prepared("company", lambda: cls.select(*model_fields(cls)).order_by(cls.id).limit(
            1)).first_models(cls)
        return found[0] if found else None

    def module_enabled(self, key):
        return key not in {m.strip() for m in (self.disabled_modules or "").split(",")}


class Sequence(BaseModel):
    """Next document number per kind; bumped inside the transaction that uses it."""
    name = CharField(max_length=32, unique=True)
    prefix = CharField(max_length=16, default="")
    next_value = IntegerField(default=1)


def new_session_token():
    return secrets.token_hex(16)


class SessionOwner:
    """A login whose sessions carry `session_token`: a session signed with an old token is
    refused, so rotating it ends every session on the server, copied cookies included."""

    def end_sessions(self):
        self.session_token = new_session_token()
        type(self).update(session_token=self.session_token).where(
            type(self).id == self.id).execute()


class StaffUser(SessionOwner, BaseModel, UserMixin):
    email = CharField(max_length=254, unique=True)
    name = CharField(max_length=200, default="")
    password_hash = CharField(max_length=255)
    is_active = BooleanField(default=True)
    # Kept in the staff session and checked on every request: logout, a password change or
    # deactivation (is_active) ends the session even where a copy of the cookie survives.
    session_token = CharField(max_length=32, default=new_session_token)
    created_at = DateTimeField(default=utcnow)

    @classmethod
    def for_session(cls, staff_id, token):
        """The active staff member a session names, or None when that session was ended."""
        if not isinstance(staff_id, int) or not token:
            return None
        return cls.get_or_none((cls.id == staff_id) & (cls.is_active == True)  # noqa: E712
                               & (cls.session_token == token))

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)
        self.session_token = new_session_token()

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)


class ApiToken(BaseModel):
    staff = ForeignKeyField(StaffUser, backref="api_tokens", on_delete="CASCADE")
    name = CharField(max_length=100, default="")
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)


class Client(PublicModel):
    name = CharField(max_length=200)
    number = CharField(max_length=32, default="")
    email = CharField(max_length=254, default="")
    address = TextField(default="")  # the billing address
    shipping_address = TextField(default="")
    vat_number = CharField(max_length=50, default="")
    # The portal's and documents' language for this client's contacts; "" = the company's.
    locale = CharField(max_length=10, default="")
    currency = CharField(max_length=3, default="USD")
    balance = BigIntegerField(default=0)
    paid_to_date = BigIntegerField(default=0)
    # How many invoices the portal lists (left draft, not archived), kept by the services
    # that change it: counting 10,000 rows on every page view would cost more than the page.
    listed_invoices = IntegerField(default=0)
    archived_at = DateTimeField(null=True, index=True)
    created_at = DateTimeField(default=utcnow)

    @classmethod
    def recount_listed_invoices(cls):
        """Repair the counter from the rows (after bulk loads; `portal init` runs it)."""
        listed = (Invoice.select(fn.COUNT(Invoice.id))
                  .where((Invoice.client == cls.id) & (Invoice.status != "draft")
                         & Invoice.archived_at.is_null()))
        cls.update(listed_invoices=listed).execute()


class Contact(SessionOwner, PublicModel, UserMixin):
    client = ForeignKeyField(Client, backref="contacts", on_delete="CASCADE")
    first_name = CharField(max_length=100, default="")
    last_name = CharField(max_length=100, default="")
    email = CharField(max_length=254, unique=True)
    phone = CharField(max_length=50, default="")
    locale = CharField(max_length=10, default="")
    is_primary = BooleanField(default=False)
    is_active = BooleanField(default=True)
    password_hash = CharField(max_length=255, default="")
    # Part of the session's user id: changing it (logout, password change) signs out every
    # session of this contact.
    session_token = CharField(max_length=32, default=new_session_token)
    last_login_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    # False only for a self-registered contact until they follow the e-mailed link; the
    # default keeps every contact made before (by staff, the API or an import) able to log in.
    email_verified = BooleanField(default=True)
    pending_email = CharField(max_length=254, default="")  # asked for, not yet confirmed
    # How many other clients this contact acts for (ClientAccess rows), kept by
    # billing.client_access: the page shows the client switcher without a query of its own.
    other_clients = IntegerField(default=0)

    @property
    def name(self):
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_id(self):
        return f"{self.id}:{self.session_token}"

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)
        self.session_token = new_session_token()

    def check_password(self, password):
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def may_sign_in(self):
        """Archiving a client closes its portal without deleting a row: its contacts' logins,
        sessions, e-mailed links and payments all stop, as for a deactivated contact."""
        return self.is_active and self.client.archived_at is None

    @classmethod
    def with_client(cls, contact_id):
        """The contact and its client in one query, or None. Every portal request loads its
        contact and most show or use the client; the SQL is built once (see prepared.py)."""
        found = cls.with_client_and_company(contact_id)
        return found[0] if found else None

    @classmethod
    def with_client_and_company(cls, contact_id):
        """(contact, company or None) in one query, or None: a portal request needs both,
        and the company's row costs a round trip of its own otherwise (a tab's budget is
        about three queries, STYLE.md pattern 10)."""
        from prepared import model_fields, prepared, slot
        first = Company.select(fn.MIN(Company.id))
        found = prepared("contact-with-client-and-company", lambda: cls.select(
            *model_fields(cls, Client, Company)).join(Client).switch(cls).join(
            Company, JOIN.LEFT_OUTER, on=(Company.id == first)).where(
            cls.id == slot("id"))).first_models(cls, Client, Company, id=contact_id)
        if found is None:
            return None
        contact, contact.client, company = found
        contact._dirty.clear()  # attaching the loaded client is not a change to save
        return contact, (company if company.id is not None else None)

    def act_for(self, client):
        """For this request, the contact acts for `client` (one they have ClientAccess to):
        every scoped query reads `contact.client`, so the whole portal follows. In memory
        only: save() still writes the home client."""
        if self.client_id == client.id:
            return self
        self.__dict__.setdefault("_home_client", self.client)
        self.client = client
        self._dirty.discard("client")
        return self

    @property
    def home_client_id(self):
        home = self.__dict__.get("_home_client")
        return home.id if home is not None else self.client_id

    def save(self, *args, **kwargs):
        home = self.__dict__.get("_home_client")
        if home is None or home.id == self.client_id:
            return super().save(*args, **kwargs)
        acting = self.client
        self.client = home  # the client acted for is never written as the home client
        try:
            return super().save(*args, **kwargs)
        finally:
            self.client = acting
            self._dirty.discard("client")


class ClientAccess(BaseModel):
    """This contact also acts for this client (besides their own, Contact.client): one login,
    switching between clients in the portal (billing.client_access)."""
    contact = ForeignKeyField(Contact, backref="client_accesses", on_delete="CASCADE")
    client = ForeignKeyField(Client, backref="contact_accesses", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("contact", "client"), True),)


class BillingDocument(PublicModel):
    """What invoices, quotes, credits and recurring templates share: priced lines and their
    totals in the currency's minor units."""
    currency = CharField(max_length=3)
    discount = BigIntegerField(default=0)  # whole-document discount, minor units
    subtotal = BigIntegerField(default=0)
    tax_total = BigIntegerField(default=0)
    total = BigIntegerField(default=0)
    notes = TextField(default="")
    terms = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    def ordered_lines(self):
        return list(self.lines.order_by(LineItem.position))


class IssuedDocument(BillingDocument):
    """An invoice, quote or credit: issued to the client and shown once out of draft."""
    footer = TextField(default="")
    archived_at = DateTimeField(null=True)

    @classmethod
    def for_client(cls, client):
        """What a contact may see: the client's records that have left draft."""
        return cls.select().where(
            (cls.client == client) & (cls.status != "draft") & cls.archived_at.is_null())


class RecurringInvoice(BillingDocument):
    FREQUENCIES = ("daily", "weekly", "fortnightly", "monthly", "quarterly", "yearly")
    client = ForeignKeyField(Client, backref="recurring_invoices", on_delete="CASCADE")
    number = CharField(max_length=32)
    status = CharField(max_length=16, default="draft")  # draft, active, paused, completed
    frequency = CharField(max_length=16, default="monthly")
    start_date = DateField()
    next_send_date = DateField(null=True, index=True)
    remaining_cycles = IntegerField(default=-1)  # -1: until stopped
    due_days = IntegerField(default=30)
    # Kept in step with auto_bill_mode (True unless "off") for readers of the old yes/no.
    auto_bill = BooleanField(default=False)
    # off, always, optin (charged once the contact turns it on), optout (charged unless the
    # contact turns it off); see billing/autobill.py.
    auto_bill_mode = CharField(max_length=8, default="off")
    # The contact's answer under optin/optout: "yes", "no", or "" (never answered: the
    # mode's default applies, so a later change of mode still means what it says).
    auto_bill_choice = CharField(max_length=3, default="")


class InvoiceStatus:
    """What an invoice's status means to a client: shared by the model and by list rows."""

    # What a client reads: "sent" is the business's word; the client sees what they owe.
    STATUS_LABELS = {"sent": "Unpaid", "partial": "Partially paid", "paid": "Paid",
                     "overdue": "Overdue", "cancelled": "Cancelled", "void": "Void",
                     "draft": "Draft"}

    def is_overdue(self, today=None):
        today = today or utcnow().date()
        return (self.status in ("sent", "partial") and self.balance > 0
                and self.due_date is not None and self.due_date < today)

    @property
    def is_payable(self):
        return self.status in ("sent", "partial") and self.balance > 0

    @property
    def balance_due(self):
        """What the client owes on it: a cancelled or void invoice owes nothing, whatever
        balance it was left with."""
        return 0 if self.status in ("cancelled", "void") else self.balance

    def display_status(self, today=None):
        return "overdue" if self.is_overdue(today) else self.status

    def status_label(self, today=None):
        return self.STATUS_LABELS[self.display_status(today)]


class Invoice(InvoiceStatus, IssuedDocument):
    STATUSES = ("draft", "sent", "partial", "paid", "cancelled", "void")
    client = ForeignKeyField(Client, backref="invoices", on_delete="CASCADE")
    recurring = ForeignKeyField(RecurringInvoice, null=True, backref="invoices",
                                on_delete="SET NULL")
    number = CharField(max_length=32)
    status = CharField(max_length=16, default="draft", index=True)
    date = DateField()
    due_date = DateField(null=True)
    po_number = CharField(max_length=64, default="")
    balance = BigIntegerField(default=0)
    partial = BigIntegerField(default=0)  # deposit due first, 0 when none
    partial_due_date = DateField(null=True)
    sent_at = DateTimeField(null=True)
    viewed_at = DateTimeField(null=True)
    # The subscription whose period this invoice bills (Subscription is defined further down).
    # No index: create_tables() would create it before it adds the column to an existing
    # table; a subscription's invoices are read within one client's, which are indexed.
    subscription = DeferredForeignKey("Subscription", null=True, backref="invoices",
                                      on_delete="SET NULL", index=False)

    class Meta:
        # A contact's list reads one client's rows in date order and stops after a page.
        # (client, archived_at, status) covers the visibility filter, so counting a client's
        # invoices for the pager reads only the index.
        # The statement's sums read one client's counted invoices before and during a period
        # as two date ranges of one index holding every column they read, so each reads the
        # index alone and only its own rows (statements._sums_query).
        indexes = ((("client", "date"), False), (("client", "due_date"), False),
                   (("client", "number"), False), (("client", "archived_at", "status"), False),
                   (("client", "currency", "date", "status", "total"), False))

    @property
    def amount_due_now(self):
        """The deposit when one is set and unpaid, else the balance."""
        if self.partial and self.partial < self.balance:
            return self.partial
        return self.balance


# The statement's ageing reads only what is owed, usually a small part of an account: an
# index of those rows alone, holding every column the ageing reads.
Invoice.add_index(Invoice.index(Invoice.client, Invoice.currency, Invoice.date,
                                Invoice.due_date, Invoice.balance, Invoice.status,
                                where=(Invoice.balance > 0)))


class Quote(IssuedDocument):
    STATUSES = ("draft", "sent", "approved", "converted", "declined", "expired")
    client = ForeignKeyField(Client, backref="quotes", on_delete="CASCADE")
    number = CharField(max_length=32)
    status = CharField(max_length=16, default="draft", index=True)
    date = DateField()
    valid_until = DateField(null=True)
    invoice = ForeignKeyField(Invoice, null=True, backref="quotes", on_delete="SET NULL")
    approved_by = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    approved_at = DateTimeField(null=True)
    approved_ip = CharField(max_length=45, default="")
    signature = TextField(default="")  # data: URL of the drawn signature
    declined_reason = TextField(default="")
    sent_at = DateTimeField(null=True)
    viewed_at = DateTimeField(null=True)

    class Meta:
        # The portal's list reads one client's rows newest first and stops after a page;
        # (client, archived_at, status) covers its visibility filter, so its COUNT reads
        # only the index (as Invoice's).
        indexes = ((("client", "date"), False), (("client", "archived_at", "status"), False))

    def is_expired(self, today=None):
        today = today or utcnow().date()
        return self.status == "sent" and self.valid_until is not None and self.valid_until < today

    def display_status(self, today=None):
        return "expired" if self.is_expired(today) else self.status


class Credit(IssuedDocument):
    STATUSES = ("draft", "sent", "partial", "applied", "void")
    client = ForeignKeyField(Client, backref="credits", on_delete="CASCADE")
    number = CharField(max_length=32)
    status = CharField(max_length=16, default="draft", index=True)
    date = DateField()
    balance = BigIntegerField(default=0)
    reason = CharField(max_length=32, default="adjustment")  # refund, adjustment, overpayment

    class Meta:
        # The portal's list reads one client's rows newest first and stops after a page;
        # (client, archived_at, status) covers its visibility filter, so its COUNT reads
        # only the index (as Invoice's), and with currency and balance the tab's "Available"
        # sums read only the index too.
        # The statement reads money in as two date ranges and open credit up to a date:
        # (client, currency, date, ...) holds every column those sums read.
        indexes = ((("client", "date"), False),
                   (("client", "archived_at", "status", "currency", "balance"), False),
                   (("client", "currency", "date", "status", "reason", "total", "balance",
                     "archived_at"), False))


class Product(BaseModel):
    """Something the business sells, picked to fill a document's line; the company's currency."""
    name = CharField(max_length=100)
    description = TextField(default="")
    price = BigIntegerField(default=0)  # minor units of Company.currency
    tax_name = CharField(max_length=50, default="")
    tax_rate = DecimalField(max_digits=7, decimal_places=3, default=0, auto_round=True)
    archived_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    @classmethod
    def active(cls):
        return cls.select().where(cls.archived_at.is_null()).order_by(cls.name, cls.id)


class LineItem(BaseModel):
    """A line of exactly one invoice, quote, credit or recurring template."""
    invoice = ForeignKeyField(Invoice, null=True, backref="lines", on_delete="CASCADE")
    quote = ForeignKeyField(Quote, null=True, backref="lines", on_delete="CASCADE")
    credit = ForeignKeyField(Credit, null=True, backref="lines", on_delete="CASCADE")
    recurring = ForeignKeyField(RecurringInvoice, null=True, backref="lines", on_delete="CASCADE")
    position = IntegerField(default=0)
    product = CharField(max_length=100, default="")
    description = TextField(default="")
    quantity = DecimalField(max_digits=14, decimal_places=4, default=1, auto_round=True)
    unit_cost = BigIntegerField(default=0)
    discount_percent = DecimalField(max_digits=7, decimal_places=3, default=0, auto_round=True)
    tax_name = CharField(max_length=50, default="")
    tax_rate = DecimalField(max_digits=7, decimal_places=3, default=0, auto_round=True)
    amount = BigIntegerField(default=0)  # after line discount, before tax
    tax_amount = BigIntegerField(default=0)


class GatewayConfig(BaseModel):
    """A gateway the business enabled; secrets live here, set by staff (DESIGN.md §6)."""
    TOKEN_MODES = ("always", "optin", "optout", "off")
    kind = CharField(max_length=32)  # key in gateways.REGISTRY
    label = CharField(max_length=100, default="")
    settings = TextField(default="{}")  # JSON
    token_mode = CharField(max_length=8, default="optin")
    is_enabled = BooleanField(default=True)
    position = IntegerField(default=0)


class GatewayToken(PublicModel):
    """A saved card or bank account: only the gateway's token and what a person recognises."""
    client = ForeignKeyField(Client, backref="payment_methods", on_delete="CASCADE")
    gateway = ForeignKeyField(GatewayConfig, backref="tokens", on_delete="CASCADE")
    token = CharField(max_length=255)
    customer_reference = CharField(max_length=255, default="")
    method_type = CharField(max_length=16, default="card")  # card, bank_account
    brand = CharField(max_length=32, default="")
    last4 = CharField(max_length=4, default="")
    exp_month = IntegerField(null=True)
    exp_year = IntegerField(null=True)
    is_default = BooleanField(default=False)
    created_by_contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    created_by_staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    deleted_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    @classmethod
    def for_client(cls, client):
        return cls.select().where((cls.client == client) & cls.deleted_at.is_null())


class GatewayCustomer(BaseModel):
    """The gateway's customer record for a client (e.g. Stripe cus_...), created once."""
    client = ForeignKeyField(Client, backref="gateway_customers", on_delete="CASCADE")
    gateway = ForeignKeyField(GatewayConfig, backref="customers", on_delete="CASCADE")
    reference = CharField(max_length=255)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("client", "gateway"), True),)


class Payment(PublicModel):
    STATUSES = ("pending", "completed", "failed", "cancelled", "refunded", "partially_refunded")
    client = ForeignKeyField(Client, backref="payments", on_delete="CASCADE")
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    number = CharField(max_length=32, default="")
    status = CharField(max_length=20, default="pending", index=True)
    date = DateField()
    currency = CharField(max_length=3)
    amount = BigIntegerField()
    applied = BigIntegerField(default=0)
    refunded = BigIntegerField(default=0)
    method = CharField(max_length=32, default="")  # card, bank_transfer, cheque, cash, credit
    method_label = CharField(max_length=100, default="")  # "Visa •••• 4242"
    gateway = ForeignKeyField(GatewayConfig, null=True, on_delete="SET NULL")
    gateway_reference = CharField(max_length=255, null=True, index=True)
    idempotency_key = CharField(max_length=100, null=True, unique=True)
    reference = CharField(max_length=100, default="")
    is_prepayment = BooleanField(default=False)
    failure_message = TextField(default="")
    notes = TextField(default="")
    # JSON of billing.allocation.Plan: what to apply once the gateway confirms the money.
    plan = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        # The Payments list and the statement read one client's payments by date; the
        # list's COUNT of the shown statuses reads only (client, status).
        # The statement's sums of money in read this one alone, as two date ranges.
        indexes = ((("client", "date"), False), (("client", "status"), False),
                   (("client", "currency", "date", "status", "method", "amount", "refunded",
                     "applied"), False))

    @classmethod
    def for_client(cls, client):
        return cls.select().where(cls.client == client)

    @property
    def unapplied(self):
        return self.amount - self.applied - self.refunded

    # What a client reads for a method without a gateway's label ("Visa •••• 4242").
    METHOD_NAMES = {"card": "Card", "bank_transfer": "Bank transfer", "cheque": "Cheque",
                    "cash": "Cash", "credit": "Credit", "manual": "Payment recorded"}

    @property
    def method_name(self):
        """How the money came, as the client's pages, receipts and e-mails say it. A "manual"
        payment is staff marking an invoice paid: its label ("Marked paid") is a note for
        staff, not a way of paying."""
        if self.method_label and self.method != "manual":
            return self.method_label
        return self.METHOD_NAMES.get(self.method) or self.method.replace("_", " ").capitalize()

    @property
    def has_unapplied(self):
        """Money received and kept, matched to no invoice yet (billing.applying)."""
        return (self.status in ("completed", "partially_refunded") and self.method != "credit"
                and self.unapplied > 0)


# What a payment brought in that no invoice has taken, as SQL. The statement's unapplied money
# reads only the payments that still have some, usually none of an account's: an index of
# those rows alone (named, since its columns are those of the index above and the generated
# name would be the same). A query uses a partial index only when its condition matches the
# index's, hence one expression for both.
PAYMENT_UNAPPLIED = Payment.amount - Payment.applied - Payment.refunded
Payment.add_index(Payment.index(
    Payment.client, Payment.currency, Payment.date, Payment.status, Payment.method,
    Payment.amount, Payment.refunded, Payment.applied,
    where=(PAYMENT_UNAPPLIED > 0), name="payment_unapplied"))


class AutoBill(BaseModel):
    """One recurring invoice's automatic charge: made with the invoice, charged by run-due.

    status: due, charging, processing (the gateway has not settled yet), retry, paid,
    failed (gave up after the last attempt), unpaid (no saved method or nobody to charge
    for), skipped (paid or closed some other way first).
    """
    invoice = ForeignKeyField(Invoice, unique=True, backref="auto_bills", on_delete="CASCADE")
    status = CharField(max_length=16, default="due", index=True)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(null=True)  # None: as soon as run-due gets to it
    claimed_at = DateTimeField(null=True)
    payment = ForeignKeyField(Payment, null=True, on_delete="SET NULL")
    last_error = TextField(default="")
    created_at = DateTimeField(default=utcnow)


class PaymentAllocation(BaseModel):
    """Part of a payment applied to an invoice, or credit spent on an invoice."""
    payment = ForeignKeyField(Payment, backref="allocations", on_delete="CASCADE")
    invoice = ForeignKeyField(Invoice, null=True, backref="allocations", on_delete="CASCADE")
    credit = ForeignKeyField(Credit, null=True, backref="allocations", on_delete="CASCADE")
    amount = BigIntegerField()
    refunded = BigIntegerField(default=0)
    created_at = DateTimeField(default=utcnow)


class DemoCharge(BaseModel):
    """The demo gateway's own books: what it charged, under which idempotency key.

    It stands in for a payment service's records, so a charge our side lost track of (a
    crash before the bookkeeping) can be found again by key, offline, from any process.
    """
    idempotency_key = CharField(max_length=100, unique=True)
    reference = CharField(max_length=40, unique=True)
    amount = BigIntegerField()
    currency = CharField(max_length=3)
    payment = CharField(max_length=24, default="")  # our Payment's public id (metadata)
    created_at = DateTimeField(default=utcnow)


class Document(PublicModel):
    client = ForeignKeyField(Client, backref="documents", on_delete="CASCADE")
    invoice = ForeignKeyField(Invoice, null=True, backref="documents", on_delete="CASCADE")
    quote = ForeignKeyField(Quote, null=True, backref="documents", on_delete="CASCADE")
    filename = CharField(max_length=255)
    content_type = CharField(max_length=100, default="application/octet-stream")
    size = BigIntegerField(default=0)
    storage_name = CharField(max_length=64)  # file name under instance/uploads
    is_public = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("client", "created_at"), False),)  # the Documents list, newest first

    @classmethod
    def for_client(cls, client):
        """The client's shared files. A file attached to an invoice or quote belongs to that
        record, so it is shared only while the contact may see the record: hidden, not just
        unnamed, under a draft (a timesheet or spec would reveal what the draft holds before
        the business sends it), an archived record or another client's. It appears, with
        the record's number, once the record is sent."""
        return cls.select().where(
            (cls.client == client) & (cls.is_public == True)  # noqa: E712
            & (cls.invoice.is_null()
               | cls.invoice.in_(Invoice.for_client(client).select(Invoice.id)))
            & (cls.quote.is_null()
               | cls.quote.in_(Quote.for_client(client).select(Quote.id))))


class Plan(PublicModel):
    """A subscription the business sells (the API's `subscriptions`): what each period costs
    and what a subscriber may do with it. Rules live in billing/subscriptions.py."""
    CANCELLATION = ("not_allowed", "at_period_end", "immediately")
    name = CharField(max_length=100)
    description = TextField(default="")
    price = BigIntegerField()  # per period and per unit, minor units of `currency`
    currency = CharField(max_length=3)
    frequency = CharField(max_length=16, default="monthly")  # a billing.schedule.FREQUENCIES key
    trial_days = IntegerField(default=0)
    setup_fee = BigIntegerField(default=0)  # once, on the first invoice
    min_quantity = IntegerField(default=1)
    max_quantity = IntegerField(null=True)  # None: no upper limit
    cancellation = CharField(max_length=16, default="at_period_end")
    # Kept in step with `cancellation` for code that only asks yes or no.
    allow_cancellation = BooleanField(default=True)
    allow_plan_changes = BooleanField(default=True)
    # Subscribers may switch only between plans of the same (non-blank) group.
    plan_group = CharField(max_length=50, default="")
    # Clients may pause billing and resume it later (billing/plan_changes.py).
    allow_pause = BooleanField(default=False)
    is_active = BooleanField(default=True)  # False once archived: sold no more
    archived_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)


class Subscription(PublicModel):
    # incomplete: bought from the purchase page, its first invoice not paid yet; it grants
    # nothing and bills nothing until that invoice is paid (billing.subscription_purchase).
    STATUSES = ("active", "past_due", "suspended", "paused", "cancelled", "ended", "incomplete")
    client = ForeignKeyField(Client, backref="subscriptions", on_delete="CASCADE")
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    plan = ForeignKeyField(Plan, backref="subscriptions")
    status = CharField(max_length=16, default="active")  # one of STATUSES
    started_at = DateField()
    quantity = IntegerField(default=1)
    # The price per unit agreed when subscribing; None: the plan's current price.
    unit_price = BigIntegerField(null=True)
    trial_ends_on = DateField(null=True)
    current_period_start = DateField(null=True)
    current_period_end = DateField(null=True)
    next_billing_date = DateField(null=True, index=True)
    cancel_at_period_end = BooleanField(default=False)
    ends_on = DateField(null=True)
    cancelled_at = DateTimeField(null=True)
    payment_method = ForeignKeyField(GatewayToken, null=True, on_delete="SET NULL")
    # The purchase form's idempotency key: a double submit or a retry finds this row.
    purchase_key = CharField(max_length=100, null=True, unique=True)
    created_at = DateTimeField(default=utcnow)
    # The day billing was paused (status "paused"); resuming shifts the period by the pause.
    paused_on = DateField(null=True)

    # What a client reads for each display_status().
    STATUS_LABELS = {"trial": "Trial", "active": "Active", "ending": "Ending",
                     "past_due": "Past due", "suspended": "Suspended", "paused": "Paused",
                     "cancelled": "Cancelled", "ended": "Ended", "incomplete": "Awaiting payment"}

    @classmethod
    def for_client(cls, client):
        return cls.select().where(cls.client == client)

    @property
    def price(self):
        return self.plan.price if self.unit_price is None else self.unit_price

    @property
    def amount(self):
        """What each period costs: price per unit times quantity."""
        return self.price * self.quantity

    def in_trial(self, today=None):
        today = today or utcnow().date()
        return (self.status == "active" and self.trial_ends_on is not None
                and today < self.trial_ends_on)

    def display_status(self, today=None):
        if self.status == "active" and self.cancel_at_period_end:
            return "ending"
        if self.in_trial(today):
            return "trial"
        return self.status

    def status_label(self, today=None):
        return self.STATUS_LABELS[self.display_status(today)]

    @property
    def billing_continues(self):
        return self.status in ("active", "past_due") and not self.cancel_at_period_end


class PrepaymentSchedule(PublicModel):
    """A contact's recurring pre-payment: charge a saved method every period."""
    client = ForeignKeyField(Client, backref="prepayment_schedules", on_delete="CASCADE")
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    payment_method = ForeignKeyField(GatewayToken, null=True, on_delete="SET NULL")
    amount = BigIntegerField()
    currency = CharField(max_length=3)
    frequency = CharField(max_length=16, default="monthly")
    remaining_cycles = IntegerField(default=-1)
    next_date = DateField(null=True, index=True)
    status = CharField(max_length=16, default="active")  # active, paused, stopped, completed
    created_at = DateTimeField(default=utcnow)
    # The first payment's date: month-based periods keep its day (the 31st stays the 31st).
    start_date = DateField(null=True)
    note = TextField(default="")
    # Declined attempts at the period next_date names; too many pause the schedule.
    failed_attempts = IntegerField(default=0)
    last_error = TextField(default="")

    @classmethod
    def for_client(cls, client):
        return cls.select().where(cls.client == client)


class Invitation(BaseModel):
    """An e-mailed link that logs one contact in to one record. Only the key's hash is kept."""
    contact = ForeignKeyField(Contact, backref="invitations", on_delete="CASCADE")
    invoice = ForeignKeyField(Invoice, null=True, backref="invitations", on_delete="CASCADE")
    quote = ForeignKeyField(Quote, null=True, backref="invitations", on_delete="CASCADE")
    credit = ForeignKeyField(Credit, null=True, backref="invitations", on_delete="CASCADE")
    key_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    viewed_at = DateTimeField(null=True)

    @classmethod
    def issue(cls, contact, ttl_days, **record):
        key = secrets.token_urlsafe(32)
        cls.create(contact=contact, key_hash=hash_token(key),
                   expires_at=utcnow() + dt.timedelta(days=ttl_days), **record)
        return key

    @property
    def record(self):
        return self.invoice or self.quote or self.credit

    @classmethod
    def find(cls, key):
        """The live invitation for an e-mailed key, or None: unknown, tampered or expired, or
        what it opens is out of the contact's sight (a draft, archived, deleted or another
        client's record; an inactive contact; an archived client). A link is a login, so it
        dies with the record or account it was sent for."""
        if not key or len(key) > 100:
            return None
        inv = cls.get_or_none(cls.key_hash == hash_token(key))
        if inv is None or inv.expires_at < utcnow():
            return None
        record = inv.record
        if record is None or not inv.contact.may_sign_in:
            return None
        kind = type(record)
        # The portal's own visibility rule, so a link never opens what a list would hide.
        if not kind.for_client(inv.contact.client_id).where(kind.id == record.id).exists():
            return None
        return inv


class PasswordReset(BaseModel):
    """A single-use e-mailed link for one contact: choose a password ("password": resets and
    invitations) or confirm a self-registered address ("verify")."""
    contact = ForeignKeyField(Contact, backref="password_resets", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    purpose = CharField(max_length=16, default="password")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)


class EmailMessage(BaseModel):
    """Every outgoing e-mail, stored before delivery so a failure never loses it."""
    to = CharField(max_length=254)
    # JSON [[kind, record id]]: PDFs made at delivery (pdf.attachment), so a retry from any
    # process that shares the database attaches them without a file left on one machine.
    attachments = TextField(default="")
    subject = CharField(max_length=255)
    body_text = TextField()
    body_html = TextField(default="")
    status = CharField(max_length=8, default="queued", index=True)  # queued, sent, failed
    attempts = IntegerField(default=0)
    last_error = TextField(default="")
    next_attempt_at = DateTimeField(default=utcnow, index=True)
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)

    def attachment_list(self):
        return json.loads(self.attachments or "[]")


class InvoiceReminder(BaseModel):
    """A step run-due took once for an invoice: a reminder rule ("reminder1".."reminder3")
    or the late fee ("late_fee"). The unique pair is the claim: overlapping runs insert it
    once, and only the run whose insert won e-mails or adds the fee."""
    invoice = ForeignKeyField(Invoice, backref="reminders", on_delete="CASCADE")
    step = CharField(max_length=16)
    sent = BooleanField(default=True)  # False: passed over (a later rule was already due)
    amount = BigIntegerField(default=0)  # the late fee added
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("invoice", "step"), True),)


class Activity(BaseModel):
    # Who acted: a contact in the portal, staff in the back office (or a script), staff who
    # opened the portal as a contact (staff set, as_contact the contact they acted as), or an
    # integration through the API (staff: the token's owner). "" on rows from before.
    ACTORS = {"contact": "Contact", "staff": "Staff", "staff_as_contact": "Staff as contact",
              "api": "API", "system": "System"}
    client = ForeignKeyField(Client, null=True, backref="activities", on_delete="CASCADE")
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    actor = CharField(max_length=16, default="")
    # No index: nobody searches by it, and an index would be created before `portal init`
    # adds the column to an existing table.
    as_contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL", backref="+",
                                 index=False)
    action = CharField(max_length=64, index=True)
    subject_type = CharField(max_length=32, default="")
    subject_id = IntegerField(null=True)
    detail = TextField(default="")
    ip = CharField(max_length=45, default="")
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        # The activity page filters by client or by record, newest first.
        indexes = ((("client", "created_at"), False), (("subject_type", "subject_id"), False))

    # Set by the web app (views.sessions.activity_actor): what the current request knows of
    # who acts (actor kind, as_contact, ip). Services record rows without knowing about
    # requests, so the request fills in what they leave out.
    request_actor = staticmethod(lambda: {})

    @classmethod
    def log(cls, action, subject=None, **fields):
        if subject is not None:
            fields.setdefault("subject_type", type(subject).__name__.lower())
            fields.setdefault("subject_id", subject.id)
        for key, value in (cls.request_actor() or {}).items():
            if value and not fields.get(key):
                fields[key] = value
        if not fields.get("actor"):
            fields["actor"] = ("staff" if fields.get("staff") else
                               "contact" if fields.get("contact") else "system")
        return cls.create(action=action, **fields)

    @property
    def actor_label(self):
        return self.ACTORS.get(self.actor) or (
            "Staff" if self.staff_id else "Contact" if self.contact_id else "System")


class GeneratedFile(PublicModel):
    """A file too slow to make inside a request (a long statement PDF): queued here, made by a
    worker (`portal serve`'s or `run-due`'s), kept in the instance's generated folder, and
    reused while its fingerprint (what it was made from) still matches."""
    STATUSES = ("queued", "running", "ready", "failed")
    client = ForeignKeyField(Client, backref="generated_files", on_delete="CASCADE")
    kind = CharField(max_length=32)
    fingerprint = CharField(max_length=64, unique=True)
    params = TextField(default="{}")  # JSON: what the maker needs to make it again
    filename = CharField(max_length=200)
    status = CharField(max_length=8, default="queued", index=True)
    attempts = IntegerField(default=0)
    error = TextField(default="")
    storage_name = CharField(max_length=64, default="")
    size = BigIntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)

    def params_dict(self):
        return json.loads(self.params)


class TwoFactor(BaseModel):
    """Two-factor sign-in of one login, a contact's or a staff member's: exactly one of
    `contact` and `staff` is set, so one implementation (billing.two_factor) serves both and a
    deleted login takes its row with it."""
    contact = ForeignKeyField(Contact, null=True, unique=True, on_delete="CASCADE",
                              backref="+")
    staff = ForeignKeyField(StaffUser, null=True, unique=True, on_delete="CASCADE",
                            backref="+")
    secret = CharField(max_length=64)  # base32, as authenticator apps take it
    # None while the set-up waits for its first right code: until then logins ignore the row.
    enabled_at = DateTimeField(null=True)
    # The last 30-second time step whose code was accepted: a code is good once.
    last_step = BigIntegerField(default=0)
    failed_attempts = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)


class RecoveryCode(BaseModel):
    """A one-time code for when the authenticator app is lost; stored hashed."""
    two_factor = ForeignKeyField(TwoFactor, backref="recovery_codes", on_delete="CASCADE")
    code_hash = CharField(max_length=64)
    used_at = DateTimeField(null=True)


MODELS = [
    Company, Sequence, StaffUser, ApiToken, Client, Contact, RecurringInvoice, Invoice, Quote,
    Credit, LineItem, GatewayConfig, GatewayToken, Payment, PaymentAllocation, Document, Plan,
    Subscription, PrepaymentSchedule, Invitation, PasswordReset, EmailMessage, Activity,
    GatewayCustomer, DemoCharge, GeneratedFile, Product, InvoiceReminder, AutoBill,
    TwoFactor, RecoveryCode, ClientAccess,
]


def create_tables():
    """Create missing tables and add missing columns: `portal init` upgrades in place."""
    with db.atomic():
        db.create_tables(MODELS, safe=True)
        migrator = SchemaMigrator.from_database(db.obj)
        for model in MODELS:
            table = model._meta.table_name
            present = {column.name for column in db.get_columns(table)}
            for field in model._meta.sorted_fields:
                if field.column_name not in present:
                    _add_column(migrator, model, field)
        # Before the modes, auto_bill was a yes/no, and yes meant "always".
        RecurringInvoice.update(auto_bill_mode="always").where(
            (RecurringInvoice.auto_bill == True) & (RecurringInvoice.auto_bill_mode == "off")  # noqa: E712
        ).execute()
        Client.recount_listed_invoices()
        for name in RETIRED_INDEXES:
            db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')


# Indexes an older schema made that a newer one replaced: each costs every write its table takes.
RETIRED_INDEXES = (
    # (client, currency, date, status, total) serves the statement's sums as date ranges.
    "invoice_client_id_currency_status_date_total",
)


def _add_column(migrator, model, field):
    """Add a column as nullable, then fill it.

    Making it NOT NULL would rebuild the table on SQLite, and a rebuild drops the old table,
    which cascades deletes to every row that references it.
    """
    column = copy.copy(field)
    column.null = True
    migrate(migrator.add_column(model._meta.table_name, field.column_name, column))
    if field.default is None:
        return
    if callable(field.default):  # a fresh value per row, such as a public id
        for row in model.select(model._meta.primary_key).where(field.is_null()):
            model.update({field: field.default()}).where(
                model._meta.primary_key == row.get_id()).execute()
    else:
        model.update({field: field.default}).where(field.is_null()).execute()
