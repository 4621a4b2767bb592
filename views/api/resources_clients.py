"""/api/v1/clients, with nested contacts."""
from babel.numbers import get_currency_precision

import models
from billing import clients
from views.api import ApiError, resource
from views.api.base import Resource
from views.api.fields import iso, money_out, text


def _contacts(data):
    raw = data.get("contacts", [])
    if not isinstance(raw, list) or len(raw) > 50:
        raise ApiError("contacts must be a list of at most 50 contacts.", 422, "contacts")
    parsed = []
    for item in raw:
        if not isinstance(item, dict):
            raise ApiError("Each contact must be an object.", 422, "contacts")
        contact = {key: text(item, key, limit=254) for key in
                   ("first_name", "last_name", "email", "phone") if key in item}
        if "id" in item:
            contact["id"] = text(item, "id", limit=24)
        if "password" in item:
            contact["password"] = text(item, "password", limit=200)
        if "is_primary" in item:
            contact["is_primary"] = bool(item["is_primary"])
        parsed.append(contact)
    return parsed


def _fields(data):
    fields = {key: text(data, key, limit=2000 if key == "address" else 200)
              for key in ("name", "number", "email", "address") if key in data}
    if "currency" in data:
        currency = text(data, "currency", limit=3).upper()
        try:
            get_currency_precision(currency)
            valid = len(currency) == 3 and currency.isalpha()
        except Exception:  # noqa: BLE001 - Babel raises several kinds for unknown codes
            valid = False
        if not valid:
            raise ApiError("currency must be an ISO 4217 code such as USD.", 422, "currency")
        fields["currency"] = currency
    return fields


@resource
class ClientResource(Resource):
    name = "clients"
    model = models.Client
    fields = {"name": ("string", "Client name"), "number": ("string", "Your reference"),
              "email": ("string", ""), "address": ("string", "Multi-line postal address"),
              "currency": ("string", "ISO 4217"), "contacts": ("array", "Contacts (logins)")}
    required = ("name",)
    accepts_uploads = True

    def client_of(self, record):
        return record

    def query(self, args):
        C = models.Client
        query = C.select().where(C.archived_at.is_null())
        if args.get("name"):
            query = query.where(C.name.contains(args["name"][:100]))
        return query.order_by(C.name, C.id)

    def serialize(self, c):
        return {
            "id": c.public_id, "name": c.name, "number": c.number, "email": c.email,
            "address": c.address, "currency": c.currency,
            "balance": money_out(c.balance, c.currency),
            "paid_to_date": money_out(c.paid_to_date, c.currency),
            "archived_at": iso(c.archived_at), "created_at": iso(c.created_at),
            "contacts": [{"id": p.public_id, "first_name": p.first_name,
                          "last_name": p.last_name, "email": p.email, "phone": p.phone,
                          "is_primary": p.is_primary}
                         for p in c.contacts.order_by(models.Contact.id)],
        }

    def create(self, data, staff):
        return clients.create_client(_fields(data), _contacts(data), staff=staff)

    def update(self, record, data, staff):
        contacts = _contacts(data) if "contacts" in data else None
        return clients.update_client(record, _fields(data), contacts, staff=staff)
