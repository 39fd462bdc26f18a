"""Paths and defaults. Every value can be overridden by an environment variable.

| variable                    | default                         | meaning                           |
|-----------------------------|---------------------------------|-----------------------------------|
| CALL_EVAL_HOME              | the repository root             | where models/ and rubrics/ live   |
| CALL_EVAL_MODELS_DIR        | $CALL_EVAL_HOME/models          | installed model weights           |
| CALL_EVAL_RUBRICS_DIR       | $CALL_EVAL_HOME/rubrics         | rubric files and phrase lexicons  |
| CALL_EVAL_DATA_DIR          | $CALL_EVAL_HOME/data            | database, uploaded recordings     |
| CALL_EVAL_ASR_MODEL         | base (the embedded model)       | faster-whisper name or local path |
| CALL_EVAL_PYANNOTE_PIPELINE | unset                           | local pyannote pipeline folder    |
| CALL_EVAL_MAX_DURATION_S    | 1800                            | longest recording accepted        |
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def home() -> Path:
    return Path(os.environ.get("CALL_EVAL_HOME", PACKAGE_DIR.parent)).resolve()


def models_dir() -> Path:
    return Path(os.environ.get("CALL_EVAL_MODELS_DIR", home() / "models"))


def rubrics_dir() -> Path:
    return Path(os.environ.get("CALL_EVAL_RUBRICS_DIR", home() / "rubrics"))


def data_dir() -> Path:
    return Path(os.environ.get("CALL_EVAL_DATA_DIR", home() / "data"))


def demo_dir() -> Path:
    return PACKAGE_DIR / "data" / "demo"


def default_rubric_path() -> Path:
    return rubrics_dir() / "cp_ffp_appels_sortants.yaml"


def max_duration_s() -> float:
    return float(os.environ.get("CALL_EVAL_MAX_DURATION_S", 1800))
