"""Two `portal serve` processes on one database, one instance folder and one Redis (DESIGN.md
§1, §10): what one process knows, the other must too. CI runs this on PostgreSQL (the
deployment it describes) and on SQLite (one file shared by two processes on one machine)."""
import os
import re
import shutil
import subprocess
import threading

import pytest
import redis
import requests

import models
import portal
from bench.run import HarnessError, Server
from tests import factories
from tests.conftest import TEST_DB, make_app
from tests.core_support import HeldPort, opened, wait_for_server
from tests.payments_support import make_gateway

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="key" value="([^"]+)"')


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server = shutil.which("redis-server")
    assert server, "redis-server is missing: tests/run.sh installs Debian's redis-server"
    port = HeldPort()
    port.release()  # redis-server binds it next
    folder = tmp_path_factory.mktemp("redis")
    log_path = folder / "redis.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save",
                                 "", "--appendonly", "no", "--dir", str(folder)],
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for_server("redis-server", lambda: redis.Redis.from_url(url).ping(), proc,
                        log_path, timeout=30)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def serve(env, log_path):
    """`portal serve` in a subprocess, answering /healthz (the bench's launcher)."""
    try:
        return Server(env, 4, log_path)
    except HarnessError as exc:
        with open(log_path) as log:
            pytest.fail(f"portal serve did not come up: {exc}\n{log.read()}")


@pytest.fixture
def servers(tmp_path, redis_url):
    """Servers A and B, and the records the tests use; Redis starts empty each time."""
    redis.Redis.from_url(redis_url).flushdb()
    app = make_app(tmp_path)
    with opened(app):
        client = factories.client(name="Shared Ltd")
        contact = factories.contact(client, email="pat@shared.example")
        invoice = factories.invoice(client)  # 100.00, sent
        make_gateway("demo")
        factories.staff("staff@shared.example")
    database = TEST_DB or f"sqlite:///{tmp_path}/test.sqlite3"
    instance = tmp_path / "instance"  # shared: uploads, generated files, the secret key
    env = {**os.environ, "PORTAL_DATABASE_URL": database, "PORTAL_INSTANCE_PATH": str(instance),
           "PORTAL_RATELIMIT_STORAGE_URL": redis_url, "PORTAL_BASE_URL": "http://portal.test"}
    env.pop("PORTAL_SECRET_KEY", None)  # both read the instance's generated key
    first = serve(env, tmp_path / "a.log")  # A writes the instance secret; B then reads it
    second = serve(env, tmp_path / "b.log")
    yield {"a": first.url, "b": second.url, "app": app, "invoice": invoice, "client": client,
           "contact": contact}
    first.stop()
    second.stop()


def form_token(session, url):
    response = session.get(url, timeout=10)
    return CSRF.search(response.text).group(1)


def log_in(session, base, email="pat@shared.example", password=factories.PASSWORD):
    return session.post(base + "/client/login", timeout=10, allow_redirects=False, data={
        "email": email, "password": password,
        "csrf_token": form_token(session, base + "/client/login")})


def test_a_login_limit_counts_across_both_processes(servers):
    a, b = servers["a"], servers["b"]
    codes = []
    for attempt in range(6):  # the per-account budget is 5 a minute (views/limits.py)
        session = requests.Session()
        base = (a, b)[attempt % 2]
        codes.append(log_in(session, base, password="wrong-password").status_code)
    # Kept per process, B would have counted only three and answered 422 again.
    assert codes == [422] * 5 + [429], codes
    # The right password is refused too while the account's budget is spent, on either.
    assert log_in(requests.Session(), a).status_code == 429


def test_a_session_made_by_one_process_works_on_the_other(servers):
    session = requests.Session()
    assert log_in(session, servers["a"]).status_code == 302
    page = session.get(servers["b"] + "/client/invoices", timeout=10, allow_redirects=False)
    assert page.status_code == 200 and servers["invoice"].number in page.text
    logout = session.post(servers["b"] + "/client/logout", timeout=10, allow_redirects=False,
                          data={"csrf_token": CSRF.search(page.text).group(1)})
    assert logout.status_code in (302, 303)
    # Logged out on B: the same cookie is dead on A as well.
    gone = session.get(servers["a"] + "/client/invoices", timeout=10, allow_redirects=False)
    assert gone.status_code == 302 and "/client/login" in gone.headers["Location"]


