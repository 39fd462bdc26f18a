"""Measurement parameters of the features stage: loaded from ``rubrics/features.yaml``.

Overrides are nested mappings merged over the file (``{"rate": {"window_s": 20}}``); an
unknown section or key raises :class:`~call_eval.errors.ConfigError` listing the valid ones.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from call_eval.errors import ConfigError

PARAMS_FILE = "features.yaml"


def _rubrics_dir() -> Path:
    from call_eval import settings

    return settings.rubrics_dir()


@functools.lru_cache(maxsize=8)
def _read_yaml(path: str) -> dict[str, Any]:
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(
            f"Fichier de paramètres introuvable : {p}. Restaurez-le depuis le dépôt "
            f"(rubrics/{p.name}) ou définissez CALL_EVAL_RUBRICS_DIR."
        )
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"Fichier {p} illisible (YAML invalide) : {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"Fichier {p} : un dictionnaire YAML est attendu à la racine.")
    return data


def _merge(base: dict[str, Any], override: Mapping[str, Any], where: str) -> None:
    for key, value in override.items():
        if key not in base:
            valid = ", ".join(sorted(base))
            raise ConfigError(
                f"Paramètre inconnu « {where}{key} » pour les mesures audio. "
                f"Valeurs possibles : {valid}."
            )
        if isinstance(base[key], dict):
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"Paramètre « {where}{key} » : un dictionnaire est attendu, pas {value!r}."
                )
            _merge(base[key], value, f"{where}{key}.")
        else:
            base[key] = copy.deepcopy(value)


def load_params(
    overrides: Mapping[str, Any] | None = None, path: str | Path | None = None
) -> dict[str, Any]:
    """The effective parameters: the data file, with ``overrides`` merged over it."""
    p = Path(path) if path is not None else _rubrics_dir() / PARAMS_FILE
    params = copy.deepcopy(_read_yaml(str(p.resolve())))
    if overrides:
        _merge(params, overrides, "")
    return params


def load_fillers(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The filler lexicon named by ``params['fillers']['lexicon']`` (relative to rubrics/)."""
    name = str(params["fillers"]["lexicon"])
    p = Path(name)
    if not p.is_absolute():
        p = _rubrics_dir() / p
    data = _read_yaml(str(p.resolve()))
    entries = data.get("fillers")
    if not isinstance(entries, list):
        raise ConfigError(f"Fichier {p} : la clé « fillers » doit être une liste.")
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or ("phrase" in e) == ("pattern" in e):
            raise ConfigError(
                f"Fichier {p}, entrée {i + 1} : donnez soit « phrase » soit « pattern »."
            )
        pos = e.get("position", "any")
        if pos not in ("any", "initial", "final"):
            raise ConfigError(
                f"Fichier {p}, entrée {i + 1} : position « {pos} » invalide. "
                "Valeurs possibles : any, initial, final."
            )
        kind = e.get("kind", "marker")
        if kind not in ("hesitation", "marker"):
            raise ConfigError(
                f"Fichier {p}, entrée {i + 1} : kind « {kind} » invalide. "
                "Valeurs possibles : hesitation, marker."
            )
    return entries
