"""Throughput of two `portal serve` processes against one, on the same machine and database.

    python bench/processes.py                       # the demo data on a temp SQLite file
    PORTAL_DATABASE_URL=postgresql://... python bench/processes.py   # on PostgreSQL

One process is loaded with 16 connections; then two processes (sharing the instance folder,
so one session cookie works on both) with 8 connections each at the same time, and their
rates are added. Each figure is the median of its rounds. DESIGN.md §1 targets 1.6x.
"""
import argparse
import concurrent.futures
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.run import (  # noqa: E402
    USER_AGENT,
    HarnessError,
    Server,
    ensure_wrk,
    fetch,
    instance_env,
    log_in,
    median,
    wrk,
)

TARGET = 1.6
DEMO_LOGIN = ("ap@northwind.example", "demo-password")


def load(urls, headers, duration, connections):
    """wrk against each url at once, connections split between them; the summed rate."""
    each = connections // len(urls)
    with concurrent.futures.ThreadPoolExecutor(len(urls)) as pool:
        results = list(pool.map(lambda url: wrk(url, headers, duration, each), urls))
    for result in results:
        if result["non_2xx"] or result["socket_errors"]:
            raise HarnessError(f"errors under load: {result}")
    return sum(r["rps"] for r in results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=4, help="waitress threads per process")
    args = parser.parse_args(argv)
    ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="portal-processes-") as instance:
        env = instance_env(instance)
        if os.environ.get("PORTAL_DATABASE_URL"):
            env["PORTAL_DATABASE_URL"] = os.environ["PORTAL_DATABASE_URL"]
        subprocess.run([sys.executable, "-c", "import portal; portal.cli()", "demo"], cwd=ROOT,
                       env=env, check=True, capture_output=True)
        log = os.path.join(instance, "serve.log")
        # Each process on a CPU of its own, as consecutive ports would give (README).
        cpus = [str(cpu) for cpu in sorted(os.sched_getaffinity(0))] * 2
        servers = [Server(env, args.threads, log, cpus[0])]
        try:
            cookie = log_in(servers[0].url, *DEMO_LOGIN)
            headers = {"Cookie": cookie, "User-Agent": USER_AGENT, "HX-Request": "true"}
            path = "/client/invoices"
            status, body = fetch(servers[0].url + path, headers)
            if status != 200 or "INV-" not in body:
                raise HarnessError(f"{path} answered {status}, not the invoices")
            wrk(servers[0].url + path, headers, 2, args.connections)  # warm-up
            servers.append(Server(env, args.threads, log, cpus[1]))
            if fetch(servers[1].url + path, headers)[0] != 200:
                raise HarnessError("the second process does not accept the first's session")
            wrk(servers[1].url + path, headers, 2, args.connections)
            one, two = [], []
            for _ in range(args.rounds):  # interleaved, so drifting load hits both alike
                one.append(load([servers[0].url + path], headers, args.duration,
                                args.connections))
                two.append(load([s.url + path for s in servers], headers, args.duration,
                                args.connections))
        finally:
            for server in servers:
                server.stop()
    ratio = median(two) / median(one)
    print(f"Invoices fragment, {args.connections} connections, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  one process:   {median(one):7.1f} req/s  (rounds: "
          f"{', '.join(f'{r:.0f}' for r in one)})")
    print(f"  two processes: {median(two):7.1f} req/s  (rounds: "
          f"{', '.join(f'{r:.0f}' for r in two)})")
    print(f"  two / one:     {ratio:.2f}x  (target {TARGET}x)")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as exc:
        print(f"harness failed: {exc}", file=sys.stderr)
        sys.exit(2)
