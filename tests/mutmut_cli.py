"""mutmut's command line as tests/mutation.py runs it (in a module's work folder), with each
mutant's child spared pytest's start.

mutmut forks a child per mutant from a process that has imported everything, and the child
starts pytest afresh on that mutant's tests: about 0.13 s before the first test runs (reading
options and conftest, looking each named plugin up among every installed package's entry
points, collecting the test files), when a killed mutant's test takes about as long.
Before mutmut forks:

- pytest's plugin look-ups read one listing of the installed packages, made once (pluggy
  reads every package's metadata again for each of the ~15 plugins a run names, ~3 ms each).
- The parent collects the mapped tests once into an open pytest session; each child runs its
  mutant's tests from it, in mutmut's order (reordered by the runs' plugins, as pytest would),
  each through pytest's whole per-test protocol (fixtures, the per-test timeout, reports),
  stopping at the first failure, and exits as pytest would: 1 when a test failed, 0 when
  none did. A mutant whose tests the session does not hold runs through pytest as before.

And before that, mutmut's "clean" pass (every selected test, unmutated, which must pass) is
skipped when its stats pass has just done exactly that in this process: that pass runs the
same tests unmutated and stops the run unless they all pass.

Run as a script, not imported: the parent must not import the `tests` package itself, which
the children import from mutmut's copy (mutants/tests).
"""
import importlib.metadata
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

import pluggy  # noqa: E402
import pytest  # noqa: E402
from _pytest.config import _prepareconfig  # noqa: E402
from mutmut.__main__ import cli  # noqa: E402
from mutmut.runners.harness import PytestRunner  # noqa: E402
from mutmut.workers.isolation import ForkRunner  # noqa: E402

INSTALLED = [(dist, entry) for dist in importlib.metadata.distributions()
             for entry in dist.entry_points]


def load_setuptools_entrypoints(manager, group, name=None):
    """pluggy.PluginManager.load_setuptools_entrypoints over INSTALLED."""
    count = 0
    for dist, entry in INSTALLED:
        if (entry.group != group or (name is not None and entry.name != name)
                or manager.has_plugin(entry.name) or manager.is_blocked(entry.name)):
            continue
        plugin = entry.load()
        manager.register(plugin, name=entry.name)
        manager._plugin_distinfo.append((plugin, dist))
        count += 1
    return count


class CollectedSession:
    """The mapped tests, collected once in mutmut's process, run from its forked children."""

    def __init__(self, runner):
        self.failed = False
        args = ["--rootdir=.", "--tb=native", "-x", "-q", "-s", "-p", "no:randomly",
                "-p", "no:random-order", *runner._pytest_add_cli_args,
                *runner._pytest_add_cli_args_test_selection]
        cwd = os.getcwd()
        os.chdir("mutants")
        try:
            self.config = _prepareconfig(args, plugins=[self])
            self.config._do_configure()
            self.session = pytest.Session.from_config(self.config)
            self.config.hook.pytest_sessionstart(session=self.session)
            self.session.perform_collect()
        finally:
            os.chdir(cwd)
        self.items = {item.nodeid: item for item in self.session.items}

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.failed = True

    def holds(self, tests):
        return all(test in self.items for test in tests)

    def run(self, tests):
        """Run in a forked child: `tests` in order, each through pytest's per-test protocol,
        until one fails. pytest's exit status: 1 when a test failed, 0 when none did."""
        os.chdir("mutants")
        # The session's reporter writes to the file mutmut's output went to when it started.
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        items = [self.items[test] for test in tests]
        self.config.hook.pytest_collection_modifyitems(
            session=self.session, config=self.config, items=items)
        for index, item in enumerate(items):
            following = items[index + 1] if index + 1 < len(items) else None
            item.ihook.pytest_runtest_protocol(item=item, nextitem=following)
            # -x: a failure also made pytest tear everything down after that test.
            if self.failed or self.session.shouldfail or self.session.shouldstop:
                break
        return 1 if self.failed else 0


collected = None


def startup(runner):
    global collected
    try:
        collected = CollectedSession(runner.test_runner)
        print(f"mutmut_cli: {len(collected.items)} tests collected once; each mutant's child "
              "runs its tests from there", file=sys.stderr)
    except Exception as error:  # noqa: BLE001 - any failure leaves the children to pytest
        print(f"mutmut_cli: collecting once failed ({error!r}); each mutant starts pytest",
              file=sys.stderr)
        collected = None
    start(runner)


def run_tests(runner, *, mutant_name, tests):
    tests = list(tests)
    if mutant_name and collected is not None and tests and collected.holds(tests):
        return collected.run(tests)
    return pytest_run_tests(runner, mutant_name=mutant_name, tests=tests)


stats_passed_all = False


def collect_stats(runner, tests):
    """mutmut's stats pass runs the selected tests unmutated and stops the run unless they
    all pass."""
    global stats_passed_all
    code = pass_for_stats(runner, tests)
    stats_passed_all = code == 0 and not tests
    return code


def run_clean_tests(runner, tests):
    """mutmut then runs them all unmutated once more, to see they pass: when the stats pass
    in this process just did that for the whole selection, a second pass tells nothing."""
    tests = list(tests)
    if stats_passed_all and not tests:
        return 0
    return clean_pass(runner, tests)


start, pytest_run_tests = ForkRunner.startup, PytestRunner.run_tests
pass_for_stats, clean_pass = ForkRunner.collect_stats, ForkRunner.run_clean_tests

if __name__ == "__main__":
    pluggy.PluginManager.load_setuptools_entrypoints = load_setuptools_entrypoints
    ForkRunner.startup = startup
    ForkRunner.collect_stats, ForkRunner.run_clean_tests = collect_stats, run_clean_tests
    PytestRunner.run_tests = run_tests
    sys.argv = ["mutmut", *sys.argv[1:]]
    sys.exit(cli())
