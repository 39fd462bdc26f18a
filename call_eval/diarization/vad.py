"""Speech activity: Silero VAD (shipped inside faster-whisper) and frame levels."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import ModelError

log = logging.getLogger(__name__)

SILERO_FRAME = 512  # samples per Silero frame at 16 kHz (32 ms)
SILERO_RATE = 16000


@lru_cache(maxsize=1)
def _silero() -> Any:
    try:
        from faster_whisper.vad import get_vad_model

        return get_vad_model()
    except Exception as exc:  # noqa: BLE001 - missing package, onnxruntime or model file
        raise ModelError(
            f"VAD Silero indisponible ({exc}). Installez faster-whisper et onnxruntime "
            "(scripts/setup.sh), ou utilisez --diarization channel pour un fichier stéréo."
        ) from exc


def n_frames(n_samples: int, sample_rate: int, frame_s: float) -> int:
    return int(np.ceil(n_samples / (sample_rate * frame_s)))


def silero_probabilities(x: np.ndarray, sample_rate: int, frame_s: float) -> np.ndarray:
    """Speech probability of every ``frame_s`` frame (Silero's 32 ms frames, resampled)."""
    if sample_rate != SILERO_RATE:
        raise ValueError(f"Silero VAD needs {SILERO_RATE} Hz audio, got {sample_rate}")
    x = np.asarray(x, dtype=np.float32)
    n = n_frames(x.shape[0], sample_rate, frame_s)
    if x.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    padded = np.pad(x, (0, SILERO_FRAME - x.shape[0] % SILERO_FRAME))
    probs = np.asarray(_silero()(padded), dtype=np.float32).reshape(-1)
    centres = (np.arange(n) + 0.5) * frame_s * sample_rate
    idx = np.minimum((centres // SILERO_FRAME).astype(int), probs.shape[0] - 1)
    return probs[idx]


def frame_levels_db(x: np.ndarray, sample_rate: int, frame_s: float, window_s: float) -> np.ndarray:
    """RMS level (dBFS) of a ``window_s`` window centred on every ``frame_s`` frame."""
    x = np.asarray(x, dtype=np.float64)
    n = n_frames(x.shape[0], sample_rate, frame_s)
    c = np.concatenate(([0.0], np.cumsum(x * x)))
    centres = ((np.arange(n) + 0.5) * frame_s * sample_rate).astype(int)
    half = max(1, int(window_s * sample_rate / 2))
    lo = np.clip(centres - half, 0, x.shape[0])
    hi = np.clip(centres + half, 0, x.shape[0])
    power = (c[hi] - c[lo]) / np.maximum(hi - lo, 1)
    return 10.0 * np.log10(power + 1e-12)
