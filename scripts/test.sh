#!/usr/bin/env bash
# Lint, type-check and run the whole test suite (installs what is missing first).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> ruff"; .venv/bin/ruff check .
echo "==> mypy"; .venv/bin/mypy
echo "==> pytest"; .venv/bin/pytest "$@"
