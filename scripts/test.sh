#!/usr/bin/env bash
# Set everything up (scripts/setup.sh), then run every check CI runs: lint, format, types,
# import layering and the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff" && .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy
echo "== import-linter" && .venv/bin/lint-imports
# The workflow tests run against SQLite and against a throwaway local PostgreSQL.
echo "== postgres" && eval "$(bash scripts/postgres.sh)"
trap 'bash scripts/postgres.sh stop' EXIT
# The capture page is tested in a real headless Chromium.
echo "== browser" && eval "$(bash scripts/browser.sh)"
# One pytest worker per core (at most 4; CI has 2): the tests are independent (a schema per
# test, free ports, tmp_path), and the suite is CPU-bound. `-n 0` runs it in one process.
echo "== pytest" && .venv/bin/python -m pytest -n auto --maxprocesses 4 --dist worksteal "$@"
