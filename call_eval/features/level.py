"""Active speech level after ITU-T P.56 (method B), in dBFS, and level over time.

Levels are ``10*log10(mean square)`` relative to digital full scale, so a full-scale
square wave is 0 dBFS and a full-scale sine is -3.0 dBFS (the dBov convention of
ITU-T G.100.1). The active level is the mean power over the samples P.56 counts as speech:
an envelope (two exponential smoothings of |x|, time constant 30 ms) above a threshold,
with 200 ms hangover; the threshold is the one lying ``margin_db`` (15.9 dB) below the
level it yields. Silence and background noise far below the speech do not dilute it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

_EPS = 1e-20


def envelope(x: np.ndarray, sample_rate: int, p: Mapping[str, Any]) -> np.ndarray:
    """P.56 envelope with hangover: the max of the smoothed |x| over the last ``hangover_s``."""
    import numpy as np
    from scipy.ndimage import maximum_filter1d
    from scipy.signal import lfilter

    g = float(np.exp(-1.0 / (sample_rate * float(p["time_constant_s"]))))
    a = np.abs(np.asarray(x, dtype=np.float64))
    q = lfilter([1.0 - g], [1.0, -g], lfilter([1.0 - g], [1.0, -g], a))
    h = max(1, int(round(float(p["hangover_s"]) * sample_rate)))
    # trailing window: q_h[n] = max(q[n-h+1 .. n])
    return maximum_filter1d(q, size=h, origin=(h - 1) // 2, mode="nearest")


@dataclass(frozen=True)
class ActiveLevel:
    level_db: float  # active speech level, dBFS
    activity: float  # share of samples counted active
    threshold: float  # envelope amplitude threshold used (linear)


def active_level_from(
    power: np.ndarray, env: np.ndarray, margin_db: float = 15.9
) -> ActiveLevel | None:
    """P.56 method B on precomputed squared samples and envelope (same length)."""
    import numpy as np

    n = int(power.shape[0])
    if n == 0:
        return None
    energy = float(power.sum())
    if energy <= _EPS * n:
        return None
    # thresholds every 0.25 dB from -200 dBFS up: count samples with env >= each threshold
    step, lo_db = 0.25, -200.0
    env_db = 20.0 * np.log10(np.maximum(env, 1e-10))
    nbins = int(-lo_db / step) + 2
    idx = np.clip(((env_db - lo_db) / step).astype(np.int64), 0, nbins - 1)
    counts = np.bincount(idx, minlength=nbins)
    active = np.cumsum(counts[::-1])[::-1]  # samples with env >= thr_db[j]
    thr_db = lo_db + step * np.arange(nbins)
    ok = active > 0
    thr_db, active = thr_db[ok], active[ok]
    level = 10.0 * np.log10(energy / active)
    diff = level - thr_db
    below = np.nonzero(diff <= margin_db)[0]
    if below.size == 0:
        j = len(diff) - 1
        return ActiveLevel(float(level[j]), float(active[j] / n), float(10 ** (thr_db[j] / 20)))
    j = int(below[0])
    if j == 0:
        return ActiveLevel(float(level[0]), float(active[0] / n), float(10 ** (thr_db[0] / 20)))
    d0, d1 = diff[j - 1], diff[j]
    f = float((d0 - margin_db) / (d0 - d1)) if d0 != d1 else 0.0
    lev = float(level[j - 1] + f * (level[j] - level[j - 1]))
    act = float(active[j - 1] + f * (active[j] - active[j - 1])) / n
    thr = float(thr_db[j - 1] + f * (thr_db[j] - thr_db[j - 1]))
    return ActiveLevel(lev, act, float(10 ** (thr / 20)))


def active_speech_level(
    x: np.ndarray, sample_rate: int, p: Mapping[str, Any] | None = None
) -> float | None:
    """Active speech level of a signal in dBFS (None for digital silence)."""
    import numpy as np

    pp = p or {"time_constant_s": 0.03, "hangover_s": 0.2, "margin_db": 15.9}
    x = np.asarray(x, dtype=np.float64)
    res = active_level_from(x * x, envelope(x, sample_rate, pp), float(pp["margin_db"]))
    return None if res is None else res.level_db


def block_levels(
    power: np.ndarray,
    active: np.ndarray,
    in_region: np.ndarray,
    sample_rate: int,
    block_s: float,
    min_active: float,
) -> list[tuple[float, float, float]]:
    """Level per block of ``block_s``: ``(start, end, dBFS)`` for blocks with enough speech.

    ``active`` and ``in_region`` are boolean masks over samples; the block level is the
    power of the block's samples in the speaker's regions over its active sample count.
    """
    import numpy as np

    n = int(power.shape[0])
    b = max(1, int(round(block_s * sample_rate)))
    nb = n // b
    if nb == 0:
        return []
    pw = np.where(in_region[: nb * b], power[: nb * b], 0.0).reshape(nb, b).sum(axis=1)
    act = (active[: nb * b] & in_region[: nb * b]).reshape(nb, b).sum(axis=1)
    out = []
    for k in np.nonzero(act >= min_active * b)[0]:
        lev = 10.0 * np.log10(max(pw[k] / act[k], _EPS))
        out.append((k * b / sample_rate, (k + 1) * b / sample_rate, float(lev)))
    return out


def quiet_stretches(
    blocks: list[tuple[float, float, float]], drop_db: float, min_s: float
) -> tuple[list[dict[str, float]], float]:
    """Stretches where the level falls ``drop_db`` below the speaker's median block level.

    Flagged blocks next to each other (or separated only by blocks without speech) form a
    stretch; stretches shorter than ``min_s`` of flagged speech are dropped. Returns the
    stretches and the share of speech blocks inside them.
    """
    import numpy as np

    if not blocks:
        return [], 0.0
    med = float(np.median([lev for _, _, lev in blocks]))
    stretches: list[dict[str, Any]] = []
    cur: list[tuple[float, float, float]] = []

    def close() -> None:
        dur = sum(e - s for s, e, _ in cur)
        if cur and dur >= min_s:
            stretches.append(
                {
                    "start": round(cur[0][0], 2),
                    "end": round(cur[-1][1], 2),
                    "speech_s": round(dur, 2),
                    "level_dbfs": round(float(np.mean([lv for _, _, lv in cur])), 1),
                    "below_median_db": round(med - float(np.mean([lv for _, _, lv in cur])), 1),
                }
            )

    for blk in blocks:
        if blk[2] < med - drop_db:
            cur.append(blk)
        else:
            close()
            cur = []
    close()
    flagged = sum(s["speech_s"] for s in stretches)
    return stretches, float(flagged / sum(e - s for s, e, _ in blocks))
