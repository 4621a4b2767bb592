#!/usr/bin/env bash
# Mutation testing (mutmut), each module on its own against the test files that exercise it
# (tests/mutation_map.toml). Not part of a CI run: it takes minutes per module.
# Usage: bash tests/mutation.sh [--jobs N] [--report-only] [module ...]
#   e.g. bash tests/mutation.sh money.py billing/allocation.py   (no module: all of them)
# Results stay in .mutation/ (a re-run re-tests only what changed); the table and every
# survivor's diff go to .mutation/report.md. docs/mutation.md explains the survivors.
# Mutants only PostgreSQL can kill (an order or a lock SQLite gives anyway), by name:
#   bash tests/mutation.sh billing/statements.py --database-url postgresql://... \
#     --mutants billing.statements.x_build__mutmut_83 ...
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${PORTAL_MUTATION_VENV:-.venv-mutation}
if [ ! -x "$venv/bin/mutmut" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  -c constraints.txt -e '.[test,mutation]'
exec "$venv/bin/python" tests/mutation.py "$@"
