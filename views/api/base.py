"""What every API resource has in common."""
import models
from views.api import ApiError
from views.api.schemas import BULK_IDS, PAGING, body, enum


class Resource:
    """A resource declares what it supports; views/api routes exactly that.

    create_schema / update_schema: the request body schema, or None when the operation does
    not exist (the router then answers 405 with Allow). record_schema: what serialize()
    returns. filters: query parameters besides page and per_page.
    """
    name = ""
    model = None
    accepts_uploads = False
    deletable = True
    bulk_actions = {}
    create_schema = None
    update_schema = None
    record_schema = {"type": "object"}
    filters = ()

    def __init__(self):
        # Built once, so the validator compiled for it is reused (validation keys by identity).
        self.bulk_schema = body({"action": enum(sorted(self.bulk_actions)), "ids": BULK_IDS},
                                required=("action", "ids")) if self.bulk_actions else None

    def parameters(self):
        return [*PAGING, *self.filters]

    def query(self, args):
        return self.model.select().order_by(self.model.id.desc())

    def find(self, public_id):
        return self.model.get_or_none(self.model.public_id == public_id)

    def serialize(self, record):
        raise NotImplementedError

    def create(self, data, staff):
        raise NotImplementedError

    def update(self, record, data, staff):
        raise NotImplementedError

    def archive(self, record, staff):
        if record.archived_at is None:
            record.archived_at = models.utcnow()
            record.save()
            models.Activity.log(f"{self.name}.archived", record, staff=staff,
                                client=getattr(record, "client_id", None))
        return record

    def client_of(self, record):
        return record.client

    def document_link(self, record):
        return {}


def client_by_id(data, key="client_id"):
    value = data.get(key)
    client = models.Client.get_or_none(models.Client.public_id == value) if value else None
    if client is None:
        raise ApiError(f"{key} must be the id of an existing client.", 422, key)
    return client


def bulk(service, *, with_config=False):
    """A bulk action calling service(record, [config,] staff=...); it answers the record."""
    def run(res, record, data, staff):
        if with_config:
            from views.current import service_config
            service(record, service_config(), staff=staff)
        else:
            service(record, staff=staff)
        return record
    return run
