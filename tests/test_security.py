"""DESIGN.md §9: every <id> and key route as the wrong contact, CSRF on every POST, headers,
module switches, and bad input that must change nothing and leak nothing."""
import re

import pytest

import models
from billing.accounts import wait_for_queued_resets
from extensions import limiter
from portal import create_app
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened, post, records_for, snapshot
from views.tabs import TABS

# Which record kind a `<public_id>` stands for, by blueprint (records_for() makes each kind).
PUBLIC_ID_KINDS = {
    "invoices": "invoices", "quotes": "quotes", "credits": "credits",
    "payments": "payments", "recurring": "recurring", "payment_methods": "payment_methods",
    "documents": "documents", "subscriptions": "subscriptions", "pre_payment": "pre_payment",
    "checkout": "pending_payments", "statement": "statement_files",
    "purchase": "plans",
}
# Kinds anybody may open (a plan's public purchase page): no other client's record to be
# refused, but a malformed or unknown id is still simply not found.
PUBLIC_KINDS = {"plans"}
# Which capability key a `<key>` stands for, by endpoint.
KEY_KINDS = {
    "invitations.invoice": "invoice", "invitations.quote": "quote",
    "invitations.credit": "credit", "auth.reset_confirm": "reset",
    "auth.verify_email": "verify", "profile.confirm_email": "email",
}
ID_ARGS = {"public_id", "id"}
KEY_ARGS = {"key", "invitation_key"}


def _rules():
    """The URL map, read at collection time for the parametrized walks. The app is built
    with limits off, and the shared database handle is put back as it was, so collecting
    this module changes nothing another test could see."""
    previous, enabled = models.db.obj, limiter.enabled
    try:
        app = create_app({"TESTING": True, "DATABASE_URL": "sqlite:///:memory:",
                          "SECRET_KEY": "collect", "RATELIMIT_ENABLED": False})
        return list(app.url_map.iter_rules())
    finally:
        if not models.db.is_closed():
            models.db.close()
        models.db.initialize(previous)
        limiter.enabled = enabled


RULES = _rules()
CLIENT_ID_RULES = [r for r in RULES if r.rule.startswith("/client/") and r.arguments]
POST_RULES = [r for r in RULES if "POST" in r.methods
              and not r.rule.startswith(("/webhooks/", "/api/"))]


def methods(rule):
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def kind_of(rule, arg):
    if arg in ID_ARGS:
        return PUBLIC_ID_KINDS.get(rule.endpoint.split(".")[0])
    if arg in KEY_ARGS:
        return KEY_KINDS.get(rule.endpoint)
    return None


@pytest.fixture
def two_clients(app):
    """Clients A (contact a1) and B (contact b1), each with one record of every kind."""
    with opened(app):
        factories.company(prepayments_enabled=True)
        people = factories.two_clients()
        a, b, a1, b1 = people["a"], people["b"], people["a1"], people["b1"]
        side = {}
        for name, client_, contact in (("a", a, a1), ("b", b, b1)):
            records, keys = records_for(client_)
            reset_key = "reset-" + name + "x" * 40
            models.PasswordReset.create(contact=contact, token_hash=models.hash_token(reset_key),
                                        expires_at=models.utcnow().replace(year=2100))
            keys["reset"] = reset_key
            verify_key = "verify-" + name + "x" * 40
            models.PasswordReset.create(contact=contact, token_hash=models.hash_token(verify_key),
                                        expires_at=models.utcnow().replace(year=2100),
                                        purpose="verify")
            keys["verify"] = verify_key
            email_key = "email-" + name + "x" * 40
            models.PasswordReset.create(contact=contact, token_hash=models.hash_token(email_key),
                                        expires_at=models.utcnow().replace(year=2100),
                                        purpose="email")
            models.Contact.update(pending_email=f"new-{name}@example.com").where(
                models.Contact.id == contact.id).execute()
            keys["email"] = email_key
            ids = {kind: record.public_id for kind, record in records.items()}
            side[name] = {"ids": ids, "keys": keys, "contact": contact}
    return side


def url_for_values(rule, values):
    """Build the rule's path with a value for each argument."""
    path = rule.rule
    for arg in rule.arguments:
        path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?" + arg + ">", values[arg], path)
    return path


def choice_for(rule, arg):
    """The first choice of an `<any(a, b):arg>` argument, or None."""
    match = re.search(r"<any\(([^)]*)\):" + arg + ">", rule.rule)
    return match.group(1).split(",")[0].strip() if match else None


