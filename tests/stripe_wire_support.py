"""Every request our server sends Stripe, as it reaches the wire: `proxy` stands between the
stripe package and localstripe (which ignores Idempotency-Key and off_session) and records
each request's method, path, Idempotency-Key and form fields; `proxied_stripe_gateway` is a
Stripe gateway whose API calls go through it. Registered for every test module through
conftest's pytest_plugins (tests/test_stripe_idempotency.py, test_prepayments_stripe.py)."""
import http.client
import http.server
import json
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.core_support import opened
from tests.payments_support import WEBHOOK_SECRET, make_gateway

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class RecordingProxy(http.server.ThreadingHTTPServer):
    """Forwards each request to localstripe and records (method, path, Idempotency-Key,
    form fields).

    Like Stripe, a POST whose key was seen before is answered with the first answer and not
    forwarded again. lose_answer(path) forwards the next POST to path but drops the
    connection instead of answering: the charge is made, the caller never hears of it;
    answer_as(path, **fields) changes what its answer says.
    """

    daemon_threads = True

    def __init__(self, upstream):
        self.upstream = urlsplit(upstream)
        self.requests = []
        self.answers = {}
        self.lose = set()
        self.rewrite = {}
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), ProxyHandler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def lose_answer(self, path):
        self.lose.add(path)

    def answer_as(self, path, **fields):
        """The next POST to path is made, and its JSON answer says `fields` instead (what
        Stripe answers and localstripe never does, e.g. a bank still "processing")."""
        self.rewrite[path] = fields

    def posts(self, path=None):
        return [(p, key) for method, p, key, _fields in self.requests
                if method == "POST" and (path is None or p == path)]

    def posted_fields(self, path):
        """The form fields of each POST to path, as {name: value} (Stripe's a[b] names)."""
        return [fields for method, p, _key, fields in self.requests
                if method == "POST" and p == path]


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _forward(self):
        proxy = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.headers.get("Idempotency-Key")
        path = urlsplit(self.path).path
        with proxy.lock:
            fields = {name: values[-1] for name, values in
                      parse_qs(body.decode("utf-8", "replace")).items()}
            proxy.requests.append((self.command, path, key, fields))
            replay = proxy.answers.get(key) if self.command == "POST" and key else None
        if replay is None:
            upstream = http.client.HTTPConnection(proxy.upstream.hostname,
                                                  proxy.upstream.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            with proxy.lock:
                fields = proxy.rewrite.pop(path, None) if self.command == "POST" else None
            if fields:
                data = json.dumps({**json.loads(data), **fields}).encode()
            replay = (answer.status, [(k, v) for k, v in answer.getheaders()
                                      if k.lower() not in HOP_BY_HOP], data)
            upstream.close()
            if self.command == "POST" and key and answer.status < 500:
                with proxy.lock:
                    proxy.answers[key] = replay
            with proxy.lock:
                lost = self.command == "POST" and path in proxy.lose
                proxy.lose.discard(path)
            if lost:
                self.close_connection = True
                self.connection.shutdown(2)
                return
        status, headers, data = replay
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _forward


@pytest.fixture
def proxy(localstripe):
    server = RecordingProxy(localstripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)
    assert not thread.is_alive(), "the recording proxy did not stop"


@pytest.fixture
def proxied_stripe_gateway(app, localstripe, proxy):
    """The Stripe gateway, its API calls through the proxy; Stripe.js still goes straight
    to localstripe (the browser's calls are not ours to key)."""
    with opened(app):
        config = make_gateway("stripe", publishable_key="pk_test_portal",
                              secret_key="sk_test_portal", webhook_secret=WEBHOOK_SECRET,
                              api_base=proxy.url, js_url=localstripe + "/js.stripe.com/v3/")
    return config
