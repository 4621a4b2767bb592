"""Mail over TLS with a login, against aiosmtpd on loopback with a certificate made for the
test run: smtps:// (TLS from the first byte), smtp+starttls:// and SMTP AUTH from the URL.
The certificate is self-signed, so delivery works only when PORTAL_SMTP_CA_FILE names it:
without it the server is not trusted and nothing (no password either) is sent."""
import email
import ssl
import subprocess

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

import mail
import models
from tests.conftest import make_app
from tests.core_support import HeldPort, opened, start_smtp_server

USER, PASSWORD = "mailer@portal.test", "s3cret p@ss/word"
QUOTED_PASSWORD = "s3cret%20p%40ss%2Fword"  # as it is written in PORTAL_SMTP_URL


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (subjectAltName, as verification wants)."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    result = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
         "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        capture_output=True, text=True, timeout=60)
    if result.returncode:
        pytest.fail(f"openssl could not make a test certificate:\n{result.stderr}")
    return cert, key


class Inbox:
    """Keeps each message with whether it came over TLS and who had logged in."""

    def __init__(self):
        self.messages = []
        self.logins = []

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(), PASSWORD.encode())
        self.logins.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)  # False: aiosmtpd answers 535 itself

    async def handle_DATA(self, server, session, envelope):
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content),
                              tls, session.authenticated))
        return "250 Message accepted"


def start_server(certificate, implicit_tls):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    if implicit_tls:
        # The whole connection is TLS; aiosmtpd only knows of STARTTLS, so it is told that
        # a login needs no further TLS here.
        tls = {"ssl_context": context, "auth_require_tls": False}
    else:
        tls = {"tls_context": context, "require_starttls": True}
    controller = start_smtp_server(inbox, HeldPort(), authenticator=inbox.authenticate,
                                   auth_required=True, **tls)
    return controller, inbox


SCHEMES = {"smtps": True, "smtp+starttls": False}
# aiosmtpd warns of a login without STARTTLS: with smtps:// the connection is TLS throughout.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(params=sorted(SCHEMES))
def server(request, certificate):
    scheme = request.param
    controller, inbox = start_server(certificate, SCHEMES[scheme])
    yield scheme, controller.port, inbox
    controller.stop()


def send_one(tmp_path, url, ca_file):
    app = make_app(tmp_path, SMTP_URL=url, SMTP_CA_FILE=ca_file)
    with opened(app):
        message = mail.queue("client@mail.example", "Invoice INV-1", "Please find it here.")
        delivered = mail.deliver(models.EmailMessage.get_by_id(message.id), app.config)
        return delivered, models.EmailMessage.get_by_id(message.id)


def test_delivered_over_tls_after_logging_in(tmp_path, server, certificate):
    scheme, port, inbox = server
    url = f"{scheme}://{USER.replace('@', '%40')}:{QUOTED_PASSWORD}@127.0.0.1:{port}"
    delivered, row = send_one(tmp_path, url, str(certificate[0]))
    assert delivered and (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert inbox.logins == [(inbox.logins[0][0], True)]
    ((rcpt, message, tls, authenticated),) = inbox.messages
    assert rcpt == ["client@mail.example"] and message["Subject"] == "Invoice INV-1"
    assert tls and authenticated


def test_a_wrong_password_keeps_the_message_for_a_retry(tmp_path, server, certificate):
    scheme, port, inbox = server
    url = f"{scheme}://{USER.replace('@', '%40')}:wrong@127.0.0.1:{port}"
    delivered, row = send_one(tmp_path, url, str(certificate[0]))
    assert not delivered and inbox.messages == []
    assert inbox.logins and not any(ok for _, ok in inbox.logins)  # smtplib tries each way
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.last_error.startswith("SMTPAuthenticationError: (535")
    assert row.next_attempt_at > models.utcnow()  # retried later, with back-off


def test_without_a_login_the_server_refuses_and_the_message_waits(tmp_path, server,
                                                                   certificate):
    scheme, port, inbox = server
    delivered, row = send_one(tmp_path, f"{scheme}://127.0.0.1:{port}", str(certificate[0]))
    assert not delivered and inbox.messages == [] and inbox.logins == []
    assert (row.status, row.attempts) == ("queued", 1)
    assert "SMTP" in row.last_error and "530" in row.last_error


def test_a_server_whose_certificate_is_not_trusted_gets_nothing(tmp_path, server):
    """Without PORTAL_SMTP_CA_FILE the system's CAs decide: a self-signed server is refused
    before the password is sent (smtplib's own default would have accepted it)."""
    scheme, port, inbox = server
    url = f"{scheme}://{USER.replace('@', '%40')}:{QUOTED_PASSWORD}@127.0.0.1:{port}"
    delivered, row = send_one(tmp_path, url, "")
    assert not delivered and inbox.messages == [] and inbox.logins == []
    assert (row.status, row.attempts) == ("queued", 1)
    assert "CERTIFICATE_VERIFY_FAILED" in row.last_error
