"""Mutation testing, each module on its own (run it through tests/mutation.sh).

Each module in tests/mutation_map.toml gets its own mutmut work folder, .mutation/<module>/,
holding links to the code and tests and a setup.cfg whose [mutmut] section mutates that one
module and runs only its mapped test files. mutmut copies the folder into mutants/ and keeps
its results there, so a second run re-tests only the functions that changed since.

Prints a table per module (killed / survived / timeout / score) and writes it, with every
survivor's diff, to .mutation/report.md. A survivor named in docs/mutation.md (in backticks)
is counted as equivalent there.
"""
import argparse
import ast
import concurrent.futures
import configparser
import difflib
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
MAP = ROOT / "tests" / "mutation_map.toml"
EQUIVALENTS_DOC = ROOT / "docs" / "mutation.md"
# Everything a mutated module may import from the mutants/ copy: mutmut puts mutants/ first
# on sys.path, so a package present there must be whole (the other top-level modules come
# from the editable install).
LINKED = ("money.py", "billing", "gateways", "tests")
KILLED_CODES = {1, 3}
TIMEOUT_CODES = {36, 24, -24, 152, 255, -9}
MUTMUT = [sys.executable, str(Path(__file__).resolve().parent / "mutmut_cli.py")]


def load_map():
    with MAP.open("rb") as f:
        return tomllib.load(f)["modules"]


def resolve(name, modules):
    """`billing/allocation.py`, `billing.allocation` or `allocation` to the map's key."""
    wanted = name.removesuffix(".py").replace(".", "/")
    for key in modules:
        stem = key.removesuffix(".py")
        if wanted in (stem, stem.removesuffix("/__init__")) or stem.endswith("/" + wanted):
            return key
    raise SystemExit(f"{name}: not in {MAP.relative_to(ROOT)} (add it with its test files)")


def dotted(module):
    return module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def prepare(module, test_files):
    work = WORK / dotted(module)
    work.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        link = work / name
        if not link.is_symlink():
            link.symlink_to(Path("..", "..", name))
    earlier = _selection(work / "setup.cfg")
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "setup.cfg")
    config["mutmut"] = {
        "source_paths": "\n" + "\n".join(name for name in LINKED if name != "tests"),
        "only_mutate": module,
        "pytest_add_cli_args_test_selection": "\n" + "\n".join(test_files),
        "use_git_change_detection": "false",
        # Plugins load by name only (PYTEST_DISABLE_PLUGIN_AUTOLOAD, see _mutmut): scanning
        # every installed package's entry points cost each mutant about 30 ms. A mapped test
        # takes at most ~3 s; one that a mutant makes loop or wait forever fails after 30 s
        # (the suite's own limit, 600 s, left each such mutant running for ten minutes).
        "pytest_add_cli_args": "\n-p pytest_timeout\n--timeout=30\n-p tests.mutation_order",
        # mutmut's default (15 x the clean run) turns slow survivors into "timeouts" on a
        # busy machine; a real endless loop is still stopped.
        "timeout_multiplier": os.environ.get("PORTAL_MUTATION_TIMEOUT_MULTIPLIER", "60"),
    }
    with (work / "setup.cfg").open("w") as f:
        config.write(f)
    if earlier and set(earlier) <= set(test_files):
        _keep_verdicts(work, test_files)
    return work


def _selection(setup_cfg):
    """The test files a work folder's last run selected (none before its first run)."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(setup_cfg)
    text = config.get("mutmut", "pytest_add_cli_args_test_selection", fallback="")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _keep_verdicts(work, test_files):
    """mutmut forgets every verdict when its test selection changes, but a test file added
    to the map cannot revive a killed mutant: record the new selection as the one the
    verdicts were reached with. run() then re-tests the survivors (the test files changed),
    and mutmut collects the new files' coverage as for any new test."""
    stats = work / "mutants" / "mutmut-stats.json"
    if not stats.exists():
        return
    data = json.loads(stats.read_text())
    fingerprint = data.get("config_fingerprint") or {}
    if "test_selection" in fingerprint:
        # mutmut's own hash of the selection (Config.config_fingerprint).
        fingerprint["test_selection"] = hashlib.sha256(
            repr(tuple(test_files)).encode()).hexdigest()[:12]
        stats.write_text(json.dumps(data))


