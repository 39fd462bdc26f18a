"""Frame masks, runs and speaker turns: small pure numpy helpers shared by the backends.

A *mask* is a boolean array on a regular frame grid (``frame_s`` seconds per frame); a
*label track* is an int array with ``-1`` for non-speech and ``k >= 0`` for speaker ``k``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..types import SpeakerTurn


def runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    """Contiguous runs of equal values as ``(start, end, value)``, ``end`` exclusive."""
    v = np.asarray(values)
    if v.size == 0:
        return []
    change = np.flatnonzero(v[1:] != v[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [v.size]))
    return [(int(s), int(e), int(v[s])) for s, e in zip(starts, ends, strict=True)]


def hysteresis(values: np.ndarray, on: float, off: float) -> np.ndarray:
    """True on runs where ``values >= off`` that reach ``on`` somewhere."""
    above = np.asarray(values) >= off
    out = np.zeros(above.shape, dtype=bool)
    for s, e, v in runs(above):
        if v and np.max(values[s:e]) >= on:
            out[s:e] = True
    return out


def drop_short(mask: np.ndarray, min_frames: int) -> np.ndarray:
    """Remove True runs shorter than ``min_frames``."""
    out = np.asarray(mask, dtype=bool).copy()
    if min_frames <= 1:
        return out
    for s, e, v in runs(out):
        if v and e - s < min_frames:
            out[s:e] = False
    return out


def fill_gaps(mask: np.ndarray, max_frames: int, blocked: np.ndarray | None = None) -> np.ndarray:
    """Fill False runs of at most ``max_frames`` between two True runs, unless ``blocked``
    (e.g. another speaker's speech) is True anywhere inside the gap."""
    out = np.asarray(mask, dtype=bool).copy()
    if max_frames <= 0:
        return out
    r = runs(out)
    for i, (s, e, v) in enumerate(r):
        if v or i == 0 or i == len(r) - 1 or e - s > max_frames:
            continue
        if blocked is not None and blocked[s:e].any():
            continue
        out[s:e] = True
    return out


def widen(mask: np.ndarray, frames: int) -> np.ndarray:
    """Extend every True run by ``frames`` on both sides."""
    m = np.asarray(mask, dtype=bool)
    if frames <= 0 or not m.any():
        return m.copy()
    kernel = np.ones(2 * frames + 1)
    return np.convolve(m.astype(float), kernel, mode="same") > 0.5


def mask_from_intervals(
    intervals: Sequence[tuple[float, float]], n_frames: int, frame_s: float
) -> np.ndarray:
    """Boolean mask of the frames whose centre lies inside one of the intervals."""
    mask = np.zeros(n_frames, dtype=bool)
    for start, end in intervals:
        a = max(0, int(np.ceil(float(start) / frame_s - 0.5)))
        b = min(n_frames, int(np.ceil(float(end) / frame_s - 0.5)))
        if b > a:
            mask[a:b] = True
    return mask


def mask_intervals(mask: np.ndarray, frame_s: float) -> list[tuple[float, float]]:
    """True runs as ``(start, end)`` seconds."""
    return [(s * frame_s, e * frame_s) for s, e, v in runs(np.asarray(mask, dtype=bool)) if v]


def turns_from_masks(
    masks: dict[str, np.ndarray], frame_s: float, duration: float, pad_s: float = 0.0
) -> tuple[SpeakerTurn, ...]:
    """Speaker turns from one mask per speaker, sorted by start then speaker; turns are
    clipped to ``[0, duration]`` and zero-length turns are dropped."""
    turns: list[SpeakerTurn] = []
    for speaker, mask in masks.items():
        for start, end in mask_intervals(mask, frame_s):
            a = round(max(0.0, start - pad_s), 3)
            b = round(min(duration, end + pad_s), 3)
            if b > a:
                turns.append(SpeakerTurn(start=a, end=b, speaker=speaker))
    return tuple(sorted(turns, key=lambda t: (t.start, t.end, t.speaker)))


def order_by_first_appearance(labels: np.ndarray) -> np.ndarray:
    """Renumber speaker labels 0, 1, ... in order of first appearance (``-1`` kept)."""
    out = np.full_like(labels, -1)
    seen: dict[int, int] = {}
    for _s, _e, v in runs(labels):
        if v >= 0 and v not in seen:
            seen[v] = len(seen)
    for old, new in seen.items():
        out[labels == old] = new
    return out


def merge_turns(turns: Sequence[SpeakerTurn], gap: float = 0.0) -> tuple[SpeakerTurn, ...]:
    """Merge same-speaker turns that overlap or are at most ``gap`` apart; sorted output."""
    by_speaker: dict[str, list[list[float]]] = {}
    for t in sorted(turns, key=lambda t: (t.start, t.end)):
        spans = by_speaker.setdefault(t.speaker, [])
        if spans and t.start <= spans[-1][1] + gap:
            spans[-1][1] = max(spans[-1][1], t.end)
        else:
            spans.append([t.start, t.end])
    out = [
        SpeakerTurn(start=round(a, 3), end=round(b, 3), speaker=spk)
        for spk, spans in by_speaker.items()
        for a, b in spans
        if round(b, 3) > round(a, 3)
    ]
    return tuple(sorted(out, key=lambda t: (t.start, t.end, t.speaker)))
