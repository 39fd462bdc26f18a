"""Transcript-based timing: words, speech time, rates, pauses, turns, overlaps, silences.

Pure functions over utterances (no audio). Word times from ASR are cleaned first: a word
without usable times gets a place between its neighbours, and every word's duration is
capped (Whisper stretches the last word before a silence over that silence).
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from call_eval.features.intervals import Interval, gaps, merge, total
from call_eval.types import Utterance, Word

_LETTER = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class TimedWord:
    """A cleaned word: times usable and duration capped. ``probability`` is None when the
    word was made from the utterance text (no ASR word), so it carries no confidence."""

    start: float
    end: float
    text: str
    probability: float | None
    utterance: int


def is_word(text: str) -> bool:
    """True for a token holding at least one letter or digit (not bare punctuation)."""
    return bool(_LETTER.search(text or ""))


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _cap(text: str, p: Mapping[str, Any]) -> float:
    letters = sum(1 for ch in text if ch.isalnum())
    return min(float(p["cap_max_s"]), float(p["cap_base_s"]) + float(p["cap_per_char_s"]) * letters)


_JOINERS = ("'", "’", "-")


def join_pieces(words: Sequence[Word]) -> list[Word]:
    """Rejoin words that the ASR split at an apostrophe or a hyphen.

    Whisper writes "d'électricité" as "d" + "'électricité" and "avez-vous" as "avez" +
    "-vous"; counted as written (space-separated), each is one word.
    """
    out: list[Word] = []
    for w in words:
        text = w.text or ""
        prev = out[-1].text.rstrip() if out else ""
        if out and ((text[:1] in _JOINERS) or (prev[-1:] in _JOINERS and not text[:1].isspace())):
            p = out[-1]
            ok = [x for x in (p.probability, w.probability) if _finite(x)]
            out[-1] = Word(
                start=p.start,
                end=w.end if _finite(w.end) else p.end,
                text=p.text + text,
                probability=sum(ok) / len(ok) if ok else p.probability,
            )
        else:
            out.append(w)
    return out


def clean_words(utt: Utterance, index: int, p: Mapping[str, Any]) -> list[TimedWord]:
    """Usable, capped words of one utterance (made from its text when it has no words)."""
    u0, u1 = float(utt.start), float(max(utt.end, utt.start))
    raw = [w for w in join_pieces(utt.words) if is_word(w.text)]
    if not raw:
        tokens = [t for t in (utt.text or "").split() if is_word(t)]
        if not tokens:
            return []
        step = (u1 - u0) / len(tokens)
        return [
            TimedWord(u0 + i * step, u0 + (i + 1) * step, t, None, index)
            for i, t in enumerate(tokens)
        ]
    starts: list[float | None] = []
    ends: list[float | None] = []
    for w in raw:
        ok = _finite(w.start) and _finite(w.end) and w.end >= w.start and w.start >= 0
        starts.append(float(w.start) if ok else None)
        ends.append(float(w.end) if ok else None)
    # place words without usable times evenly between their timed neighbours
    i = 0
    n = len(raw)
    while i < n:
        if starts[i] is not None:
            i += 1
            continue
        j = i
        while j < n and starts[j] is None:
            j += 1
        lo = ends[i - 1] if i > 0 and ends[i - 1] is not None else u0
        hi = starts[j] if j < n and starts[j] is not None else max(u1, lo)
        hi = max(hi, lo)
        step = (hi - lo) / (j - i)
        for k in range(i, j):
            starts[k] = lo + (k - i) * step
            ends[k] = lo + (k - i + 1) * step
        i = j
    out = []
    for w, s, e in zip(raw, starts, ends, strict=True):
        assert s is not None and e is not None
        e = min(e, s + _cap(w.text, p))
        prob = float(w.probability) if _finite(w.probability) else None
        out.append(TimedWord(s, e, w.text.strip(), prob, index))
    out.sort(key=lambda w: w.start)
    return out


def speech_runs(words: Sequence[TimedWord], max_gap: float) -> list[Interval]:
    """Stretches of speech: words of one utterance joined across gaps up to ``max_gap``.

    Runs never join words of different utterances; the result is merged over all.
    """
    runs: list[Interval] = []
    by_utt: dict[int, list[TimedWord]] = {}
    for w in words:
        by_utt.setdefault(w.utterance, []).append(w)
    for ws in by_utt.values():
        ws = sorted(ws, key=lambda w: w.start)
        s, e = ws[0].start, ws[0].end
        for w in ws[1:]:
            if w.start - e <= max_gap:
                e = max(e, w.end)
            else:
                runs.append((s, e))
                s, e = w.start, w.end
        runs.append((s, e))
    return merge(runs)


def inner_pauses(words: Sequence[TimedWord], min_pause: float) -> list[Interval]:
    """Pauses between consecutive words of the same utterance, at least ``min_pause`` long."""
    out: list[Interval] = []
    by_utt: dict[int, list[TimedWord]] = {}
    for w in words:
        by_utt.setdefault(w.utterance, []).append(w)
    for ws in by_utt.values():
        ws = sorted(ws, key=lambda w: w.start)
        end = ws[0].end
        for w in ws[1:]:
            if w.start - end >= min_pause:
                out.append((end, w.start))
            end = max(end, w.end)
    return sorted(out)


def rate_wpm(n_words: int, speech_time: float) -> float | None:
    return 60.0 * n_words / speech_time if speech_time > 0 and n_words > 0 else None


def rate_series(
    words: Sequence[TimedWord], utterances: Sequence[Utterance], p: Mapping[str, Any]
) -> dict[str, list[dict[str, float]]]:
    """Rate over time: per utterance, and over a sliding window of speech."""
    gap = float(p["pause_exclude_s"])
    per_utt: list[dict[str, float]] = []
    by_utt: dict[int, list[TimedWord]] = {}
    for w in words:
        by_utt.setdefault(w.utterance, []).append(w)
    for idx, ws in sorted(by_utt.items()):
        t = total(speech_runs(ws, gap))
        if t >= float(p["utterance_min_speech_s"]):
            per_utt.append(
                {
                    "utterance": idx,
                    "start": round(utterances[idx].start, 2),
                    "end": round(utterances[idx].end, 2),
                    "wpm": round(60.0 * len(ws) / t, 1),
                }
            )
    window: list[dict[str, float]] = []
    if words:
        runs = speech_runs(words, gap)
        mids = sorted(0.5 * (w.start + w.end) for w in words)
        w_s, step = float(p["window_s"]), float(p["window_step_s"])
        t0, t_last = runs[0][0], runs[-1][1]
        n_steps = max(1, int(math.ceil(max(0.0, t_last - t0 - w_s) / step)) + 1)
        import bisect

        for k in range(n_steps):
            a = t0 + k * step
            b = a + w_s
            sp = sum(max(0.0, min(e, b) - max(s, a)) for s, e in runs)
            if sp < float(p["window_min_speech_s"]):
                continue
            n = bisect.bisect_left(mids, b) - bisect.bisect_left(mids, a)
            window.append(
                {
                    "start": round(a, 2),
                    "end": round(b, 2),
                    "t": round(a + w_s / 2, 2),
                    "wpm": round(60.0 * n / sp, 1),
                }
            )
    return {"per_utterance": per_utt, "window": window}


# --------------------------------------------------------------------------- turns
@dataclass(frozen=True)
class Overlap:
    start: float
    end: float
    by: str  # role that started speaking while the other was talking
    over: str  # role that was talking
    interruption: bool  # the one talking was cut off (stopped first)

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 2),
            "end": round(self.end, 2),
            "duration": round(self.duration, 2),
            "by": self.by,
            "over": self.over,
            "interruption": self.interruption,
        }


def find_overlaps(utterances: Sequence[Utterance], p: Mapping[str, Any]) -> list[Overlap]:
    """Overlapped speech between agent and callee, and who interrupted whom.

    A turn that starts while the other speaker talks overlaps it; it is an interruption
    when the other speaker then stops first (cut off) and the overlap lasts at least
    ``interruption_min_overlap_s``. A short turn inside the other's (a backchannel such as
    "oui" or "d'accord") overlaps but does not interrupt.
    """
    min_ov = float(p["min_overlap_s"])
    min_int = float(p["interruption_min_overlap_s"])
    utts = sorted(
        (u for u in utterances if u.role in ("agent", "callee") and u.end > u.start),
        key=lambda u: (u.start, u.end),
    )
    out: list[Overlap] = []
    for i, a in enumerate(utts):
        for b in utts[i + 1 :]:
            if b.start >= a.end:
                break
            if b.role == a.role:
                continue
            s, e = b.start, min(a.end, b.end)
            if e - s < min_ov:
                continue
            cut = a.end < b.end
            out.append(Overlap(s, e, str(b.role), str(a.role), cut and e - s >= min_int))
    out.sort(key=lambda o: o.start)
    return out


def floor_blocks(utterances: Sequence[Utterance]) -> list[tuple[str, float, float]]:
    """Who holds the floor: consecutive same-role utterances joined into turns.

    An utterance lying wholly inside the other speaker's utterance (a backchannel) does not
    take the floor.
    """
    # longest first among equal starts, so a turn is seen after any turn that contains it
    utts = sorted(
        (u for u in utterances if u.role in ("agent", "callee") and u.end > u.start),
        key=lambda u: (u.start, -u.end),
    )
    holders = []
    reach = {"agent": -math.inf, "callee": -math.inf}  # latest end so far, per role
    for u in utts:
        other = "callee" if u.role == "agent" else "agent"
        if reach[other] < u.end:
            holders.append(u)
        reach[str(u.role)] = max(reach[str(u.role)], u.end)
    blocks: list[list[Any]] = []
    for u in holders:
        if blocks and blocks[-1][0] == u.role:
            blocks[-1][2] = max(blocks[-1][2], u.end)
        else:
            blocks.append([u.role, u.start, u.end])
    return [(str(r), float(s), float(e)) for r, s, e in blocks]


def gap_stats(blocks: Sequence[tuple[str, float, float]]) -> list[float]:
    """Offsets at each change of floor: next start minus previous end (< 0 = overlap)."""
    return [blocks[i + 1][1] - blocks[i][2] for i in range(len(blocks) - 1)]


def silences(activity: list[Interval], min_silence: float) -> list[Interval]:
    """Times nobody speaks, between the first and the last speech, at least ``min_silence``."""
    return [(s, e) for s, e in gaps(merge(activity)) if e - s >= min_silence]


def median(xs: Sequence[float]) -> float | None:
    return float(statistics.median(xs)) if xs else None