def run(module, test_files, jobs, database_url="", names=()):
    """mutmut keeps a verdict until the mutated function changes, and a test added to a
    mapped file would not reach an old survivor: when the test files changed since the last
    run, survivors and timeouts are tested again by name. With `names`, only those mutants
    are tested; with `database_url`, each one's tests run on that database."""
    work = prepare(module, test_files)
    started = time.monotonic()
    if names:
        _mutmut(work, "run", "--max-children", str(jobs), *names, log="named.log",
                database_url=database_url)
        return time.monotonic() - started
    # Hashed before mutmut copies the tests: an edit made while it runs counts next time.
    stamp, tests_now = work / "tests.sha256", _tests_hash(test_files)
    _mutmut(work, "run", "--max-children", str(jobs), log="run.log")
    if stamp.exists() and stamp.read_text() != tests_now:
        again = [name for name, code in results(module).items()
                 if code is not None and code not in KILLED_CODES]
        if again:
            print(f"   tests changed: testing {len(again)} survivors and timeouts again",
                  flush=True)
            _mutmut(work, "run", "--max-children", str(jobs), *again, log="rerun.log")
    stamp.write_text(tests_now)
    return time.monotonic() - started


def _mutmut(work, *args, log, database_url=""):
    # mutmut runs each mutant's tests with -x -p no:randomly; SQLite keeps them independent
    # (each test its own file), a shared PostgreSQL database only one mutant at a time.
    with (work / log).open("w") as out:
        code = subprocess.call([*MUTMUT, *args], cwd=work, stdout=out,
                               stderr=subprocess.STDOUT,
                               env={**os.environ, "PORTAL_TEST_DATABASE_URL": database_url,
                                    "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                                    **({"TZ": "UTC"} if database_url else {})})
    if code:
        print(f"mutmut {args[0]} exited {code}; see {(work / log).relative_to(ROOT)}",
              file=sys.stderr)


def _tests_hash(test_files):
    digest = hashlib.sha256()
    files = [name for name in test_files if not name.startswith("-")]
    for name in sorted({*files, "tests/conftest.py", "tests/factories.py",
                        "tests/core_support.py", "tests/payments_support.py",
                        "tests/listing_support.py"}):
        digest.update(name.encode() + b"\0" + (ROOT / name).read_bytes())
    return digest.hexdigest()


def results(module):
    meta = WORK / dotted(module) / "mutants" / (module + ".meta")
    if not meta.exists():
        return {}
    return json.loads(meta.read_text())["exit_code_by_key"]


def equivalents():
    if not EQUIVALENTS_DOC.exists():
        return set()
    return set(re.findall(r"`([\w.]+__mutmut_\d+)`", EQUIVALENTS_DOC.read_text()))


def tally(codes, equivalent):
    row = {"mutants": len(codes), "killed": 0, "timeout": 0, "survived": 0,
           "equivalent": 0, "no tests": 0, "not run": 0, "other": 0, "survivors": []}
    for name, code in sorted(codes.items(), key=lambda item: _natural(item[0])):
        if code in KILLED_CODES:
            row["killed"] += 1
        elif code in TIMEOUT_CODES:
            row["timeout"] += 1
        elif code is None:
            row["not run"] += 1
        elif code in (0, 5, 33) and name in equivalent:
            row["equivalent"] += 1
        elif code == 0:
            row["survived"] += 1
            row["survivors"].append(name)
        elif code in (5, 33):
            row["no tests"] += 1
            row["survivors"].append(name)
        else:
            row["other"] += 1
            row["survivors"].append(name)
    checked = row["mutants"] - row["not run"]
    caught = row["killed"] + row["timeout"]
    row["score"] = caught / checked * 100 if checked else 0.0
    row["score with equivalents"] = ((caught + row["equivalent"]) / checked * 100
                                     if checked else 0.0)
    return row


def _natural(name):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def functions(module):
    """Every function in the mutated copy of `module` by name: mutmut keeps the original as
    <name>__mutmut_orig beside each <name>__mutmut_N."""
    path = WORK / dotted(module) / "mutants" / module
    source = path.read_text()
    # Whole lines by line number: ast.get_source_segment re-splits the file for every
    # function, which took over ten minutes for a module of 727 mutants.
    lines = source.splitlines()
    return {node.name: "\n".join(lines[node.lineno - 1:node.end_lineno])
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def show(name, by_name):
    function = name.rsplit(".", 1)[-1]
    original = function.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"
    mutated, orig = by_name.get(function), by_name.get(original)
    if mutated is None or orig is None:
        return "(source not found)"
    mutated = mutated.replace(function, original, 1)
    return "\n".join(difflib.unified_diff(orig.splitlines(), mutated.splitlines(),
                                          "original", "mutant", lineterm="", n=1))


HEADER = ("| module | mutants | killed | timeout | survived | equivalent | no tests | not run "
          "| score | score w/ equivalents | wall time |")


def table_line(module, row, seconds):
    wall = f"{seconds / 60:.1f} min" if seconds is not None else "-"
    return (f"| {module} | {row['mutants']} | {row['killed']} | {row['timeout']} "
            f"| {row['survived']} | {row['equivalent']} | {row['no tests']} | {row['not run']} "
            f"| {row['score']:.1f}% | {row['score with equivalents']:.1f}% | {wall} |")


def run_side_by_side(chosen, modules, jobs):
    """Several modules, `jobs` at once, one mutant at a time each. mutmut starts a module by
    running its tests once in a single process (to learn which tests reach which function);
    run one module after another and the other core idles through each of those passes.
    The largest modules start first, so the last to finish is a small one."""
    def start(module):
        print(f"== {module}: mutating, tests {' '.join(modules[module])}", flush=True)
        seconds = run(module, modules[module], 1)
        print(f"== {module}: done in {seconds / 60:.1f} min", flush=True)
        return seconds

    largest_first = sorted(chosen, key=lambda module: -(ROOT / module).stat().st_size)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        walls = dict(zip(largest_first, pool.map(start, largest_first), strict=True))
    return walls


def run_in_turn(chosen, modules, args):
    """Each module after the other, `--jobs` mutants at once; with `--mutants`, only the
    modules those names belong to."""
    walls = {}
    for module in chosen:
        names = [name for name in args.mutants if name.startswith(dotted(module) + ".")]
        if args.mutants and not names:
            continue
        print(f"== {module}: mutating, tests {' '.join(modules[module])}", flush=True)
        walls[module] = run(module, modules[module], args.jobs, args.database_url, names)
    return walls


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="money.py, billing/allocation.py, ... "
                        "(default: every module in tests/mutation_map.toml)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="mutants tested at once (with several modules: modules at once, "
                        "each testing one mutant at a time)")
    parser.add_argument("--report-only", action="store_true",
                        help="tabulate the results already in .mutation/ without running")
    parser.add_argument("--mutants", nargs="+", default=[], metavar="NAME",
                        help="test only these mutants (as `mutmut results` names them), "
                        "e.g. the survivors only PostgreSQL can kill")
    parser.add_argument("--database-url", default="", metavar="URL",
                        help="run the mutants' tests on this PostgreSQL database (every test "
                        "empties its tables), one mutant at a time")
    args = parser.parse_args(argv)
    if args.database_url:
        args.jobs = 1
    modules = load_map()
    chosen = [resolve(name, modules) for name in args.modules] or list(modules)
    equivalent = equivalents()
    walls = {}
    if not args.report_only:
        if len(chosen) > 1 and args.jobs > 1 and not args.mutants and not args.database_url:
            walls = run_side_by_side(chosen, modules, args.jobs)
        else:
            walls = run_in_turn(chosen, modules, args)
    lines, details = [HEADER, "|" + " --- |" * 11], []
    for module in chosen:
        if args.mutants and module not in walls:
            continue
        row = tally(results(module), equivalent)
        lines.append(table_line(module, row, walls.get(module)))
        print(lines[-1], flush=True)
        by_name = functions(module) if row["survivors"] else {}
        for name in row["survivors"]:
            details.append(f"### {name}\n\n```diff\n{show(name, by_name)}\n```\n")
    report = "\n".join([*lines, "", "## Survivors", "", *details])
    WORK.mkdir(exist_ok=True)
    (WORK / "report.md").write_text(report + "\n")
    print("\n".join(lines))
    print(f"Report with every survivor's diff: {(WORK / 'report.md').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
