"""pyannote.audio pipelines: a local folder (``config.yaml`` + checkpoints) or, for a user
with a network, a hub name and a token. Usage metrics are switched off before pyannote is
imported; audio is passed in memory (no decoder involved)."""

from __future__ import annotations

import logging
import os
import time
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from ..types import Audio, Diarization, SpeakerTurn
from .intervals import merge_turns

log = logging.getLogger(__name__)

BACKEND = "pyannote"
HINT = (
    "Donnez un dossier local de pipeline pyannote (config.yaml + modèles) avec "
    "--pyannote-pipeline ou CALL_EVAL_PYANNOTE_PIPELINE, ou un nom du hub avec un jeton "
    "(HF_TOKEN) et un accès réseau, ou utilisez --diarization embedded (hors ligne)."
)


def _metrics_off() -> None:
    # This tool is offline and handles personal data: never send pyannote usage metrics.
    os.environ["PYANNOTE_METRICS_ENABLED"] = "0"


@lru_cache(maxsize=2)
def load_pipeline(source: str, token: str | None = None) -> Any:
    """A pyannote ``Pipeline`` from a local folder / config file, or a hub name + token."""
    _metrics_off()
    path = Path(source).expanduser()
    local = path.exists()
    if local and path.is_dir() and not (path / "config.yaml").is_file():
        raise ModelError(f"Dossier de pipeline pyannote sans config.yaml : {path}. {HINT}")
    if not local:
        if "/" not in source or source.startswith((".", "/", "~")):
            raise ModelError(f"Pipeline pyannote introuvable : {source!r} n'existe pas. {HINT}")
        if not token:
            raise ModelError(
                f"Le pipeline pyannote {source!r} se télécharge depuis le hub : il faut un jeton "
                f"(--hf-token ou HF_TOKEN) et un accès réseau. {HINT}"
            )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pyannote.audio import Pipeline
    except Exception as exc:  # noqa: BLE001 - missing package or broken audio libraries
        raise ModelError(
            f"pyannote.audio ne se charge pas ({exc.__class__.__name__}: {exc}). {HINT}"
        ) from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline = Pipeline.from_pretrained(str(path) if local else source, token=token)
    except Exception as exc:  # noqa: BLE001 - hub, network, checkpoint and YAML errors end here
        raise ModelError(
            f"Impossible de charger le pipeline pyannote {source!r} ({exc.__class__.__name__}: {exc}). {HINT}"
        ) from exc
    if pipeline is None:
        raise ModelError(f"Impossible de charger le pipeline pyannote {source!r}. {HINT}")
    if not callable(pipeline):
        raise ModelError(f"{source!r} n'est pas un pipeline pyannote de diarisation. {HINT}")
    return pipeline


def annotation_turns(
    annotation: Any, duration: float, min_turn_s: float
) -> tuple[tuple[SpeakerTurn, ...], dict[str, str]]:
    """pyannote ``Annotation`` → sorted turns labelled ``SPEAKER_00``... by first appearance,
    clipped to the recording, same-speaker overlaps merged, turns under ``min_turn_s`` dropped.
    Also returns ``{our label: pyannote label}``."""
    tracks = sorted(
        (
            (float(seg.start), float(seg.end), str(label))
            for seg, _, label in annotation.itertracks(yield_label=True)
        ),
        key=lambda t: (t[0], t[1], t[2]),
    )
    names: dict[str, str] = {}
    raw: list[SpeakerTurn] = []
    for start, end, label in tracks:
        a, b = max(0.0, start), min(duration, end)
        if b - a < max(min_turn_s, 1e-3):
            continue
        if label not in names:
            names[label] = f"SPEAKER_{len(names):02d}"
        raw.append(SpeakerTurn(start=a, end=b, speaker=names[label]))
    return merge_turns(raw), {ours: theirs for theirs, ours in names.items()}


def diarize_pyannote(
    audio: Audio,
    cfg: dict[str, Any],
    source: str,
    num_speakers: int | None,
    hf_token: str | None,
) -> Diarization:
    t0 = time.perf_counter()
    pcfg = cfg["pyannote"]
    token = hf_token or os.environ.get(str(pcfg.get("token_env", "HF_TOKEN"))) or None
    pipeline = load_pipeline(str(source), token)
    import torch

    waveform = torch.from_numpy(np.ascontiguousarray(audio.mono(), dtype=np.float32)[None, :])
    kwargs = {"num_speakers": int(num_speakers)} if num_speakers else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            output = pipeline(
                {"waveform": waveform, "sample_rate": int(audio.sample_rate)}, **kwargs
            )
    except Exception as exc:  # noqa: BLE001 - a broken checkpoint fails only when run
        raise ModelError(
            f"Le pipeline pyannote {source!r} a échoué ({exc.__class__.__name__}: {exc}). {HINT}"
        ) from exc
    # pyannote 4 returns DiarizeOutput; 3.x pipelines return the Annotation itself
    annotation = getattr(output, "speaker_diarization", output)
    if not hasattr(annotation, "itertracks"):
        raise ModelError(
            f"Le pipeline {source!r} ne renvoie pas une diarisation (Annotation). {HINT}"
        )
    turns, labels = annotation_turns(annotation, audio.duration, float(pcfg["min_turn_s"]))
    speakers = tuple(sorted({t.speaker for t in turns}))
    return Diarization(
        turns=turns,
        backend=BACKEND,
        speakers=speakers,
        details={
            "pipeline": str(source),
            "labels": labels,
            "timings_s": {"total": round(time.perf_counter() - t0, 3)},
        },
    )