def values_for(rule, side):
    values = {}
    for arg in rule.arguments:
        kind = kind_of(rule, arg)
        values[arg] = side["ids"][kind] if arg in ID_ARGS else side["keys"][kind]
    return values


def call(client, method, path, token):
    return client.open(path, method=method, headers={"X-CSRFToken": token},
                       data={"password": factories.PASSWORD})


def logged_in(app, email):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post("/client/login", data={"email": email, "password": factories.PASSWORD,
                                                  "csrf_token": token})
    assert response.status_code == 302
    return client, csrf_token(client, "/client/profile")


@pytest.mark.parametrize("rule", CLIENT_ID_RULES, ids=lambda r: r.rule)
def test_foreign_and_malformed_ids_are_404(app, two_clients, rule):
    unmapped = [arg for arg in rule.arguments if kind_of(rule, arg) is None]
    assert not unmapped, (
        f"{rule.rule}: map {unmapped} in tests/test_security.py (PUBLIC_ID_KINDS/KEY_KINDS) "
        "so the cross-client walk covers it")
    client, token = logged_in(app, "a1@alpha.example")
    own = values_for(rule, two_clients["a"])
    foreign = values_for(rule, two_clients["b"])
    with opened(app):
        before = snapshot()
    for method in methods(rule):
        public = {kind_of(rule, arg) for arg in rule.arguments} <= PUBLIC_KINDS
        bad_values = [] if public else [foreign]
        for arg in rule.arguments:
            real = own[arg]
            for bad in ("x" * 300, real[:-1] + ("A" if real[-1] != "A" else "B"), real + "x",
                        real.upper() if real.upper() != real else real.lower(), "..%2F..",
                        "%00", "%E2%80%AE" + real, "1", "-1"):
                bad_values.append({**own, arg: bad})
        for values in bad_values:
            path = url_for_values(rule, values)
            response = call(client, method, path, token)
            assert response.status_code == 404, (method, path, response.status_code)
        with opened(app):
            assert snapshot() == before, (method, rule.rule)
        # Still signed in as a1 (a foreign key did not swap the session)...
        with client.session_transaction() as session:
            assert session["_user_id"].startswith(f"{two_clients['a']['contact'].id}:")
    # ...and the mapping is right: a1's own values are found (so the 404s above mean something).
    for method in methods(rule):
        response = call(client, method, url_for_values(rule, own), token)
        assert response.status_code != 404, (method, rule.rule, "own record not found")


def test_invitation_key_only_opens_its_own_kind(app, two_clients):
    client = app.test_client()
    keys = two_clients["a"]["keys"]
    for kind, other in (("invoice", "quote"), ("quote", "credit"), ("credit", "invoice")):
        assert client.get(f"/client/{other}/{keys[kind]}").status_code == 404
    assert client.get(f"/client/invoice/{keys['invoice']}").status_code == 302


def test_the_walk_maps_every_portal_route_that_takes_an_id_or_key(app):
    """test_foreign_and_malformed_ids_are_404 runs once per rule in CLIENT_ID_RULES: those
    must be every /client/ rule with an argument in the app as the tests build it, each
    argument mapped to a record kind; the money records and every e-mailed key among them."""
    every = sorted(r.rule for r in app.url_map.iter_rules()
                   if r.rule.startswith("/client/") and r.arguments)
    assert every and sorted(r.rule for r in CLIENT_ID_RULES) == every
    unmapped = [(r.rule, arg) for r in CLIENT_ID_RULES for arg in r.arguments
                if kind_of(r, arg) is None]
    assert unmapped == []
    walked = {kind_of(r, arg) for r in CLIENT_ID_RULES for arg in r.arguments}
    assert {"invoices", "quotes", "credits", "payments", "pending_payments", "payment_methods",
            "documents", "recurring"} | set(KEY_KINDS.values()) <= walked


