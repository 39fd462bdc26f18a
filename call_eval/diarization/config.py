"""Diarization parameters, read from ``models/diarization.yaml`` (cached)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .. import settings
from ..errors import ConfigError

CONFIG_ENV = "CALL_EVAL_DIARIZATION_CONFIG"
FILE_NAME = "diarization.yaml"


def config_path() -> Path:
    """``$CALL_EVAL_DIARIZATION_CONFIG`` if set, else ``<models dir>/diarization.yaml``."""
    env = os.environ.get(CONFIG_ENV)
    return Path(env).expanduser() if env else settings.models_dir() / FILE_NAME


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(
            f"Paramètres de diarisation introuvables : {p}. Restaurez models/{FILE_NAME} "
            f"ou indiquez un fichier avec {CONFIG_ENV}."
        )
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"Paramètres de diarisation illisibles dans {p} : {exc}") from exc
    missing = [
        k for k in ("frame_s", "silero", "channel", "embedded", "pyannote") if k not in (data or {})
    ]
    if missing:
        raise ConfigError(
            f"Paramètres de diarisation incomplets dans {p} : section(s) manquante(s) "
            f"{', '.join(missing)}."
        )
    return data


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """The parsed parameters (a shared cached dict: do not modify it)."""
    return _load(str(path or config_path()))
