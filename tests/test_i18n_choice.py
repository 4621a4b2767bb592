"""Which language: the one locale decision (contact, then client, then company, then the
browser), the visitor's picker on the login page, the language stored in the profile, and
errors, flashes and amount messages translated.

Siblings: tests/test_i18n.py (pages, e-mails and what stays English) and
tests/test_i18n_catalogs.py (the catalogs). The `euro` fixture and shared helpers are
tests/i18n_support.py."""
import re

import pytest

import i18n
import models
from tests.conftest import csrf_token
from tests.core_support import opened
from tests.i18n_support import html_lang, models_company_id, set_locale, text

# ---------------------------------------------------------------- which language


def lang_of(client, path="/client/invoices", **headers):
    return html_lang(text(client.get(path, headers=headers)))


def test_choice_order_contact_then_client_then_company_then_browser(app, client, auth, euro):
    set_locale(app, models.Company, models_company_id(app), "")
    auth.login("pat@mueller.example")
    assert lang_of(client, **{"Accept-Language": "fr-CH, de;q=0.5"}) == "fr"
    assert lang_of(client, **{"Accept-Language": "it, pt;q=0.8"}) == "en"  # none we speak
    set_locale(app, models.Company, models_company_id(app), "es_ES")
    assert lang_of(client, **{"Accept-Language": "fr"}) == "es"
    set_locale(app, models.Client, euro["client"].id, "de_DE")
    assert lang_of(client, **{"Accept-Language": "fr"}) == "de"
    set_locale(app, models.Contact, euro["contact"].id, "fr")
    assert lang_of(client, **{"Accept-Language": "de"}) == "fr"


def test_choose_is_one_rule():
    company = models.Company(name="C", locale="es_ES")
    client = models.Client(name="K", locale="")
    contact = models.Contact(email="x@y.example", locale="", client=client)
    assert i18n.choose(contact, company, accept="fr") == "es_ES"
    client.locale = "de"
    assert i18n.choose(contact, company, accept="fr") == "de"
    contact.locale = "fr"
    assert i18n.choose(contact, company) == "fr"
    assert i18n.choose(None, models.Company(name="C", locale=""), accept="de") == "de"
    assert i18n.choose(None, models.Company(name="C", locale=""), visitor="es",
                       accept="de") == "es"
    assert i18n.choose(None, None) == "en"
    assert i18n.choose(models.Contact(locale="xx-not-one"), None) == "en"


def test_visitor_picks_a_language_on_the_login_page(app, client, euro):
    page = text(client.get("/client/login"))
    # The picker is plain links (no JavaScript), labelled, each named in its own language.
    nav = re.search(r'<nav class="languages" aria-label="Language">(.*?)</nav>', page, re.S)
    assert nav and 'lang="de"' in nav.group(1) and ">Deutsch<" in nav.group(1)
    assert 'href="/client/login?lang=fr"' in nav.group(1)
    response = client.get("/client/login?lang=es")
    assert "portal_lang=es" in response.headers.get("Set-Cookie", "")
    assert html_lang(text(response)) == "es"
    # The cookie keeps it for the next pages, e.g. the reset page.
    assert html_lang(text(client.get("/client/password/reset"))) == "es"
    assert "Restablecer la contraseña" in text(client.get("/client/password/reset"))
    # A made-up language is ignored.
    response = client.get("/client/login?lang=xx")
    assert "portal_lang=xx" not in response.headers.get("Set-Cookie", "")


def test_the_next_link_survives_a_language_switch(app, client, euro):
    page = text(client.get("/client/login?next=/client/profile"))
    assert "/client/login?next=/client/profile&amp;lang=de" in page


def test_profile_stores_the_language(app, client, auth, euro):
    auth.login("pat@mueller.example")
    token = csrf_token(client, "/client/profile")
    form = {"csrf_token": token, "first_name": "Pat", "last_name": "Müller", "phone": ""}
    response = client.post("/client/profile", data={**form, "locale": "de"})
    assert response.status_code == 303
    with opened(app):
        assert models.Contact.get_by_id(euro["contact"].id).locale == "de"
    page = text(client.get("/client/profile"))
    assert "Ihre Angaben sind gespeichert." in page and html_lang(page) == "de"
    assert '<option value="de" lang="de" selected>Deutsch</option>' in page
    refused = client.post("/client/profile", data={**form, "locale": "klingon"})
    assert refused.status_code == 422 and "Wählen Sie eine Sprache aus der Liste." in text(
        refused)
    with opened(app):
        assert models.Contact.get_by_id(euro["contact"].id).locale == "de"
    back = client.post("/client/profile", data={**form, "locale": ""})  # automatic again
    assert back.status_code == 303
    with opened(app):
        assert models.Contact.get_by_id(euro["contact"].id).locale == ""


def test_errors_and_flashes_are_translated(app, client, euro):
    set_locale(app, models.Contact, euro["contact"].id, "fr")
    client.get("/client/login?lang=fr")
    token = csrf_token(client)
    wrong = client.post("/client/login", data={"csrf_token": token, "email": "pat@mueller.example",
                                               "password": "nope-nope"})
    assert wrong.status_code == 422
    assert "Cette adresse e-mail et ce mot de passe ne correspondent à aucun compte." in text(
        wrong).replace("&#39;", "'")
    page = text(client.get("/client/invoices", follow_redirects=True))
    assert "Veuillez vous connecter pour voir cette page." in page


def test_amount_errors_speak_the_language_and_its_numbers(app, client, auth, euro):
    set_locale(app, models.Contact, euro["contact"].id, "de")
    auth.login("pat@mueller.example")
    import money
    with opened(app), i18n.using("de"):
        with pytest.raises(money.MoneyError) as exc:
            money.parse("zehn", "EUR", "de")
        assert str(exc.value) == "Geben Sie den Betrag als Zahl ein, zum Beispiel 1.250,00."
        assert money.parse("1.234,56", "EUR", "de") == 123456
