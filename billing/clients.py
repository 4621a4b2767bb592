"""Clients and their contacts, as staff and integrations create and change them.

The back office, the API and the CLI call these; each raises DomainError naming the field
it refuses, and changes nothing when it does.
"""
from babel import Locale, UnknownLocaleError
from babel.numbers import is_currency
from peewee import IntegrityError

import models
from billing import DomainError, transaction, validation
from billing.accounts import validate_password

CLIENT_FIELDS = ("name", "number", "email", "address", "shipping_address", "vat_number",
                 "locale", "currency")
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "is_primary")
# (label, limit) of the one-line fields: they reach e-mail subjects and headers.
CLIENT_LINES = {"name": ("The client's name", 200), "number": ("The client number", 32),
                "vat_number": ("The VAT number", 50)}
CONTACT_LINES = {"first_name": ("First name", 100), "last_name": ("Last name", 100),
                 "phone": ("Phone", 50)}
ADDRESSES = {"address": "The billing address", "shipping_address": "The shipping address"}


def clean_locale(value, field="locale"):
    """A locale Babel knows, normalised ("de-de" is de_DE); blank means the company's."""
    text = validation.single_line(value, "Locale", field, 10)
    if not text:
        return ""
    try:
        return str(Locale.parse(text.replace("-", "_")))
    except (ValueError, TypeError, UnknownLocaleError):
        raise DomainError(f"{text} is not a locale we know: use a code such as en_US or "
                          "de_DE.", field) from None


def clean_client(data):
    """The client fields in `data`, checked: one-line names, real addresses, a currency and
    a locale Babel knows."""
    clean = {}
    for key, (label, limit) in CLIENT_LINES.items():
        if key in data:
            clean[key] = validation.single_line(data[key], label, key, limit)
    if "email" in data:
        clean["email"] = validation.email_address(data["email"], "email") \
            if (data["email"] or "").strip() else ""
    for key, label in ADDRESSES.items():
        if key in data:
            clean[key] = validation.multi_line(data[key], label, key)
    if "locale" in data:
        clean["locale"] = clean_locale(data["locale"])
    if "currency" in data:
        currency = validation.single_line(data["currency"], "Currency", "currency", 3).upper()
        if not is_currency(currency):
            raise DomainError("Currency must be an ISO 4217 code such as USD.", "currency")
        clean["currency"] = currency
    return clean


def _check_contact(data, field=None):
    """The contact's fields, checked; errors name `field` (the API's "contacts") or, when
    None, the form field itself."""
    clean = {key: validation.single_line(data[key], label, field or key, limit)
             for key, (label, limit) in CONTACT_LINES.items() if key in data}
    if field is None:
        clean["email"] = validation.email_address(data.get("email"), "email")
        return clean
    try:
        clean["email"] = validation.email_address(data.get("email"), field)
    except DomainError as exc:
        raise DomainError(f"Each contact needs a valid e-mail address. {exc.message}",
                          field) from None
    return clean


def _email_taken(client, email, contact, field):
    """Logins are by e-mail address, so one address is one contact across all clients."""
    clash = models.Contact.get_or_none(models.Contact.email == email)
    if clash is None or (contact is not None and clash.id == contact.id):
        return
    if clash.client_id == client.id:
        raise DomainError(f"This client already has a contact with the e-mail address "
                          f"{email}.", field)
    raise DomainError(f"{email} is already the login of a contact of another client; each "
                      "contact needs their own e-mail address.", field)


def _save_contact(client, data, contact=None, field="contacts"):
    clean = _check_contact(data, field)
    email_field = field or "email"
    _email_taken(client, clean["email"], contact, email_field)
    contact = contact or models.Contact(client=client)
    for key in CONTACT_FIELDS:
        if key in data:
            setattr(contact, key, clean.get(key, data[key]))
    if "is_primary" in data:
        contact.is_primary = bool(data["is_primary"])
    if data.get("password"):
        validate_password(data["password"], data["password"])
        contact.set_password(data["password"])
    try:
        with models.db.atomic():  # a savepoint: the enclosing transaction survives
            contact.save()
    except IntegrityError:  # the same address, added at the same moment by someone else
        raise DomainError(f"{clean['email']} is already a contact's login.",
                          email_field) from None
    if contact.is_primary:
        # One primary contact per client: the one just marked takes over.
        models.Contact.update(is_primary=False).where(
            (models.Contact.client == client) & (models.Contact.id != contact.id)).execute()
    return contact


def _set_active(contact, data, staff):
    """The API's is_active: deactivating or reactivating as the back office does."""
    from billing import accounts
    if "is_active" not in data or bool(data["is_active"]) == contact.is_active:
        return
    if data["is_active"]:
        accounts.reactivate_contact(contact, staff)
    else:
        accounts.deactivate_contact(contact, staff)


def add_contact(client, data, staff=None):
    """A new contact (portal login without a password until invited) for `client`."""
    with transaction():
        contact = _save_contact(client, data, field=None)
        models.Activity.log("contact.created", contact, client=client.id, staff=staff)
    return contact


def update_contact(contact, data, staff=None):
    with transaction():
        contact = _save_contact(contact.client, data, contact, field=None)
        models.Activity.log("contact.updated", contact, client=contact.client_id, staff=staff)
    return contact


def create_client(data, contacts=(), staff=None):
    fields = clean_client(data)
    if not fields.get("name"):
        raise DomainError("A client needs a name.", "name")
    with transaction():
        client = models.Client.create(**fields)
        for position, contact in enumerate(contacts):
            _set_active(_save_contact(client, {"is_primary": position == 0, **contact}),
                        contact, staff)
        models.Activity.log("client.created", client, client=client.id, staff=staff)
    return client


def update_client(client, data, contacts=None, staff=None):
    """Change fields; contacts given with an id are updated, without one are added."""
    fields = clean_client(data)
    with transaction():
        for key, value in fields.items():
            if key == "currency" and value != client.currency and (
                    client.invoices.count() or client.payments.count()):
                raise DomainError("The currency of a client with invoices or payments "
                                  "cannot change.", "currency")
            setattr(client, key, value)
        if not client.name.strip():
            raise DomainError("A client needs a name.", "name")
        client.save()
        for contact_data in contacts or ():
            existing = None
            if contact_data.get("id"):
                existing = models.Contact.get_or_none(
                    (models.Contact.public_id == str(contact_data["id"])[:24])
                    & (models.Contact.client == client))
                if existing is None:
                    raise DomainError("A contact id does not belong to this client.",
                                      "contacts")
            _set_active(_save_contact(client, contact_data, existing), contact_data, staff)
        models.Activity.log("client.updated", client, client=client.id, staff=staff)
    return client


def archive_client(client, staff=None):
    """Close the client's portal: it leaves the lists, and its contacts' logins, sessions and
    e-mailed links stop (Contact.may_sign_in) without deleting anything."""
    with transaction():
        changed = models.Client.update(archived_at=models.utcnow()).where(
            (models.Client.id == client.id) & models.Client.archived_at.is_null()).execute()
        if changed:
            models.Activity.log("client.archived", client, client=client.id, staff=staff)
    return models.Client.get_by_id(client.id)


def unarchive_client(client, staff=None):
    with transaction():
        changed = models.Client.update(archived_at=None).where(
            (models.Client.id == client.id) & models.Client.archived_at.is_null(False)
        ).execute()
        if changed:
            models.Activity.log("client.unarchived", client, client=client.id, staff=staff)
    return models.Client.get_by_id(client.id)