@pytest.mark.parametrize("rule", POST_RULES, ids=lambda r: r.rule)
@pytest.mark.parametrize("token", ["missing", "tampered"])
def test_every_post_needs_a_csrf_token(app, two_clients, rule, token):
    with opened(app):
        staff = factories.staff(email="boss@test.example")
        draft = factories.invoice(models.Client.get(models.Client.name == "Alpha Ltd"),
                                  status="draft")
    if rule.rule.startswith("/admin/"):
        client = app.test_client()
        login_staff(client, staff.email)
    else:
        client, _ = logged_in(app, "a1@alpha.example")
    own = two_clients["a"]
    values = {}
    for arg in rule.arguments:
        kind = kind_of(rule, arg)
        if kind is not None:
            values[arg] = own["ids"][kind] if arg in ID_ARGS else own["keys"][kind]
        elif arg.endswith("_id"):
            values[arg] = str(draft.id)
        else:
            values[arg] = choice_for(rule, arg) or "mark_paid"
    path = url_for_values(rule, values)
    data = {"email": "a1@alpha.example", "password": factories.PASSWORD,
            "new_password": "changed-password", "confirm": "changed-password",
            "first_name": "Changed", "client_name": "X"}
    headers = {}
    if token == "tampered":
        data["csrf_token"] = "IjAwMDAi.Zm9v.YmFy"
        headers["X-CSRFToken"] = "IjAwMDAi.Zm9v.YmFy"
    with opened(app):
        before = snapshot()
    response = client.post(path, data=data, headers=headers)
    assert response.status_code == 400, (path, response.status_code)
    assert "Reload the page" in response.get_data(as_text=True)
    with opened(app):
        assert snapshot() == before


def test_a_sessions_pages_carry_one_csrf_token_that_dies_with_the_session(app, two_clients):
    """Tokens do not expire by age (WTF_CSRF_TIME_LIMIT=None), so each session's is signed
    once and every page carries it; a new login brings a new one, and the old is refused."""
    client, token = logged_in(app, "a1@alpha.example")
    assert csrf_token(client, "/client/invoices") == token
    assert f'"X-CSRFToken": "{token}"' in client.get("/client/payments").get_data(as_text=True)
    assert client.post("/client/logout", data={"csrf_token": token}).status_code == 302
    again = csrf_token(client)
    assert client.post("/client/login", data={"email": "a1@alpha.example",
                                              "password": factories.PASSWORD,
                                              "csrf_token": again}).status_code == 302
    fresh = csrf_token(client, "/client/profile")
    assert fresh != token
    response = client.post("/client/logout", data={"csrf_token": token})
    assert response.status_code == 400
    assert client.post("/client/logout", data={"csrf_token": fresh}).status_code == 302


