"""Storing a shared document (billing.files), rule by rule: the name it keeps, the kinds and
sizes it takes, where the bytes go, and that a refused or failed upload leaves no file."""
import io
import os

import pytest
from peewee import IntegrityError

import models
from billing import DomainError, files
from tests import factories
from tests.core_support import activities


@pytest.fixture
def client(db):
    return factories.client(name="Gamma Co")


class Chunks(io.BytesIO):
    """A stream that hands out at most `most` bytes a read, as a network upload does."""

    def __init__(self, data, most=1000):
        super().__init__(data)
        self.most, self.reads = most, []

    def read(self, size=-1):
        self.reads.append(size)
        return super().read(min(size, self.most) if size > 0 else self.most)


@pytest.mark.parametrize("given, kept", [
    ("C:\\Users\\pat\\report.pdf", "report.pdf"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ('  a"b<c>d:e|f?g*h.pdf  ', "abcdefgh.pdf"),
    ("tab\there\x07.pdf", "tabhere.pdf"),
    ("", "document"),
    (None, "document"),
    ('"<>.', "."),
    ("/folder/", "document"),
    ("x" * 250 + ".pdf", "x" * 200),
    ("XMAS plan.pdf", "XMAS plan.pdf"),
])
def test_a_file_keeps_only_its_own_printable_name(given, kept):
    assert files.clean_filename(given) == kept


def test_a_document_is_stored_privately_under_a_random_name(client, tmp_path):
    folder = str(tmp_path / "uploads")
    data = b"%PDF-1.7 " + bytes(range(256)) * 300
    document = files.store(folder, client, "Contract.pdf", Chunks(data), is_public=1)
    stored = models.Document.get_by_id(document.id)
    assert (stored.client_id, stored.filename, stored.content_type, stored.size,
            stored.is_public, stored.invoice_id, stored.quote_id) == (
        client.id, "Contract.pdf", "application/pdf", len(data), True, None, None)
    assert len(stored.storage_name) == 32 and int(stored.storage_name, 16) >= 0
    path = files.path_of(folder, stored)
    assert path == os.path.join(folder, stored.storage_name)
    with open(path, "rb") as kept:
        assert kept.read() == data
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(folder).st_mode & 0o777 == 0o700
    assert activities("document.uploaded") == [(document.id, client.id, None, None,
                                                "Contract.pdf")]


def test_a_document_reads_its_upload_in_64_kib_steps(client, tmp_path):
    stream = Chunks(b"x" * 100, most=10 ** 9)
    files.store(str(tmp_path), client, "notes.txt", stream)
    assert stream.reads[0] == 64 * 1024


def test_a_document_may_belong_to_an_invoice_or_a_quote_and_is_private_by_default(
        client, tmp_path):
    invoice = factories.invoice(client, status="sent")
    document = files.store(str(tmp_path), client, "photo.JPG", io.BytesIO(b"\xff\xd8"),
                           invoice=invoice)
    stored = models.Document.get_by_id(document.id)
    assert (stored.invoice_id, stored.quote_id, stored.content_type, stored.is_public) == (
        invoice.id, None, "image/jpeg", False)
    quote = models.Quote.create(client=client, number="Q-1", date=invoice.date, total=0,
                                currency="USD")
    document = files.store(str(tmp_path), client, "plan.pdf", io.BytesIO(b"%PDF"),
                           quote=quote)
    stored = models.Document.get_by_id(document.id)
    assert (stored.invoice_id, stored.quote_id) == (None, quote.id)


@pytest.mark.parametrize("name", ["run.exe", "page.html", "script.js", "noextension"])
def test_a_kind_of_file_not_shared_is_refused_before_anything_is_written(client, tmp_path,
                                                                         name):
    with pytest.raises(DomainError) as refused:
        files.store(str(tmp_path / "uploads"), client, name, io.BytesIO(b"data"))
    assert (refused.value.message, refused.value.field) == (
        "That kind of file cannot be shared. Use PDF, images, office documents, text, CSV "
        "or ZIP.", "file")
    assert not (tmp_path / "uploads").exists()
    assert models.Document.select().count() == 0


def test_twenty_megabytes_are_taken_and_a_byte_more_is_refused_leaving_nothing(client,
                                                                               tmp_path):
    folder = tmp_path / "uploads"
    document = files.store(str(folder), client, "big.zip", Chunks(b"z" * files.MAX_BYTES,
                                                                  most=64 * 1024))
    assert models.Document.get_by_id(document.id).size == 20 * 1024 * 1024
    with pytest.raises(DomainError) as refused:
        files.store(str(folder), client, "bigger.zip", Chunks(b"z" * (files.MAX_BYTES + 1),
                                                              most=64 * 1024))
    assert (refused.value.message, refused.value.field) == ("Files can be at most 20 MB.",
                                                            "file")
    assert os.listdir(folder) == [document.storage_name]
    assert models.Document.select().count() == 1


def test_an_empty_file_is_refused_leaving_nothing(client, tmp_path):
    with pytest.raises(DomainError) as refused:
        files.store(str(tmp_path / "uploads"), client, "empty.txt", io.BytesIO(b""))
    assert (refused.value.message, refused.value.field) == ("That file is empty.", "file")
    assert os.listdir(tmp_path / "uploads") == []


def test_a_record_that_cannot_be_saved_takes_its_file_with_it(client, tmp_path):
    unsaved = models.Client(id=10 ** 9, name="Never saved")
    with pytest.raises(IntegrityError):  # the foreign key
        files.store(str(tmp_path / "uploads"), unsaved, "notes.txt", io.BytesIO(b"text"))
    assert os.listdir(tmp_path / "uploads") == []
    assert models.Document.select().count() == 0
