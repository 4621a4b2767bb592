"""What the business may ask before a quote is approved (billing.quotes.check_requirements):
the terms, a drawn signature, a PO number; each refusal word for word at its field."""
import base64

import pytest

import models
from billing import DomainError
from billing import quotes as quote_service
from tests import factories
from tests.quotes_support import png_data_url, quote

PREFIX = quote_service.DATA_URL_PREFIX
UNREADABLE = ("The signature could not be read; please sign again.", "signature")


def company(**asks):
    return models.Company(name="Acme", **{"quote_requires_terms": False,
                                          "quote_requires_signature": False,
                                          "quote_requires_po_number": False, **asks})


def refused(call, *args):
    with pytest.raises(DomainError) as refusal:
        call(*args)
    return refusal.value.message, refusal.value.field


def png_of(size):
    """A signature whose decoded PNG is exactly `size` bytes."""
    raw = quote_service.PNG_MAGIC + b"\x00" * (size - len(quote_service.PNG_MAGIC))
    return PREFIX + base64.b64encode(raw).decode()


def test_a_drawn_signature_is_kept_as_sent_and_none_is_blank():
    signature = png_data_url()
    assert quote_service.clean_signature(f"  {signature} ") == signature
    assert quote_service.clean_signature(None) == quote_service.clean_signature("  ") == ""


@pytest.mark.parametrize("value", [
    "a signature",                                         # not a data: URL
    png_data_url().replace("image/png", "image/gif"),      # a PNG said to be something else
    PREFIX + "!!!!" + png_data_url()[len(PREFIX):],        # not base64 throughout
    PREFIX + "AAAA" + png_data_url()[len(PREFIX):],        # base64 of something else
    png_of(quote_service.MAX_SIGNATURE_BYTES + 1),         # a PNG too large
])
def test_a_signature_that_is_not_a_small_png_is_refused(value):
    assert refused(quote_service.clean_signature, value) == UNREADABLE


def test_a_png_of_the_largest_size_is_a_signature():
    largest = png_of(quote_service.MAX_SIGNATURE_BYTES)
    assert quote_service.clean_signature(largest) == largest


def test_a_data_url_too_long_to_hold_a_signature_is_refused_unread():
    padded = png_data_url() + "=" * (quote_service.MAX_SIGNATURE_BYTES * 4 // 3 + 64)
    assert refused(quote_service.clean_signature, padded) == UNREADABLE


def test_a_po_number_is_one_line_of_at_most_64_characters():
    assert quote_service.clean_po_number("  PO-2026-17 ") == "PO-2026-17"
    assert quote_service.clean_po_number("P" * 64) == "P" * 64
    assert refused(quote_service.clean_po_number, "P" * 65) == (
        "PO number can have at most 64 characters.", "po_number")
    assert refused(quote_service.clean_po_number, "PO\n17") == (
        "PO number cannot contain line breaks or control characters.", "po_number")


@pytest.mark.parametrize("asks, given, refusal", [
    ({"quote_requires_terms": True}, {}, ("Please accept the terms to approve.",
                                          "accepted_terms")),
    ({"quote_requires_signature": True}, {}, ("Please sign in the box to approve.",
                                              "signature")),
    ({"quote_requires_po_number": True}, {}, (
        "Enter your purchase order (PO) number to approve.", "po_number")),
    ({"quote_requires_po_number": True}, {"po_number": "  "}, (
        "Enter your purchase order (PO) number to approve.", "po_number")),
])
def test_each_requirement_left_out_is_refused_at_its_field(asks, given, refusal):
    args = (company(**asks), given.get("signature"), given.get("accepted_terms", False))
    if "po_number" in given:
        args += (given["po_number"],)
    assert refused(quote_service.check_requirements, *args) == refusal


def test_requirements_met_give_back_the_cleaned_signature_and_po_number():
    every = company(quote_requires_terms=True, quote_requires_signature=True,
                    quote_requires_po_number=True)
    signature = png_data_url()
    assert quote_service.check_requirements(every, f" {signature}", True, " PO-9 ") == (
        signature, "PO-9")
    assert quote_service.check_requirements(company(), None, False) == ("", "")


def test_a_contact_approving_gives_the_po_number_to_the_invoice(db):
    factories.company(quote_requires_po_number=True)
    client = factories.client()
    contact = factories.contact(client)
    invoice = quote_service.approve(contact, quote(client), po_number="PO-77")
    assert invoice.po_number == "PO-77"
