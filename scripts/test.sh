#!/usr/bin/env bash
# Every check `make test` runs: lint, format, types, migrations vs models, then all test suites
# on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$VENV/bin:$PATH"

echo "== ruff (lint + format)"
ruff check src tests bench
ruff format --check src tests bench

echo "== mypy (strict on src/)"
mypy

echo "== migrations match the models (alembic check, SQLite)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python -c "from simrenew.db.migrate import upgrade, check; u='sqlite:///$tmp/check.db'; upgrade(u); check(u)"

echo "== PostgreSQL"
if python - <<'PY'
import psycopg, sys
try:
    psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3).close()
except Exception as error:
    print(error)
    sys.exit(1)
PY
then
  echo "PostgreSQL answers on 127.0.0.1:5432: integration tests run on SQLite and PostgreSQL."
else
  echo "!!!!!!!!!! NO POSTGRESQL ON 127.0.0.1:5432: integration tests run on SQLite ONLY !!!!!!!!!!"
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true: a run without PostgreSQL is a failure."
    exit 1
  fi
  export SIMRENEW_TEST_SKIP_POSTGRES=1
fi

echo "== Kannel (the SMS gateway the integration tests send through)"
scripts/install-system-packages.sh || echo "!!!!!!!!!! DEBIAN PACKAGES COULD NOT BE INSTALLED: the tests needing them will FAIL !!!!!!!!!!"

echo "== pytest"
pytest -q -p no:cacheprovider "$@"
