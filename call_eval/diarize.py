"""Diarization stage: who speaks when.

``diarize(audio)`` picks a backend (``auto``):

- ``channel`` for a true stereo recording (one party per channel): exact, labels
  ``left``/``right`` with ``channel_of``;
- ``pyannote`` when a pipeline is configured (argument or ``CALL_EVAL_PYANNOTE_PIPELINE``);
- ``embedded`` otherwise: offline, models shipped inside PyPI packages (Silero VAD,
  resemblyzer), labels ``SPEAKER_00``... in order of first appearance.

A stereo file whose two channels are identical is a mono call: ``channel`` then falls back
to the mono choice. Parameters live in ``models/diarization.yaml``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from .errors import ConfigError
from .types import Audio, Diarization

log = logging.getLogger(__name__)

BACKENDS = ("auto", "channel", "pyannote", "embedded")
MAX_SPEAKERS = 10

__all__ = ["BACKENDS", "diarize"]


def _pyannote_source(pyannote_pipeline: str | Path | None, env_name: str) -> str | None:
    if pyannote_pipeline:
        return str(pyannote_pipeline)
    return os.environ.get(env_name) or None


def _choose(audio: Audio, backend: str, pyannote_source: str | None) -> tuple[str, str]:
    """(backend to run, why) for a requested backend."""
    mono_choice = "pyannote" if pyannote_source else "embedded"
    if audio.channels == 2 and audio.identical_channels:
        kind = "stéréo à canaux identiques, traitée comme mono"
    else:
        kind = "stéréo" if audio.channels == 2 else "mono"
    if backend == "auto":
        if audio.is_true_stereo:
            return "channel", "stéréo : un interlocuteur par canal"
        why = (
            "pipeline pyannote configuré"
            if pyannote_source
            else "aucun pipeline pyannote configuré"
        )
        return mono_choice, f"{kind}, {why}"
    if backend == "channel" and not audio.is_true_stereo:
        log.warning("channel diarization needs true stereo (%s): using %s", kind, mono_choice)
        return mono_choice, f"{kind} : diarisation par canal impossible, repli sur {mono_choice}"
    return backend, "demandé"


def diarize(
    audio: Audio,
    backend: str = "auto",
    *,
    num_speakers: int | None = 2,
    pyannote_pipeline: str | Path | None = None,
    hf_token: str | None = None,
    vad_segments: Sequence[tuple[float, float]] | None = None,
) -> Diarization:
    """Who speaks when in ``audio``.

    ``backend``: ``auto`` | ``channel`` | ``pyannote`` | ``embedded`` (see module doc).
    ``num_speakers``: the call's number of speakers (2 for a call), or None to estimate it
    (1–3, embedded; pyannote's own estimate). ``pyannote_pipeline``: a local pipeline folder
    (or ``config.yaml``), or a hub name used with ``hf_token`` when online; defaults to
    ``$CALL_EVAL_PYANNOTE_PIPELINE``. ``vad_segments``: speech intervals (s) to use instead
    of Silero VAD (embedded backend).

    Raises :class:`ConfigError` for an unknown backend or an invalid ``num_speakers``,
    :class:`ModelError` when a model (pyannote pipeline, VAD, speaker encoder) cannot load.
    """
    from .diarization.config import load_config

    if backend not in BACKENDS:
        raise ConfigError(
            f"Méthode de diarisation inconnue : {backend!r}. Valeurs valides : {', '.join(BACKENDS)}."
        )
    if num_speakers is not None and (
        isinstance(num_speakers, bool)
        or not isinstance(num_speakers, int)
        or not 1 <= num_speakers <= MAX_SPEAKERS
    ):
        raise ConfigError(
            f"Nombre de locuteurs invalide : {num_speakers!r}. Valeurs valides : un entier de 1 à "
            f"{MAX_SPEAKERS}, ou rien pour l'estimer."
        )
    cfg = load_config()
    if abs(float(cfg["frame_s"]) - 0.01) > 1e-9:
        raise ConfigError(
            f"frame_s doit valoir 0.01 dans models/diarization.yaml (trouvé {cfg['frame_s']})."
        )
    source = _pyannote_source(pyannote_pipeline, str(cfg["auto"]["pyannote_env"]))
    chosen, reason = _choose(audio, backend, source)
    if chosen == "pyannote" and not source:
        from .errors import ModelError

        raise ModelError(
            "Aucun pipeline pyannote indiqué : donnez un dossier local (config.yaml + modèles) "
            "avec --pyannote-pipeline ou CALL_EVAL_PYANNOTE_PIPELINE, ou un nom du hub avec un "
            "jeton (HF_TOKEN) et un accès réseau, ou utilisez --diarization embedded (hors ligne)."
        )
    if chosen == "channel":
        from .diarization.channel import diarize_channels

        result = diarize_channels(audio, cfg)
    elif chosen == "pyannote":
        from .diarization.pyannote_backend import diarize_pyannote

        result = diarize_pyannote(audio, cfg, str(source), num_speakers, hf_token)
    else:
        from .diarization.embedded import diarize_embedded

        result = diarize_embedded(audio, cfg, num_speakers, vad_segments)
    result.details.update({"requested": backend, "reason": reason})
    log.info(
        "diarization %s (%s): %d speakers, %d turns",
        result.backend,
        reason,
        len(result.speakers),
        len(result.turns),
    )
    return result
