"""The checks every name, address and e-mail goes through (billing.validation), word for word:
the services' tests show where they run, these what each refuses and says."""
import pytest
from email_validator import EmailNotValidError, validate_email

import i18n
from billing import validation
from tests.core_support import refused

LONG_ADDRESS_DOMAIN = "b" * 63 + "." + "c" * 63 + "." + "d" * 53 + ".example"



@pytest.mark.parametrize("check", [validation.single_line, validation.multi_line])
def test_nothing_is_an_empty_text_and_a_number_is_not_text(db, check):
    assert check(None, "Name") == ""
    assert refused(check, 12, "Name", "name") == ("Name must be text.", "name")


@pytest.mark.parametrize("text", ["Acme\n", "Acme\rLtd", "A\tB", "Acme\x07", "Acme\u2028Ltd",
                                  "Acme\u2029Ltd", "\u202eemca"])
def test_one_line_refuses_breaks_tabs_controls_and_direction_overrides(db, text):
    assert refused(validation.single_line, text, "Company name", "name") == (
        "Company name cannot contain line breaks or control characters.", "name")


def test_one_line_is_stripped_and_its_limit_counts_what_is_kept(db):
    assert validation.single_line("  Acme Ltd  ", "Name") == "Acme Ltd"
    assert validation.single_line(" " + "x" * 200 + " ", "Name") == "x" * 200
    assert refused(validation.single_line, "x" * 201, "Name", "name") == (
        "Name can have at most 200 characters.", "name")
    assert validation.single_line("x" * 10, "PO number", limit=10) == "x" * 10
    assert refused(validation.single_line, "x" * 11, "PO number", "po", limit=10) == (
        "PO number can have at most 10 characters.", "po")


def test_several_lines_keep_their_breaks_and_tabs_but_refuse_other_controls(db):
    assert validation.multi_line(" 1 Road\r\n\tTown \n", "Address") == "1 Road\r\n\tTown"
    for text in ("1 Road\x1b[31m", "1 Road\x00", "1 Road\u2028Town", "\u202eTown"):
        assert refused(validation.multi_line, text, "Address", "address") == (
            "Address cannot contain control characters.", "address")


def test_several_lines_count_their_limit_before_stripping(db):
    assert validation.multi_line("x" * 5000, "Notes") == "x" * 5000
    assert refused(validation.multi_line, "x" * 4999 + "  ", "Notes", "notes") == (
        "Notes can have at most 5000 characters.", "notes")
    assert refused(validation.multi_line, "x" * 5001, "Notes") == (
        "Notes can have at most 5000 characters.", None)
    assert refused(validation.multi_line, "x" * 6, "Note", limit=5) == (
        "Note can have at most 5 characters.", None)


def test_an_address_is_normalised_to_lower_case(db):
    assert validation.email_address("  Pat.Lee@Alpha.Example ") == "pat.lee@alpha.example"


def test_an_address_may_be_254_characters_and_no_more(db):
    longest = "a" * (254 - 1 - len(LONG_ADDRESS_DOMAIN)) + "@" + LONG_ADDRESS_DOMAIN
    assert len(longest) == 254 and len(longest.split("@")[0]) <= 64
    assert validation.email_address(longest) == longest
    assert refused(validation.email_address, "a" + longest) == (
        "E-mail address can have at most 254 characters.", "email")


def test_a_missing_address_is_asked_for_in_the_callers_own_sentence(db):
    assert refused(validation.email_address, "  ") == ("Enter an e-mail address.", "email")
    assert refused(validation.email_address, None, "new_email", "New e-mail address",
                   "Enter your new e-mail address.") == (
        "Enter your new e-mail address.", "new_email")
    with i18n.using("de"):
        assert refused(validation.email_address, "", "new_email", "New e-mail address",
                       "Enter your new e-mail address.") == (
            "Geben Sie Ihre neue E-Mail-Adresse ein.", "new_email")


def test_an_invalid_address_says_why_in_the_validators_words(db):
    with pytest.raises(EmailNotValidError) as why:
        validate_email("pat@", check_deliverability=False)
    assert refused(validation.email_address, "pat@", "reply_to") == (
        f"pat@ is not a valid e-mail address: {why.value}", "reply_to")
    assert refused(validation.email_address, "pat\n@alpha.example", "reply_to") == (
        "E-mail address cannot contain line breaks or control characters.", "reply_to")


def test_a_missing_address_is_asked_for_in_the_persons_language(db):
    with i18n.using("de"):
        assert refused(validation.email_address, "") == (
            "Geben Sie eine E-Mail-Adresse ein.", "email")
        assert refused(validation.single_line, "A\nB", "Name") == (
            "Name darf keine Zeilenumbrüche oder Steuerzeichen enthalten.", None)
