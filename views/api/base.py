"""What every API resource has in common."""
import models
from views.api import ApiError


class Resource:
    name = ""
    model = None
    accepts_uploads = False
    bulk_actions = {}
    # For the OpenAPI document: field name -> (JSON type, description).
    fields = {}
    required = ()

    def query(self, args):
        return self.model.select().order_by(self.model.id.desc())

    def find(self, public_id):
        return self.model.get_or_none(self.model.public_id == public_id)

    def serialize(self, record):
        raise NotImplementedError

    def create(self, data, staff):
        raise ApiError(f"{self.name} cannot be created through the API.", 405)

    def update(self, record, data, staff):
        raise ApiError(f"{self.name} cannot be changed through the API.", 405)

    def archive(self, record, staff):
        if not hasattr(record, "archived_at"):
            raise ApiError(f"{self.name} cannot be archived.", 405)
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
    client = models.Client.get_or_none(models.Client.public_id == str(value)[:24]) \
        if value else None
    if client is None:
        raise ApiError(f"{key} must be the id of an existing client.", 422, key)
    return client


def bulk(service, *, with_config=False):
    """A bulk action calling service(record, [config,] staff=...); it answers the record."""
    def run(res, record, data, staff):
        if with_config:
            from views import service_config
            service(record, service_config(), staff=staff)
        else:
            service(record, staff=staff)
        return record
    return run
