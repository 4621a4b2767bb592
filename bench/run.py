"""Performance harness (DESIGN.md §10): seed, serve with waitress, load with wrk, check budgets.

    python bench/run.py            # 3 interleaved rounds of 4 s per endpoint, ~2.5 min
    python bench/run.py --quick    # 2 rounds of 2 s, ~1 min

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

# Budgets from issue 3. Ratios are against /healthz measured in the same run, so they hold
# on a laptop and on a CI box alike.
FRAGMENT_MIN_RATIO = 0.25
P99_MAX_MS = 50.0
SCALE_MAX = 1.5
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

    def __init__(self, env, threads, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import portal; portal.cli()", "serve", "--host",
             "127.0.0.1", "--port", str(self.port), "--threads", str(threads)],
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


def fetch(url, headers):
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers)
    try:
        with opener.open(request, timeout=10) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def targets(base_url, cookie):
    """(name, url, headers, check) for each endpoint; check proves it is the real thing."""
    auth = {"Cookie": cookie, "Accept-Encoding": "identity", "User-Agent": USER_AGENT}
    return [
        ("healthz", base_url + "/healthz", {}, lambda body: '"ok"' in body),
        ("fragment", base_url + "/client/invoices", {**auth, "HX-Request": "true"},
         lambda body: "<html" not in body and "INV-" in body and "Page 1 of" in body),
        ("page", base_url + "/client/invoices", auth,
         lambda body: "<html" in body and "INV-" in body and "Page 1 of" in body),
    ]


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
        print(f"{os.path.basename(instance)}: {seed.invoice_count()} invoices "
              f"(seeded in {time.monotonic() - started:.1f} s)")
        models.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        models.db.close()
        models.db.obj.close_all()


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def measure(servers, args):
    """Interleaved rounds over both datasets and all endpoints, so a neighbour's load that
    comes and goes hits every figure alike; each figure is the median of its rounds."""
    plans = {}
    for label, server in servers.items():
        cookie = log_in(server.url)
        plans[label] = targets(server.url, cookie)
        for name, url, headers, check in plans[label]:
            status, body = fetch(url, headers)
            if status != 200 or not check(body):
                raise HarnessError(f"{label} {name}: {url} answered {status}, "
                                   "not the expected body")
            wrk(url, headers, args.warmup, args.connections)
    samples = {label: {name: [] for name, *_ in plan} for label, plan in plans.items()}
    for _ in range(args.rounds):
        for label, plan in plans.items():
            for name, url, headers, _check in plan:
                result = wrk(url, headers, args.duration, args.connections)
                if result["non_2xx"] or result["socket_errors"]:
                    raise HarnessError(f"{label} {name}: errors under load: {result}")
                samples[label][name].append(result)
    runs = {}
    for label, by_name in samples.items():
        runs[label] = {name: {"rps": median([r["rps"] for r in rs]),
                              "p99_ms": median([r["p99_ms"] for r in rs]),
                              "rounds": rs} for name, rs in by_name.items()}
        for result in runs[label].values():
            result["ratio"] = result["rps"] / runs[label]["healthz"]["rps"]
    return runs


def check_budgets(runs):
    failures = []
    for label, results in runs.items():
        if results["fragment"]["ratio"] < FRAGMENT_MIN_RATIO:
            failures.append(f"{label}: fragment at {results['fragment']['ratio']:.0%} of "
                            f"/healthz (budget >= {FRAGMENT_MIN_RATIO:.0%})")
        for name, result in results.items():
            if result["p99_ms"] >= P99_MAX_MS:
                failures.append(f"{label}: {name} p99 {result['p99_ms']:.1f} ms "
                                f"(budget < {P99_MAX_MS:.0f} ms)")
    small, big = list(runs.values())
    for name in ("fragment", "page"):
        # Compared as ratios to /healthz, so a noisy neighbour slowing the whole run cancels.
        factor = small[name]["ratio"] / big[name]["ratio"]
        if factor > SCALE_MAX:
            failures.append(f"{name}: {factor:.2f}x slower at 100k than at 10k invoices "
                            f"(budget <= {SCALE_MAX}x)")
    return failures


def report(runs):
    print(f"\n{'dataset':<10}{'endpoint':<10}{'req/s':>10}{'p99 ms':>10}{'vs healthz':>12}")
    for label, results in runs.items():
        for name, r in results.items():
            print(f"{label:<10}{name:<10}{r['rps']:>10.0f}{r['p99_ms']:>10.1f}"
                  f"{r['ratio']:>11.0%}")
    small, big = list(runs.values())
    for name in ("fragment", "page"):
        print(f"{name}: 10k/100k cost factor {small[name]['ratio'] / big[name]['ratio']:.2f} "
              f"(absolute req/s {small[name]['rps']:.0f} -> {big[name]['rps']:.0f})")


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
