#!/usr/bin/env bash
# Run every check: install what is missing, then lint, type-check and test.
# Extra arguments go to pytest (for example: scripts/test.sh -k cache).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

venv/bin/ruff format --check .
venv/bin/ruff check .
venv/bin/mypy main.py functions tests bench
venv/bin/pytest "$@"
