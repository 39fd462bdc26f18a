"""Acoustic features for the embedded backend: mel frames, MFCCs, F0 and speaker-encoder
embeddings.

The speaker encoder is resemblyzer's pretrained GE2E LSTM (40 mel bands → 256-d), whose
weights ship inside the ``resemblyzer`` wheel. The network is rebuilt here and its state
dict loaded from the package file, so resemblyzer itself (and its webrtcvad /
pkg_resources imports) is never imported.
"""

from __future__ import annotations

import importlib.util
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
HOP = 160  # 10 ms frames, resemblyzer's mel step
N_FFT = 400  # 25 ms window
N_MELS = 40
ENCODER_FRAMES = 160  # resemblyzer's partial utterance (1.6 s)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney mel scale (linear below 1 kHz, logarithmic above), as librosa's default."""
    f = np.asarray(f, dtype=np.float64)
    lin = f / (200.0 / 3)
    logstep = np.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / logstep, lin)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    logstep = np.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), m * (200.0 / 3))


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """(40, 201) triangular Slaney-normalised mel filters over 0-8 kHz (librosa's defaults,
    which resemblyzer was trained with)."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : N_MELS + 2] - mel_f[:N_MELS]))[:, None]
    return weights.astype(np.float32)


def mel_power(x: np.ndarray) -> np.ndarray:
    """Power mel spectrogram, (frames, 40), frame ``i`` centred on sample ``i * 160``: a 25 ms
    periodic Hann window, zero padding at the edges (librosa's ``melspectrogram`` defaults)."""
    x = np.asarray(x, dtype=np.float32)
    padded = np.pad(x, (N_FFT // 2, N_FFT // 2))
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    out = np.empty((frames.shape[0], N_MELS), dtype=np.float32)
    filters = mel_filters().T
    for s in range(0, frames.shape[0], 4096):
        spec = np.abs(np.fft.rfft(frames[s : s + 4096] * window, axis=1)) ** 2
        out[s : s + 4096] = spec.astype(np.float32) @ filters
    return out


def mfcc_from_mel(mel: np.ndarray, n_mfcc: int) -> np.ndarray:
    """MFCCs (frames, n_mfcc) from a power mel spectrogram (orthonormal DCT of log-mel)."""
    from scipy.fft import dct

    logmel = np.log(np.maximum(mel, 1e-10))
    return dct(logmel, type=2, axis=1, norm="ortho")[:, :n_mfcc].astype(np.float32)


def f0_track(
    x: np.ndarray,
    frames: np.ndarray,
    frame_s: float,
    f0_min: float,
    f0_max: float,
    voicing_threshold: float,
) -> np.ndarray:
    """F0 (Hz) of the given frame indices, NaN where unvoiced.

    Normalised autocorrelation of a 40 ms Hann-windowed frame, divided by the window's own
    autocorrelation (Boersma 1993); a frame is voiced when its best peak in
    ``[1/f0_max, 1/f0_min]`` reaches ``voicing_threshold``.
    """
    n = int(0.04 * SAMPLE_RATE)
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    win = np.hanning(n).astype(np.float32)
    rw = np.fft.irfft(np.abs(np.fft.rfft(win, nfft)) ** 2)[:n]
    rw = rw / rw[0]
    lag_min = max(2, int(SAMPLE_RATE / f0_max))
    lag_max = min(n - 1, int(np.ceil(SAMPLE_RATE / f0_min)))
    x = np.asarray(x, dtype=np.float32)
    padded = np.pad(x, (n, n))
    out = np.full(len(frames), np.nan, dtype=np.float32)
    for b in range(0, len(frames), 2048):
        idx = frames[b : b + 2048]
        centres = ((idx + 0.5) * frame_s * SAMPLE_RATE).astype(int) + n
        seg = padded[centres[:, None] - n // 2 + np.arange(n)[None, :]]
        seg = seg - seg.mean(axis=1, keepdims=True)
        r = np.fft.irfft(np.abs(np.fft.rfft(seg * win, nfft, axis=1)) ** 2, axis=1)[:, :n]
        energy = r[:, 0:1]
        ok = energy[:, 0] > 1e-9
        rn = np.where(ok[:, None], r / np.maximum(energy, 1e-12), 0.0) / np.maximum(rw, 1e-3)
        band = rn[:, lag_min : lag_max + 1]
        best = band.argmax(axis=1)
        peak = band[np.arange(len(best)), best]
        lag = (best + lag_min).astype(np.float64)
        # parabolic interpolation around the peak
        inner = (best > 0) & (best < band.shape[1] - 1)
        i = np.flatnonzero(inner)
        y0 = band[i, best[i] - 1]
        y1 = band[i, best[i]]
        y2 = band[i, best[i] + 1]
        denom = y0 - 2 * y1 + y2
        shift = np.where(np.abs(denom) > 1e-9, 0.5 * (y0 - y2) / np.where(denom == 0, 1, denom), 0)
        lag[i] += np.clip(shift, -0.5, 0.5)
        voiced = ok & (peak >= voicing_threshold)
        out[b : b + len(idx)] = np.where(voiced, SAMPLE_RATE / lag, np.nan)
    return out


def _encoder_weights() -> Path:
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "Encodeur de locuteurs absent : installez le paquet resemblyzer (pip, "
            "scripts/setup.sh), ou donnez un pipeline pyannote, ou un fichier stéréo "
            "(--diarization channel)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not path.is_file():
        raise ModelError(
            f"Poids de l'encodeur de locuteurs introuvables : {path}. Réinstallez resemblyzer."
        )
    return path


@lru_cache(maxsize=1)
def speaker_encoder() -> Any:
    """resemblyzer's voice encoder (LSTM 3×256 + linear), loaded once, CPU, eval mode."""
    import torch
    from torch import nn

    class _Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
            self.linear = nn.Linear(256, 256)

    model = _Encoder()
    path = _encoder_weights()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)["model_state"]
        keys = {k: v for k, v in state.items() if k.startswith(("lstm.", "linear."))}
        model.load_state_dict(keys, strict=True)
    except Exception as exc:  # noqa: BLE001 - corrupt file, version mismatch...
        raise ModelError(
            f"Encodeur de locuteurs illisible ({path}) : {exc}. Réinstallez resemblyzer."
        ) from exc
    model.eval()
    return model


def encoder_embeddings(
    mel: np.ndarray, windows: list[tuple[int, int]], gains: np.ndarray, bucket: int = 10
) -> np.ndarray:
    """L2-normalised 256-d embeddings of mel frame ranges ``[a, b)``, each scaled by its power
    gain. Windows are batched by length; lengths are cut down to a multiple of ``bucket``
    frames (centred) so that few distinct lengths remain (packed sequences are slow on CPU)."""
    import torch

    model = speaker_encoder()
    out = np.zeros((len(windows), 256), dtype=np.float32)
    groups: dict[int, list[int]] = {}
    for i, (a, b) in enumerate(windows):
        length = max(1, ((b - a) // bucket) * bucket) if b - a >= bucket else b - a
        if length > 0:
            groups.setdefault(length, []).append(i)
    batch = 128
    with torch.inference_mode():
        for length, members in groups.items():
            for s in range(0, len(members), batch):
                idx = members[s : s + batch]
                x = np.empty((len(idx), length, N_MELS), dtype=np.float32)
                for j, w in enumerate(idx):
                    a, b = windows[w]
                    start = a + (b - a - length) // 2
                    x[j] = mel[start : start + length] * gains[w]
                _, (hidden, _) = model.lstm(torch.from_numpy(x))
                emb = torch.relu(model.linear(hidden[-1]))
                emb = emb / torch.clamp(emb.norm(dim=1, keepdim=True), min=1e-9)
                out[idx] = emb.numpy()
    return out
