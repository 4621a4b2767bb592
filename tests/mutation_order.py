"""A pytest plugin for mutation runs (tests/mutation.py loads it): a mutant's tests start with
the ones that killed earlier mutants of the same function.

mutmut runs a mutant's tests fastest first and stops at the first failure, so a killed
mutant costs every passing test before the one that fails. Mutants of one function mostly
fall to the same few tests: each failure is noted (function, test) in mutants/, and the next
mutant of that function runs those tests first, the most recent first, then the rest in
mutmut's order. A survivor still runs every test, so no verdict depends on the order.
"""
import os

import pytest

KILLERS = "mutation-killers.tsv"  # in the mutants/ folder, where each mutant's pytest runs


def _function(mutant):
    """billing.listing.x_documents__mutmut_67 -> billing.listing.x_documents; "" for the
    clean and forced-fail runs mutmut also makes."""
    function, marker, _ = mutant.rpartition("__mutmut_")
    return function if marker else ""


def _killers(function):
    """The tests that failed a mutant of `function`, the most recent first."""
    try:
        with open(KILLERS, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except FileNotFoundError:
        return []
    found = []
    for line in reversed(lines):
        killed, _, test = line.partition("\t")
        if killed == function and test not in found:
            found.append(test)
    return found


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    function = _function(os.environ.get("MUTANT_UNDER_TEST", ""))
    if not function:
        return
    rank = {test: index for index, test in enumerate(_killers(function))}
    items.sort(key=lambda item: rank.get(item.nodeid, len(rank)))  # stable: mutmut's order


def pytest_runtest_logreport(report):
    function = _function(os.environ.get("MUTANT_UNDER_TEST", ""))
    if function and report.failed:
        # One short line in append mode: two mutants' children writing at once do not mix.
        with open(KILLERS, "a", encoding="utf-8") as file:
            file.write(f"{function}\t{report.nodeid}\n")
