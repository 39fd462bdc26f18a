"""Acoustic measures from the signal alone: pauses, syllable nuclei, pitch.

Syllable nuclei follow de Jong & Wempe (2009, "Praat script to detect syllable nuclei"):
peaks of the intensity contour that stand out from the dips around them (prominence), lie
above a silence threshold, and are voiced. Here the contour is computed on a band-passed
signal (vowel energy), and voicing is checked at each peak only, by the normalised
autocorrelation of a short window (Boersma's window correction, Praat's 0.45 threshold),
which keeps it fast. Pitch uses ``librosa.pyin`` on at most ``max_seconds`` per speaker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from call_eval.features.intervals import Interval

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


@dataclass(frozen=True)
class Contour:
    """Intensity in dB per frame (frame ``k`` is centred at ``k * hop``)."""

    db: np.ndarray
    hop: float
    floor_db: float  # 5th percentile over the whole channel: the background level


def intensity_contour(x: np.ndarray, sample_rate: int, p: Mapping[str, Any]) -> Contour:
    import numpy as np
    from scipy.signal import butter, sosfilt

    lo, hi = (float(v) for v in p["band_hz"])
    hi = min(hi, 0.45 * sample_rate)
    sos = butter(4, [lo, hi], btype="bandpass", fs=sample_rate, output="sos")
    y = sosfilt(sos, np.asarray(x, dtype=np.float64))
    hop = max(1, int(round(float(p["hop_s"]) * sample_rate)))
    win = max(hop, int(round(float(p["frame_s"]) * sample_rate)))
    cs = np.concatenate([[0.0], np.cumsum(y * y)])
    n_frames = max(0, (len(y) - 1) // hop + 1)
    centres = np.arange(n_frames) * hop
    a = np.clip(centres - win // 2, 0, len(y))
    b = np.clip(centres + win // 2, 0, len(y))
    ms = (cs[b] - cs[a]) / np.maximum(b - a, 1)
    db = 10.0 * np.log10(np.maximum(ms, 1e-12))
    floor = float(np.percentile(db, 5)) if db.size else -120.0
    return Contour(db=db, hop=hop / sample_rate, floor_db=floor)


def region_mask(n_frames: int, hop: float, regions: list[Interval]) -> np.ndarray:
    import numpy as np

    m = np.zeros(n_frames, dtype=bool)
    for s, e in regions:
        a = max(0, int(np.ceil(s / hop)))
        b = min(n_frames, int(np.floor(e / hop)) + 1)
        if b > a:
            m[a:b] = True
    return m


@dataclass(frozen=True)
class Sounding:
    """Acoustic speech time of one speaker inside their regions."""

    speech_time: float  # regions trimmed to sound, minus pauses > pause_exclude_s
    articulation_time: float  # minus pauses > articulation_pause_s
    threshold_db: float
    pauses: tuple[Interval, ...]  # silent stretches > articulation_pause_s inside speech


def sounding(
    c: Contour,
    regions: list[Interval],
    p_ac: Mapping[str, Any],
    pause_exclude_s: float,
    articulation_pause_s: float,
) -> Sounding | None:
    import numpy as np

    n = c.db.shape[0]
    mask = region_mask(n, c.hop, regions)
    if not mask.any():
        return None
    peak = float(np.percentile(c.db[mask], 95))
    thr = max(
        peak - float(p_ac["silence_below_peak_db"]), c.floor_db + float(p_ac["floor_margin_db"])
    )
    loud = c.db >= thr
    speech = 0.0
    artic = 0.0
    pauses: list[Interval] = []
    for s, e in regions:
        a = max(0, int(np.ceil(s / c.hop)))
        b = min(n, int(np.floor(e / c.hop)) + 1)
        idx = np.nonzero(loud[a:b])[0]
        if idx.size == 0:
            continue
        first, last = a + idx[0], a + idx[-1]
        span = (last - first + 1) * c.hop
        # silent runs between first and last sounding frame
        seg = loud[first : last + 1].astype(np.int8)
        d = np.diff(np.concatenate([[1], seg, [1]]))
        starts = np.nonzero(d == -1)[0]
        ends = np.nonzero(d == 1)[0]
        lens = (ends - starts) * c.hop
        speech += span - float(lens[lens > pause_exclude_s].sum())
        artic += span - float(lens[lens > articulation_pause_s].sum())
        for st, ln in zip(starts, lens, strict=True):
            if ln > articulation_pause_s:
                t0 = (first + st) * c.hop
                pauses.append((t0, t0 + ln))
    return Sounding(speech, artic, thr, tuple(pauses))


def _voicing(
    x: np.ndarray,
    centres: np.ndarray,
    sample_rate: int,
    p: Mapping[str, Any],
    pitch: Mapping[str, Any],
) -> np.ndarray:
    """Normalised autocorrelation peak (0..1) in the voice pitch range at each centre."""
    import numpy as np

    L = int(round(float(p["voicing_window_s"]) * sample_rate))
    L += L % 2
    lag_lo = max(1, int(sample_rate / float(pitch["fmax_hz"])))
    lag_hi = min(L // 2, int(sample_rate / float(pitch["fmin_hz"])))
    if centres.size == 0 or lag_hi <= lag_lo:
        return np.zeros(centres.size)
    # the window must hold two periods of fmin: widen it when needed
    L = max(L, 2 * lag_hi + 2)
    lag_hi = min(L // 2, int(sample_rate / float(pitch["fmin_hz"])))
    xp = np.pad(np.asarray(x, dtype=np.float64), (L, L))
    idx = centres[:, None] + L - L // 2 + np.arange(L)[None, :]
    w = xp[idx]
    w = w - w.mean(axis=1, keepdims=True)
    han = np.hanning(L)
    nfft = 1 << int(np.ceil(np.log2(2 * L)))
    ra = np.fft.irfft(np.abs(np.fft.rfft(w * han, nfft)) ** 2, nfft)[:, :L]
    rw = np.fft.irfft(np.abs(np.fft.rfft(han, nfft)) ** 2, nfft)[:L]
    r = (ra / np.maximum(ra[:, :1], 1e-20)) / (rw / rw[0])
    return np.clip(r[:, lag_lo : lag_hi + 1].max(axis=1), 0.0, 1.0)


def syllable_nuclei(
    x: np.ndarray,
    sample_rate: int,
    c: Contour,
    regions: list[Interval],
    threshold_db: float,
    p_ac: Mapping[str, Any],
    p_pitch: Mapping[str, Any],
) -> np.ndarray:
    """Times (s) of syllable nuclei inside ``regions``."""
    import numpy as np
    from scipy.signal import find_peaks

    n = c.db.shape[0]
    if n < 3:
        return np.zeros(0)
    dist = max(1, int(round(float(p_ac["peak_min_distance_s"]) / c.hop)))
    # light smoothing (3 frames) removes ripples that are not syllables
    sm = np.convolve(c.db, np.ones(3) / 3, mode="same")
    peaks, _ = find_peaks(
        sm, height=threshold_db, prominence=float(p_ac["peak_prominence_db"]), distance=dist
    )
    if peaks.size == 0:
        return np.zeros(0)
    peaks = peaks[region_mask(n, c.hop, regions)[peaks]]
    hop_n = int(round(c.hop * sample_rate))
    centres = peaks * hop_n
    v = _voicing(x, centres, sample_rate, p_ac, p_pitch)
    return peaks[v >= float(p_ac["voicing_threshold"])] * c.hop


def voiced_share(
    x: np.ndarray,
    sample_rate: int,
    c: Contour,
    regions: list[Interval],
    threshold_db: float,
    p_ac: Mapping[str, Any],
    p_pitch: Mapping[str, Any],
    probes: int = 200,
) -> float:
    """Share of sounding frames (probed evenly) that are voiced: ~0 for noise or clicks."""
    import numpy as np

    idx = np.nonzero(region_mask(c.db.shape[0], c.hop, regions) & (c.db >= threshold_db))[0]
    if idx.size == 0:
        return 0.0
    idx = idx[np.linspace(0, idx.size - 1, min(probes, idx.size)).astype(int)]
    v = _voicing(x, idx * int(round(c.hop * sample_rate)), sample_rate, p_ac, p_pitch)
    return float(np.mean(v >= float(p_ac["voicing_threshold"])))


@dataclass(frozen=True)
class Pitch:
    median_hz: float
    range_st: float
    sd_st: float
    voiced_frames: int
    analysed_s: float


def pitch_stats(
    x: np.ndarray, sample_rate: int, regions: list[Interval], p: Mapping[str, Any]
) -> Pitch | None:
    """Median F0 and range (semitones between two percentiles) with librosa.pyin."""
    import numpy as np

    parts = []
    for s, e in regions:
        a, b = int(s * sample_rate), int(e * sample_rate)
        if b > a:
            parts.append(np.asarray(x[a:b], dtype=np.float32))
    if not parts:
        return None
    sig = np.concatenate(parts)
    max_n = int(float(p["max_seconds"]) * sample_rate)
    if sig.shape[0] > max_n:
        chunk = min(max_n, int(float(p["chunk_s"]) * sample_rate))
        k = max(1, max_n // chunk)
        starts = np.linspace(0, sig.shape[0] - chunk, k).astype(int)
        sig = np.concatenate([sig[s : s + chunk] for s in starts])
    frame = int(p["frame_length"])
    if sig.shape[0] < frame:
        return None
    import librosa

    f0, voiced, _ = librosa.pyin(
        sig,
        fmin=float(p["fmin_hz"]),
        fmax=float(p["fmax_hz"]),
        sr=sample_rate,
        frame_length=frame,
        hop_length=max(1, int(round(float(p["hop_s"]) * sample_rate))),
        resolution=float(p["resolution_st"]),
        n_thresholds=int(p["n_thresholds"]),
    )
    f = f0[voiced & np.isfinite(f0)]
    if f.size < int(p["min_voiced_frames"]):
        return None
    med = float(np.median(f))
    st = 12.0 * np.log2(f / med)
    lo, hi = (float(v) for v in p["range_percentiles"])
    return Pitch(
        median_hz=med,
        range_st=float(np.percentile(st, hi) - np.percentile(st, lo)),
        sd_st=float(np.std(st)),
        voiced_frames=int(f.size),
        analysed_s=sig.shape[0] / sample_rate,
    )
