"""Performance harness (DESIGN.md §10): seed, serve with waitress, load with wrk, check budgets.

    python bench/run.py            # every tab: 3 interleaved rounds of 4 s per endpoint, ~9 min
    python bench/run.py --quick    # 2 rounds of 2 s, ~4 min
    python bench/run.py --quick --tabs payments statement   # only some tabs

Exit status: 0 when every budget holds, 1 when one fails, 2 when the harness itself failed.
Everything runs on 127.0.0.1; the SQLite instances live in a temp folder removed at the end.
"""
import argparse
import datetime as dt
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import seed  # noqa: E402

# Budgets from issue 14 (every tab). Ratios are against /healthz measured in the same run,
# so they hold on a laptop and on a CI box alike.
FRAGMENT_MIN_RATIO = 0.35
PAGE_MIN_RATIO = 0.30
P99_MAX_MS = 50.0
SCALE_MAX = 1.2
BROWSER_ENCODING = "gzip, deflate, br, zstd"  # what Chromium sends: compression is real work


class HarnessError(Exception):
    pass


def ensure_wrk():
    if shutil.which("wrk"):
        return shutil.which("wrk")
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, timeout=300,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not shutil.which("wrk"):
        raise HarnessError("wrk is missing: apt-get install wrk")
    return shutil.which("wrk")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`portal serve` in a subprocess, on loopback, against the bench instance."""

    def __init__(self, env, threads, log_path, cpu="auto"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import portal; portal.cli()", "serve", "--host",
             "127.0.0.1", "--port", str(self.port), "--threads", str(threads), "--cpu", cpu],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"the server exited with {self.proc.returncode}; "
                                   f"see {log_path}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise HarnessError("the server did not answer /healthz within 30 s")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


USER_AGENT = "Mozilla/5.0 (bench) portal-harness"


def log_in(base_url, email=seed.BIG_EMAIL, password=seed.PASSWORD):
    """A contact's session cookie, got the way a browser gets it (CSRF token from the form)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    # The same User-Agent as the load later: the session is bound to it (Flask-Login's
    # session protection), and a mismatch would re-sign the cookie on every request.
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(base_url + "/client/login", timeout=10) as r:
        html = r.read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not token:
        raise HarnessError("no CSRF token on the login page")
    form = urllib.parse.urlencode({"email": email, "password": password,
                                   "csrf_token": token.group(1)}).encode()
    with opener.open(base_url + "/client/login", data=form, timeout=10) as r:
        if not r.url.endswith("/client/invoices"):
            raise HarnessError(f"login did not land on the invoices: {r.url}")
    cookies = {c.name: c.value for c in jar}
    if "session" not in cookies:
        raise HarnessError("no session cookie after login")
    return "session=" + cookies["session"]


