#!/usr/bin/env bash
# Install what the test suite needs into a fresh virtualenv, then run the suite on SQLite
# and on PostgreSQL, side by side. Both halves always run; the exit status is non-zero if
# either failed.
# Usage: bash tests/run.sh [pytest args]   (PORTAL_TEST_SKIP_PG=1 runs SQLite only;
# PORTAL_TEST_SERIAL=1 runs the PostgreSQL half after the SQLite half instead of beside it)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need_apt+=(postgresql)
command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
fc-list 2>/dev/null | grep -qi dejavu || need_apt+=(fonts-dejavu-core)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)  # tests/test_multiprocess.py
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "Missing system packages: ${need_apt[*]} (install them with apt-get)." >&2
  fi
fi

# A fresh virtualenv with the locked versions: nothing installed by hand on this machine
# can decide the result. (.venv-test stays for re-running pytest by hand afterwards.)
venv=${PORTAL_TEST_VENV:-.venv-test}
python3 -m venv --clear "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  -c constraints.txt -e '.[test]'
venv=$(cd "$venv" && pwd)  # PORTAL_TEST_VENV may be relative or absolute
export PATH="$venv/bin:$PATH"
python=$venv/bin/python

ruff check .

# The tests run in a random order (pytest-randomly), both halves in the same one: a test
# that leans on another's leftovers fails somewhere instead of passing by luck. The seed is
# printed here and in pytest's header; PORTAL_TEST_SEED=N replays an order. (With
# `-p no:randomly` among the arguments the files' own order is kept.)
seed=${PORTAL_TEST_SEED:-$("$python" -c 'import random; print(random.randrange(10**6))')}
order=(-p randomly "--randomly-seed=$seed")
case " $* " in *" no:randomly "*|*" -pno:randomly "*) order=() ;; esac
[ ${#order[@]} -gt 0 ] && echo "== random test order, seed $seed (replay: PORTAL_TEST_SEED=$seed bash tests/run.sh)"

failed=()
# The SQLite half runs in a far-off time zone (UTC+14), so no test or rule can lean on the
# machine's local date where the product means UTC; the PostgreSQL half runs in UTC.
sqlite_half() {
  TZ=Pacific/Kiritimati "$python" -m pytest -p no:cacheprovider "${order[@]}" "$@"
}

pg_half() {
  TZ=UTC PORTAL_TEST_DATABASE_URL="postgresql://portal@127.0.0.1:$pgport/portal_test" \
    "$python" -m pytest -p no:cacheprovider "${order[@]}" "$@"
}

if [ "${PORTAL_TEST_SKIP_PG:-}" != 1 ]; then
  # PostgreSQL: a throwaway cluster in a temp folder, owned by the postgres user.
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pgdir=$(mktemp -d /tmp/portal-pg.XXXXXX)
  pgport=${PORTAL_TEST_PG_PORT:-55432}
  run_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
  [ "$(id -u)" = 0 ] && chown postgres "$pgdir"
  run_pg "$pgbin/initdb -D $pgdir/data -A trust -U portal >/dev/null"
  run_pg "$pgbin/pg_ctl -D $pgdir/data -o '-p $pgport -k $pgdir -c fsync=off -c full_page_writes=off -c synchronous_commit=off' -l $pgdir/log -w start >/dev/null"
  trap 'run_pg "$pgbin/pg_ctl -D $pgdir/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$pgdir"' EXIT
  run_pg "$pgbin/createdb -h $pgdir -p $pgport -U portal portal_test"
fi

if [ "${PORTAL_TEST_SKIP_PG:-}" = 1 ]; then
  echo "== test suite on SQLite (TZ=Pacific/Kiritimati)"
  sqlite_half "$@" || failed+=(SQLite)
elif [ "${PORTAL_TEST_SERIAL:-}" = 1 ]; then
  echo "== test suite on SQLite (TZ=Pacific/Kiritimati)"
  sqlite_half "$@" || failed+=(SQLite)
  echo "== test suite on PostgreSQL"
  pg_half "$@" || failed+=(PostgreSQL)
else
  # The two halves run side by side (each is one process; the suite spends much of its time
  # waiting on browsers, servers and the database): about 45 minutes instead of 75 on two
  # cores. The PostgreSQL half's output is kept and printed after the SQLite half's.
  # PORTAL_TEST_SERIAL=1 runs them one after the other.
  pglog=$(mktemp /tmp/portal-pg-half.XXXXXX.log)
  pg_half "$@" >"$pglog" 2>&1 &
  pg_pid=$!
  echo "== test suite on SQLite (TZ=Pacific/Kiritimati), PostgreSQL half running beside it"
  sqlite_half "$@" || failed+=(SQLite)
  pg_status=0
  wait "$pg_pid" || pg_status=$?
  echo "== test suite on PostgreSQL (ran beside the SQLite half)"
  cat "$pglog"
  rm -f "$pglog"
  [ "$pg_status" = 0 ] || failed+=(PostgreSQL)
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED on: ${failed[*]}" >&2
  exit 1
fi
