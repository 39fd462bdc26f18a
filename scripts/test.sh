#!/usr/bin/env bash
# Tests: set up if needed (with test tools: chromium, pytest...), then the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
exec .venv/bin/python -m pytest "$@"