def fetch(url, headers, timeout=60):
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers)
    try:
        with opener.open(request, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError as exc:
        raise HarnessError(f"{url} did not answer within {timeout} s: {exc}") from None


# Every portal tab: (name, path, what its body must hold to be the real list).
TABS = (
    ("invoices", "/client/invoices", ("INV-", "Page 1 of")),
    ("recurring", "/client/recurring_invoices", ("REC-", "Page 1 of")),
    ("payments", "/client/payments", ("PAY-", "Page 1 of")),
    ("quotes", "/client/quotes", ("QUO-", "Page 1 of")),
    ("credits", "/client/credits", ("CR-", "Page 1 of")),
    ("payment_methods", "/client/payment_methods", ("•••• 0000",)),
    ("documents", "/client/documents", ("document-", "Page 1 of")),
    ("statement", "/client/statement", ("Closing balance", "Invoice INV-")),
    ("subscriptions", "/client/subscriptions", ("Plan 1", "Page 1 of")),
)


def _holds(markers, page):
    return lambda body: ("<html" in body) == page and all(m in body for m in markers)


def targets(base_url, cookie, tabs=None):
    """(name, url, headers, check) for each endpoint; check proves it is the real thing.
    Each tab twice: its htmx fragment ("<tab> fragment") and its full page ("<tab> page")."""
    auth = {"Cookie": cookie, "Accept-Encoding": "identity", "User-Agent": USER_AGENT}
    plan = [("healthz", base_url + "/healthz", {}, lambda body: '"ok"' in body)]
    for tab, path, markers in TABS:
        if tabs and tab not in tabs:
            continue
        plan.append((f"{tab} fragment", base_url + path, {**auth, "HX-Request": "true"},
                     _holds(markers, page=False)))
        plan.append((f"{tab} page", base_url + path, auth, _holds(markers, page=True)))
    return plan


def wrk(url, headers, duration, connections):
    # One wrk thread drives 16 connections at these rates and leaves a core to the server.
    args = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    for key, value in headers.items():
        if key != "Accept-Encoding":
            args += ["-H", f"{key}: {value}"]
    args += ["-H", f"Accept-Encoding: {BROWSER_ENCODING}", url]
    out = subprocess.run(args, capture_output=True, text=True, timeout=duration + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if not rps or not p99:
        raise HarnessError(f"could not read wrk's output:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(rps.group(1)), "p99_ms": float(p99.group(1)) * scale,
            "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else ""}


def instance_env(instance):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PORTAL_INSTANCE_PATH=instance, PORTAL_ENV="development",
               PORTAL_DATABASE_URL=f"sqlite:///{instance}/portal.sqlite3")
    return env


def seed_instance(instance, step):
    """Run a seeding step against one instance's database, in this process."""
    os.environ.update(instance_env(instance))
    import models
    from portal import create_app
    app = create_app()
    with app.app_context():
        models.db.connect(reuse_if_open=True)
        started = time.monotonic()
        step()
        print(f"{os.path.basename(instance)}: {seed.invoice_count()} invoices, "
              f"{seed.tab_row_counts()} (seeded in {time.monotonic() - started:.1f} s)")
        models.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        models.db.close()
        models.db.obj.close_all()


def drain(server):
    """Wait for the requests wrk left queued (a slow list's backlog outlives wrk's run), so
    they do not weigh on the next endpoint's figures: waitress serves its queue in order."""
    fetch(server.url + "/healthz", {}, timeout=300)


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def measure(servers, args):
    """Interleaved rounds over both datasets and all endpoints, so a neighbour's load that
    comes and goes hits every figure alike; each figure is the median of its rounds."""
    plans = {}
    for label, server in servers.items():
        cookie = log_in(server.url)
        plans[label] = targets(server.url, cookie, args.tabs)
        for name, url, headers, check in plans[label]:
            started = time.monotonic()
            status, body = fetch(url, headers)
            # One request alone, before any load: shows at once a list that is slow by far.
            print(f"{label} {name}: first request {time.monotonic() - started:.3f} s",
                  flush=True)
            if status != 200 or not check(body):
                raise HarnessError(f"{label} {name}: {url} answered {status}, "
                                   "not the expected body")
            wrk(url, headers, args.warmup, args.connections)
            drain(server)
    samples = {label: {name: [] for name, *_ in plan} for label, plan in plans.items()}
    for _ in range(args.rounds):
        for label, plan in plans.items():
            for name, url, headers, _check in plan:
                result = wrk(url, headers, args.duration, args.connections)
                if name == "healthz" and (result["non_2xx"] or result["socket_errors"]):
                    raise HarnessError(f"{label} {name}: errors under load: {result}")
                samples[label][name].append(result)
                drain(servers[label])
    runs = {}
    for label, by_name in samples.items():
        runs[label] = {name: {"rps": median([r["rps"] for r in rs]),
                              "p99_ms": median([r["p99_ms"] for r in rs]),
                              "errors": sum(bool(r["non_2xx"] or r["socket_errors"])
                                            for r in rs),
                              "rounds": rs} for name, rs in by_name.items()}
        for result in runs[label].values():
            result["ratio"] = result["rps"] / runs[label]["healthz"]["rps"]
    return runs


def tab_verdicts(runs):
    """{tab: [(budget, figure, ok)]} for every tab measured, in TABS order."""
    small, big = list(runs.values())
    verdicts = {}
    for tab, _path, _markers in TABS:
        if f"{tab} fragment" not in small:
            continue
        checks = []
        for kind, minimum in (("fragment", FRAGMENT_MIN_RATIO), ("page", PAGE_MIN_RATIO)):
            name = f"{tab} {kind}"
            for label, results in runs.items():
                ratio = results[name]["ratio"]
                checks.append((f"{label} {kind} >= {minimum:.2f}x healthz", f"{ratio:.2f}x",
                               ratio >= minimum))
            for label, results in runs.items():
                # A list too slow for wrk's 5 s timeout shows as errors, not as a p99.
                errors = results[name]["errors"]
                checks.append((f"{label} {kind} answers under load without errors",
                               f"{errors} rounds with errors" if errors else "none",
                               not errors))
            for label, results in runs.items():
                p99 = results[name]["p99_ms"]
                checks.append((f"{label} {kind} p99 < {P99_MAX_MS:.0f} ms", f"{p99:.1f} ms",
                               p99 < P99_MAX_MS))
            # Compared as ratios to /healthz, so a noisy neighbour slowing the run cancels.
            factor = (small[name]["ratio"] / big[name]["ratio"] if big[name]["ratio"]
                      else float("inf"))
            checks.append((f"{kind} 10k/100k <= {SCALE_MAX}x", f"{factor:.2f}x",
                           factor <= SCALE_MAX))
        verdicts[tab] = checks
    return verdicts


def check_budgets(runs):
    failures = [f"{tab}: {budget}: {figure}" for tab, checks in tab_verdicts(runs).items()
                for budget, figure, ok in checks if not ok]
    for label, results in runs.items():
        if results["healthz"]["p99_ms"] >= P99_MAX_MS:
            # Not a budget of ours, but it says the p99 budgets were not measurable today.
            print(f"note: {label} /healthz itself has p99 {results['healthz']['p99_ms']:.1f} ms")
    return failures


def report(runs):
    labels = list(runs)
    print(f"\n{'endpoint':<26}" + "".join(f"{label + ' req/s':>12}{'p99 ms':>9}{'ratio':>8}"
                                          for label in labels))
    for name in runs[labels[0]]:
        print(f"{name:<26}" + "".join(
            f"{runs[label][name]['rps']:>12.0f}{runs[label][name]['p99_ms']:>9.1f}"
            f"{runs[label][name]['ratio']:>8.2f}" for label in labels))
    print("\nbudgets per tab (issue 14): fragment >= "
          f"{FRAGMENT_MIN_RATIO}x and page >= {PAGE_MIN_RATIO}x /healthz, p99 < "
          f"{P99_MAX_MS:.0f} ms at 16 connections, 10k vs 100k within {SCALE_MAX}x")
    for tab, checks in tab_verdicts(runs).items():
        failed = [f"{budget} ({figure})" for budget, figure, ok in checks if not ok]
        print(f"  {'PASS' if not failed else 'FAIL'}  {tab:<16}"
              + ("" if not failed else "; ".join(failed)))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 s")
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per endpoint (median)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2,
                        help="waitress threads (portal serve's default)")
    parser.add_argument("--big", type=int, default=10_000, help="the big client's invoices")
    parser.add_argument("--total", type=int, default=100_000, help="invoices in all")
    parser.add_argument("--others", type=int, default=30, help="other clients")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder")
    parser.add_argument("--tabs", nargs="+", choices=[tab for tab, _, _ in TABS],
                        help="measure only these tabs (default: every tab)")
    parser.add_argument("--json", default=os.path.join(ROOT, "bench", "results"),
                        help="folder for a JSON copy of the results")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds = min(args.duration, 2), min(args.rounds, 2)
    args.warmup = 1
    return args


def main(argv=None):
    args = parse_args(argv)
    ensure_wrk()
    workdir = tempfile.mkdtemp(prefix="portal-bench-")
    small, big = os.path.join(workdir, "small"), os.path.join(workdir, "big")
    os.makedirs(small)
    servers = {}
    try:
        seed_instance(small, lambda: seed.seed_big_client(args.big))
        # The big dataset is the small one plus other clients: the same big client.
        shutil.copytree(small, big)
        seed_instance(big, lambda: seed.seed_others(args.total - args.big, args.others))
        print(f"load average before the run: {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs (wrk and the server share them)")
        for label, instance in ((f"{args.big // 1000}k", small),
                                (f"{args.total // 1000}k", big)):
            servers[label] = Server(instance_env(instance), args.threads,
                                    os.path.join(workdir, f"server-{label}.log"))
        runs = measure(servers, args)
    except HarnessError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    finally:
        for server in servers.values():
            server.stop()
        if args.keep:
            print(f"instances kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report(runs)
    failures = check_budgets(runs)
    os.makedirs(args.json, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    with open(os.path.join(args.json, f"bench-{stamp}.json"), "w") as f:
        json.dump({"args": vars(args), "runs": runs, "failures": failures}, f, indent=2)
    for failure in failures:
        print("BUDGET FAILED:", failure)
    print("all budgets hold" if not failures else f"{len(failures)} budget(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
