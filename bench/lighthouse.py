"""Lighthouse accessibility scores of the portal's pages at 375 and 1280 px (issue 13).

    python bench/lighthouse.py                      # every page, both widths, ~12 min
    python bench/lighthouse.py --pages invoices quote --widths 375
    python bench/lighthouse.py --json scores.json   # also keep the figures

Not part of CI. Needs Lighthouse (npm; 12.x runs on Node 20):
    npm install --prefix /tmp/lh lighthouse@12
found as $LIGHTHOUSE, else `lighthouse` on PATH, else /tmp/lh/node_modules/.bin/lighthouse;
and Chromium ($CHROME_PATH, default Debian's /usr/bin/chromium).

Seeds the demo company on a temp SQLite instance, serves it with `portal serve` on
127.0.0.1, logs in as the demo contact and the demo staff member (CSRF token from the form)
and hands the session cookie to Lighthouse as an extra header. Runs one Lighthouse at a
time (the machine is shared) and prints page x width: the score and the failing audits.
Exit status 0 when every page scores 100, 1 when one does not, 2 when the harness failed.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.run import HarnessError, Server, instance_env  # noqa: E402

CONTACT = ("ap@northwind.example", "demo-password")  # demo client with every kind of record
STAFF = ("staff@demo.example", "staff-password")
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-background-networking "
                "--disable-component-update --disable-sync --no-first-run")
# Lighthouse's own phone is 412 px wide and its desktop preset 1350 px: pin both to the
# widths the portal is designed and tested at.
WIDTHS = {
    375: ["--screenEmulation.mobile", "--screenEmulation.width=375",
          "--screenEmulation.height=812", "--screenEmulation.deviceScaleFactor=2"],
    1280: ["--preset=desktop", "--screenEmulation.width=1280",
           "--screenEmulation.height=800", "--screenEmulation.deviceScaleFactor=1"],
}


def lighthouse_command():
    found = (os.environ.get("LIGHTHOUSE") or shutil.which("lighthouse")
             or "/tmp/lh/node_modules/.bin/lighthouse")
    if not os.path.exists(found):
        raise HarnessError("Lighthouse is missing: npm install --prefix /tmp/lh lighthouse@12")
    return found


def log_in(base_url, path, email, password):
    session = requests.Session()
    html = session.get(base_url + path, timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not token:
        raise HarnessError(f"no CSRF token on {path}")
    answer = session.post(base_url + path, timeout=10, data={
        "email": email, "password": password, "csrf_token": token.group(1)})
    if answer.url.endswith(path) or "session" not in session.cookies:
        raise HarnessError(f"logging in at {path} as {email} failed")
    return session


def first_link(session, base_url, list_path, pattern):
    """The first record a list links to; None when the list (or the record) is not there."""
    html = session.get(base_url + list_path, timeout=10).text
    found = re.findall('href="(' + pattern + ')"', html)
    return found[0] if found else None


def payable_invoice(session, base_url):
    """An invoice the contact can pay: its page carries the pay form."""
    html = session.get(base_url + "/client/invoices", timeout=10).text
    for path in dict.fromkeys(re.findall(r'href="(/client/invoices/[\w-]{8,})"', html)):
        page = session.get(base_url + path, timeout=10).text
        if re.search(r'name="invoices" value="[\w-]+"', page):
            return path
    raise HarnessError("no payable invoice on the first page of invoices")


def pages(base_url, contact, staff):
    """(name, path, session or None), in the order of the table; URLs found by browsing."""
    invoice = payable_invoice(contact, base_url)
    public_id = invoice.rsplit("/", 1)[1]
    edit = re.findall(r'href="(/admin/invoices/\d+/edit)"',
                      staff.get(base_url + "/admin/invoices", timeout=10).text)
    # The back office's home redirects to its first list: score the page a person lands on.
    dashboard = urllib.parse.urlsplit(staff.get(base_url + "/admin/", timeout=10).url).path
    return [
        ("login", "/client/login", None),
        ("password reset", "/client/password/reset", None),
        ("invoices", "/client/invoices", contact),
        ("invoice", invoice, contact),
        ("pay invoice", "/client/invoices/payment?invoices=" + public_id, contact),
        ("payments", "/client/payments", contact),
        ("payment", first_link(contact, base_url, "/client/payments",
                               r"/client/payments/[\w-]{8,}"), contact),
        ("quotes", "/client/quotes", contact),
        ("quote", first_link(contact, base_url, "/client/quotes",
                             r"/client/quotes/[\w-]{8,}"), contact),
        ("credits", "/client/credits", contact),
        ("credit", first_link(contact, base_url, "/client/credits",
                              r"/client/credits/[\w-]{8,}"), contact),
        ("recurring", "/client/recurring_invoices", contact),
        ("recurring invoice", first_link(contact, base_url, "/client/recurring_invoices",
                                         r"/client/recurring_invoices/[\w-]{8,}"), contact),
        ("documents", "/client/documents", contact),
        ("statement", "/client/statement", contact),
        ("payment methods", "/client/payment_methods", contact),
        ("subscriptions", "/client/subscriptions", contact),
        ("subscription", first_link(contact, base_url, "/client/subscriptions",
                                    r"/client/subscriptions/[\w-]{8,}"), contact),
        ("pre-payment", "/client/pre_payment", contact),
        ("profile", "/client/profile", contact),
        ("admin dashboard", dashboard, staff),
        ("admin clients", "/admin/clients", staff),
        ("admin client", first_link(staff, base_url, "/admin/clients",
                                    r"/admin/clients/\d+"), staff),
        ("admin invoice editor", edit[0] if edit else "/admin/invoices/new", staff),
    ]


def exists(base_url, path, session):
    """Skip a page the checkout does not have (an older commit), rather than score a 404."""
    if path is None:
        return False
    answer = (session or requests).get(base_url + path, timeout=30, allow_redirects=False)
    return answer.status_code == 200


def run_lighthouse(command, url, width, session, workdir):
    report = os.path.join(workdir, "report.json")
    args = [command, url, "--only-categories=accessibility", "--output=json",
            f"--output-path={report}", "--quiet", f"--chrome-flags={CHROME_FLAGS}",
            *WIDTHS[width]]
    if session is not None:
        headers = os.path.join(workdir, "headers.json")
        with open(headers, "w") as f:
            json.dump({"Cookie": "session=" + session.cookies["session"]}, f)
        args.append(f"--extra-headers={headers}")
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode or not os.path.exists(report):
        raise HarnessError(f"Lighthouse failed on {url}: {done.stderr[-2000:]}")
    with open(report) as f:
        result = json.load(f)
    os.remove(report)
    landed = urllib.parse.urlsplit(result["finalDisplayedUrl"]).path
    if landed != urllib.parse.urlsplit(url).path:  # e.g. sent back to the login page
        raise HarnessError(f"{url} ended at {landed}")
    if result["configSettings"]["screenEmulation"]["width"] != width:
        raise HarnessError(f"Lighthouse ignored the width {width} px")
    if result.get("runtimeError"):
        raise HarnessError(f"{url}: {result['runtimeError']}")
    failing = [ref["id"] for ref in result["categories"]["accessibility"]["auditRefs"]
               if ref["weight"] and result["audits"][ref["id"]]["score"] == 0]
    return {"score": round(result["categories"]["accessibility"]["score"] * 100),
            "failing": failing, "lighthouse": result["lighthouseVersion"],
            "chrome": result["environment"]["hostUserAgent"]}


def table(rows, widths):
    lines = ["| page | " + " | ".join(f"{w} px" for w in widths) + " |",
             "|---|" + "---|" * len(widths)]
    for name, by_width in rows:
        cells = []
        for w in widths:
            got = by_width.get(w)
            if got is None:
                cells.append("-")
            else:
                cells.append(str(got["score"]) + (" (" + ", ".join(got["failing"]) + ")"
                                                  if got["failing"] else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", nargs="+", metavar="NAME",
                        help="only these pages (names as in the table; 'pay invoice' quoted)")
    parser.add_argument("--widths", nargs="+", type=int, choices=sorted(WIDTHS),
                        default=sorted(WIDTHS))
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        command = lighthouse_command()
        with tempfile.TemporaryDirectory(prefix="portal-lighthouse-") as instance:
            env = instance_env(instance)
            subprocess.run([sys.executable, "-c", "import portal; portal.cli()", "demo"],
                           cwd=ROOT, env=env, check=True, capture_output=True)
            server = Server(env, 2, os.path.join(instance, "serve.log"))
            try:
                base = server.url
                contact = log_in(base, "/client/login", *CONTACT)
                staff = log_in(base, "/admin/login", *STAFF)
                rows, about = [], {}
                for name, path, session in pages(base, contact, staff):
                    if args.pages and name not in args.pages:
                        continue
                    if not exists(base, path, session):
                        missing = path or "the record"
                        print(f"{name}: {missing} is not in this checkout, skipped", flush=True)
                        rows.append((name, {}))
                        continue
                    by_width = {}
                    for width in args.widths:
                        by_width[width] = run_lighthouse(command, base + path, width, session,
                                                         instance)
                        about = by_width[width]
                        print(f"{name} {width}px: {by_width[width]['score']} "
                              f"{' '.join(by_width[width]['failing'])}", flush=True)
                    rows.append((name, by_width))
            finally:
                server.stop()
    except HarnessError as exc:
        print(f"harness failed: {exc}", file=sys.stderr)
        return 2
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    print(f"\ncommit {commit}, Lighthouse {about.get('lighthouse')}, {about.get('chrome')}\n")
    print(table(rows, args.widths))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"commit": commit, "lighthouse": about.get("lighthouse"),
                       "chrome": about.get("chrome"),
                       "pages": [{"page": name, **{str(w): r for w, r in by_width.items()}}
                                 for name, by_width in rows]}, f, indent=1)
    scores = [r["score"] for _name, by_width in rows for r in by_width.values()]
    return 0 if all(s == 100 for s in scores) else 1


if __name__ == "__main__":
    sys.exit(main())
