"""Stereo calls with one party per channel: speech activity per channel, bleed rejected.

Each channel's activity comes from its frame levels (noise floor + hysteresis) or from
Silero VAD. Crosstalk: when party B speaks, a little of B leaks into A's channel (headset
bleed, echo). That leak is measured on the call itself (median level difference A − B over
frames where B is loud) and a frame of A counts as A's speech only when A exceeds what the
leak explains by ``margin_db``. Real simultaneous speech (both channels loud) is kept, so
turns of the two channels may overlap.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..types import Audio, Diarization
from .intervals import drop_short, fill_gaps, hysteresis, turns_from_masks
from .vad import frame_levels_db, silero_probabilities

log = logging.getLogger(__name__)

BACKEND = "channel"
LABELS = ("left", "right")
VADS = ("energy", "silero")
CHANNEL_OF = {"left": 0, "right": 1}


def energy_activity(
    levels: np.ndarray, ecfg: dict[str, Any]
) -> tuple[np.ndarray, dict[str, float]]:
    """Hysteresis on frame levels, thresholds relative to the channel's noise floor and its
    speech level."""
    floor = float(np.percentile(levels, float(ecfg["floor_percentile"])))
    peak = float(np.percentile(levels, float(ecfg["peak_percentile"])))
    lowest = max(peak - float(ecfg["max_below_peak_db"]), float(ecfg["min_dbfs"]))
    on = max(floor + float(ecfg["on_db"]), lowest)
    off = max(
        floor + float(ecfg["off_db"]), lowest - (float(ecfg["on_db"]) - float(ecfg["off_db"]))
    )
    return hysteresis(levels, on, off), {"floor_db": round(floor, 1), "on_db": round(on, 1)}


def leak_db(
    levels_a: np.ndarray, levels_b: np.ndarray, active_b: np.ndarray, bcfg: dict[str, Any]
) -> float:
    """Typical level of A relative to B while B is loud (how much of B leaks into A)."""
    if active_b.sum() < 10:
        return -120.0
    loud = float(np.percentile(levels_b[active_b], float(bcfg["loud_percentile"])))
    sel = active_b & (levels_b >= loud)
    if sel.sum() < 5:
        return -120.0
    return min(float(np.median(levels_a[sel] - levels_b[sel])), float(bcfg["max_leak_db"]))


def diarize_channels(audio: Audio, cfg: dict[str, Any]) -> Diarization:
    t0 = time.perf_counter()
    frame_s = float(cfg["frame_s"])
    ccfg = cfg["channel"]
    ecfg = ccfg["energy"]
    if ccfg["vad"] not in VADS:
        raise ConfigError(
            f"channel.vad invalide dans les paramètres de diarisation : {ccfg['vad']!r}. "
            f"Valeurs valides : {', '.join(VADS)}."
        )
    sr = int(audio.sample_rate)
    chans = [np.asarray(audio.channel(i), dtype=np.float32) for i in range(2)]
    levels = [frame_levels_db(c, sr, frame_s, float(ecfg["window_s"])) for c in chans]
    details: dict[str, Any] = {"vad": ccfg["vad"]}
    active: list[np.ndarray] = []
    for i, c in enumerate(chans):
        if ccfg["vad"] == "silero":
            probs = silero_probabilities(c, sr, frame_s)
            act = hysteresis(probs, float(cfg["silero"]["onset"]), float(cfg["silero"]["offset"]))
            act &= levels[i] > float(ecfg["min_dbfs"])
        else:
            act, info = energy_activity(levels[i], ecfg)
            details[f"{LABELS[i]}_levels"] = info
        active.append(act)
    bcfg = ccfg["bleed"]
    leaks = [
        leak_db(levels[0], levels[1], active[1], bcfg),  # right → left
        leak_db(levels[1], levels[0], active[0], bcfg),  # left → right
    ]
    details["leak_db"] = {
        "right_into_left": round(leaks[0], 1),
        "left_into_right": round(leaks[1], 1),
    }
    margin = float(bcfg["margin_db"])
    own = [
        active[0] & (levels[0] - levels[1] > leaks[0] + margin),
        active[1] & (levels[1] - levels[0] > leaks[1] + margin),
    ]
    min_frames = int(round(float(ccfg["min_speech_s"]) / frame_s))
    # bridge the frame-level holes left by the bleed test before dropping short bursts
    own = [drop_short(fill_gaps(m, 3), min_frames) for m in own]
    gap = int(round(float(ccfg["fill_gap_s"]) / frame_s))
    filled = [fill_gaps(own[0], gap, blocked=own[1]), fill_gaps(own[1], gap, blocked=own[0])]
    masks = {LABELS[i]: filled[i] for i in range(2) if filled[i].any()}
    turns = turns_from_masks(masks, frame_s, audio.duration, float(ccfg["pad_s"]))
    details["timings_s"] = {"total": round(time.perf_counter() - t0, 3)}
    speakers = tuple(s for s in LABELS if s in masks)
    return Diarization(
        turns=turns,
        backend=BACKEND,
        speakers=speakers,
        channel_of={s: CHANNEL_OF[s] for s in speakers},
        details=details,
    )