def test_security_headers(client, auth, world):
    auth.login("a1@alpha.example")
    for path in ("/client/login", "/client/invoices", "/client/invoices/nope", "/admin/login",
                 f"/client/invoices/{world['invoices']['sent'].public_id}/pdf"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, path
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, path
        assert "script-src 'self'" in csp and "style-src 'self'" in csp, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_pages_have_no_inline_script_or_style(client, auth, world):
    auth.login("a1@alpha.example")
    for path in ("/client/login", "/client/invoices",
                 f"/client/invoices/{world['invoices']['sent'].public_id}", "/client/profile"):
        html = client.get(path).get_data(as_text=True)
        assert " style=" not in html and "<style" not in html, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\son[a-z]+=", html), path


# ------------------------------------------------------------------ module switches

TAB_KEYS = [key for key, _, _ in TABS]


@pytest.mark.parametrize("key", TAB_KEYS)
def test_disabled_module_leaves_menu_and_answers_404(app, two_clients, key):
    blueprint = dict((k, e) for k, _, e in TABS)[key].split(".")[0]
    tab_rules = [r for r in RULES if r.endpoint.split(".")[0] == blueprint
                 and "GET" in r.methods]
    invitation_rules = [r for r in RULES if r.endpoint.startswith("invitations.")
                        and KEY_KINDS[r.endpoint] + "s" == key]
    assert tab_rules
    client, token = logged_in(app, "a1@alpha.example")
    page = client.get("/client/invoices" if key != "invoices" else "/client/profile")
    assert f'data-tab="{key}"' in page.get_data(as_text=True)
    index = [r for r in tab_rules if not r.arguments][0]
    assert client.get(index.rule).status_code == 200
    with opened(app):
        factories.company(disabled_modules=f"statement, {key}")
    page = client.get("/client/profile").get_data(as_text=True)
    assert f'data-tab="{key}"' not in page
    assert 'data-tab="profile"' in page
    for rule in tab_rules + invitation_rules:
        path = url_for_values(rule, values_for(rule, two_clients["a"]))
        assert client.get(path).status_code == 404, path
        assert client.get(path, headers={"HX-Request": "true"}).status_code == 404, path


def test_prepayment_tab_needs_prepayments_enabled(client, auth, world):
    auth.login("a1@alpha.example")
    assert 'data-tab="pre_payment"' not in client.get("/client/invoices").get_data(as_text=True)
    assert client.get("/client/pre_payment").status_code == 404


# ------------------------------------------------------------------ bad input

def test_oversized_and_odd_input_gets_clear_4xx(app, client, world):
    with opened(app):
        before = snapshot()
    huge = post(client, "/client/login", {"email": "a" * 300_000, "password": "x"})
    assert huge.status_code == 413
    assert "larger than we accept" in huge.get_data(as_text=True)
    long_email = post(client, "/client/login", {"email": "a" * 5000 + "@x.example",
                                                "password": "p" * 5000})
    assert long_email.status_code == 422
    nul = post(client, "/client/login", {"email": "a1@alpha.example\x00", "password": "x"})
    assert nul.status_code == 400
    assert "not allowed" in nul.get_data(as_text=True)
    # Refused before anything else looks at it, signed in or not (not a redirect to log in).
    assert client.get("/client/invoices?q=%00").status_code == 400
    with opened(app):
        after = snapshot()
    assert after == before


def test_body_limits_are_ours_not_a_dependency_default(app, client, world):
    """Werkzeug 3.1.9 stopped limiting url-encoded fields; our Request class still does."""
    limit = app.config["MAX_BODY_SIZE"]
    with opened(app):
        before = snapshot()
    just_over = post(client, "/client/login", {"email": "a" * limit, "password": "x"})
    assert just_over.status_code == 413
    assert "larger than we accept" in just_over.get_data(as_text=True)
    big_json = client.post("/api/v1/clients", data="[" + "0," * app.config["MAX_JSON_SIZE"] + "0]",
                           content_type="application/json")
    assert big_json.status_code == 413
    under = post(client, "/client/login", {"email": "a" * (limit // 2), "password": "x"})
    assert under.status_code == 422  # read and refused as a bad login, not as too large
    with opened(app):
        assert snapshot() == before


def test_malformed_query_arguments_are_harmless(client, auth, world):
    auth.login("a1@alpha.example")
    for query in ("page=abc", "page=-5", "page=99999999999999999999", "sort=;drop table",
                  "sort=-" + "x" * 500, "status=<script>", "q=" + "%25_" * 200, "q=%00"):
        response = client.get("/client/invoices?" + query)
        assert response.status_code in (200, 400), query
        assert "<script>" not in response.get_data(as_text=True)


def test_no_secret_is_logged_in_activity(app, client, auth, world):
    """Walk the flows that handle passwords and keys; none of them may end up in the log."""
    secrets = [factories.PASSWORD, "wrong-password-123", "brand-new-pass-9"]
    auth.login("a1@alpha.example", "wrong-password-123")
    auth.login("a1@alpha.example")
    with opened(app):
        staff = factories.staff(email="boss@test.example")
    admin = app.test_client()
    login_staff(admin, staff.email)
    invoice = world["invoices"]["draft"]
    token = csrf_token(admin, "/admin/invoices")
    admin.post(f"/admin/invoices/{invoice.id}/email", data={"csrf_token": token})
    anon = app.test_client()
    post(anon, "/client/password/reset", {"email": "a2@alpha.example"},
         token_from="/client/password/reset")
    wait_for_queued_resets()
    with opened(app):
        bodies = [m.body_text for m in models.EmailMessage.select()]
    keys = re.findall(r"/client/(?:invoice|password/reset)/([A-Za-z0-9_-]{20,})", "\n".join(bodies))
    assert len(keys) >= 3
    reset_link = [b for b in bodies if "password/reset/" in b][0]
    reset_key = re.search(r"/client/password/reset/(\S+)", reset_link).group(1)
    post(anon, f"/client/password/reset/{reset_key}",
         {"password": "brand-new-pass-9", "confirm": "brand-new-pass-9"},
         token_from=f"/client/password/reset/{reset_key}")
    anon.get(f"/client/invoice/{keys[0]}")
    with opened(app):
        rows = list(models.Activity.select().tuples())
        hashes = [c.password_hash for c in models.Contact.select()]
    assert len(rows) >= 5
    text = "\n".join(" ".join(str(v) for v in row) for row in rows)
    for secret in secrets + keys + hashes:
        assert secret not in text