def test_racing_payments_through_both_processes_charge_once(servers):
    invoice = servers["invoice"]
    with opened(servers["app"]):
        token = models.GatewayToken.create(
            client=servers["client"], gateway=models.GatewayConfig.get(kind="demo"),
            token="demo_ok_multi", brand="visa", last4="4242")
    signed_in = requests.Session()
    assert log_in(signed_in, servers["a"]).status_code == 302  # one login: a limit counts them
    forms = []
    for i in range(8):  # eight tabs, four on each process, each with its own form and key
        base = (servers["a"], servers["b"])[i % 2]
        session = requests.Session()
        session.cookies.update(signed_in.cookies)
        review = session.post(base + "/client/invoices/payment", timeout=10, data={
            "csrf_token": form_token(session, base + "/client/invoices"),
            "invoices": invoice.public_id})
        forms.append((session, base, {
            "csrf_token": CSRF.search(review.text).group(1), "step": "pay",
            "key": KEY.search(review.text).group(1), "invoices": invoice.public_id,
            "method": f"token:{token.public_id}"}))
    barrier = threading.Barrier(len(forms), timeout=60)
    codes = [None] * len(forms)

    def submit(i):
        session, base, data = forms[i]
        barrier.wait()
        codes[i] = session.post(base + "/client/invoices/payment", data=data, timeout=60,
                                allow_redirects=False).status_code

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(forms))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
        assert not thread.is_alive(), "a payment request never finished"
    assert sorted(codes) == [303] + [422] * (len(forms) - 1), codes
    with opened(servers["app"]):
        P = models.Payment
        completed = list(P.for_client(servers["client"].id).where(P.status == "completed"))
        assert [p.amount for p in completed] == [10000]
        charged = models.DemoCharge.select().where(models.DemoCharge.idempotency_key.in_(
            [p.idempotency_key for p in P.for_client(servers["client"].id)]))
        assert sum(c.amount for c in charged) == 10000
        assert models.Invoice.get_by_id(invoice.id).balance == 0


def test_a_document_uploaded_through_one_downloads_through_the_other(servers):
    staff = requests.Session()
    signed_in = staff.post(servers["a"] + "/admin/login", timeout=10, allow_redirects=False, data={
        "email": "staff@shared.example", "password": factories.PASSWORD,
        "csrf_token": form_token(staff, servers["a"] + "/admin/login")})
    assert signed_in.status_code == 302
    content = b"%PDF-1.4 shared between processes"
    uploaded = staff.post(
        servers["a"] + "/admin/documents/", timeout=10, allow_redirects=False,
        data={"csrf_token": form_token(staff, servers["a"] + "/admin/documents/"),
              "client_id": str(servers["client"].id), "is_public": "1"},
        files={"file": ("terms.pdf", content, "application/pdf")})
    assert uploaded.status_code == 303
    contact = requests.Session()
    assert log_in(contact, servers["b"]).status_code == 302
    listing = contact.get(servers["b"] + "/client/documents", timeout=10)
    link = re.search(r'href="(/client/documents/[^"]+/download)"', listing.text)
    assert link, listing.text
    download = contact.get(servers["b"] + link.group(1), timeout=10)
    assert download.status_code == 200 and download.content == content


def allowed_cpus(pid):
    """The CPUs each thread of a process may run on, read from /proc."""
    found = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/status") as status:
            found.add(next(line.split(":")[1].strip() for line in status
                           if line.startswith("Cpus_allowed_list")))
    return found


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="CPU affinity is Linux's")
def test_every_thread_of_a_served_process_stays_on_its_one_cpu(tmp_path):
    """`portal serve` keeps its threads (waitress's and the PDF worker) on the CPU its port
    picks: spread over two they served a sixth as many requests (portal.serving_cpu)."""
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
           "PORTAL_DATABASE_URL": TEST_DB or f"sqlite:///{tmp_path}/serve.sqlite3"}
    server = serve(env, tmp_path / "serve.log")
    try:
        requests.get(server.url + "/client/login", timeout=10)  # threads busy once
        cpu = portal.serving_cpu("auto", server.port, os.sched_getaffinity(0))
        threads = os.listdir(f"/proc/{server.proc.pid}/task")
        assert len(threads) >= 4  # the main thread, waitress's two, the PDF worker
        assert allowed_cpus(server.proc.pid) == (
            {str(cpu)} if cpu is not None else allowed_cpus(os.getpid()))
    finally:
        server.stop()
