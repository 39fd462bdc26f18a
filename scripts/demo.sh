#!/usr/bin/env bash
# Main job: set up if needed, analyse the bundled demo call, print the report and open the app.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/call-eval demo "$@"
