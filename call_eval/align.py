"""Speaker assignment per word, then utterances (speaker turns with text and words).

Whisper segments straddle speaker changes, so speakers are assigned to each *word*: the
diarization turn that overlaps the word most wins; a word in no turn takes the nearest turn
(within ``max_snap_s``). When each channel was transcribed on its own, a word's channel
*is* its speaker (exact). Consecutive words of one speaker form an utterance; a silence
longer than ``split_gap_s`` inside one speaker's run starts a new utterance.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from .types import Diarization, SpeakerTurn, SpeakerWord, Transcript, Utterance, Word


def _speaker_for(
    start: float, end: float, turns: Sequence[SpeakerTurn], starts: list[float], max_snap_s: float
) -> str | None:
    """The speaker whose turns overlap [start, end] most, else the nearest turn's speaker."""
    overlap: dict[str, float] = {}
    i = max(0, bisect.bisect_right(starts, end) - 1)
    # walk back over turns that may still overlap (turns can overlap each other)
    j = i
    while j >= 0 and (turns[j].end > start or i - j < 8):
        t = turns[j]
        ov = min(end, t.end) - max(start, t.start)
        if ov > 0:
            overlap[t.speaker] = overlap.get(t.speaker, 0.0) + ov
        j -= 1
    if overlap:
        return max(overlap.items(), key=lambda kv: kv[1])[0]
    mid = (start + end) / 2
    best: tuple[float, str] | None = None
    for k in (i - 1, i, i + 1):
        if 0 <= k < len(turns):
            t = turns[k]
            dist = 0.0 if t.start <= mid <= t.end else min(abs(mid - t.start), abs(mid - t.end))
            if best is None or dist < best[0]:
                best = (dist, t.speaker)
    if best is not None and best[0] <= max_snap_s:
        return best[1]
    return None


def assign_speakers(
    transcript: Transcript, diarization: Diarization, *, max_snap_s: float = 2.0
) -> tuple[SpeakerWord, ...]:
    """Give every ASR word a speaker label (see module docstring)."""
    channel_speaker = {ch: spk for spk, ch in diarization.channel_of.items()}
    turns = sorted(diarization.turns, key=lambda t: (t.start, t.end))
    starts = [t.start for t in turns]
    fallback = diarization.speakers[0] if diarization.speakers else "SPEAKER_00"
    out: list[SpeakerWord] = []
    for seg in transcript.segments:
        words = seg.words or (Word(seg.start, seg.end, seg.text, 1.0),)
        for w in words:
            if seg.channel is not None and seg.channel in channel_speaker:
                speaker = channel_speaker[seg.channel]
            else:
                speaker = _speaker_for(w.start, w.end, turns, starts, max_snap_s) if turns else None
                if speaker is None:
                    speaker = out[-1].speaker if out else fallback
            out.append(SpeakerWord(w.start, w.end, w.text, w.probability, speaker))
    out.sort(key=lambda w: (w.start, w.end))
    return tuple(out)


def _join(words: Sequence[SpeakerWord]) -> str:
    text = ""
    for w in words:
        token = w.text.strip()
        if token:
            # faster-whisper splits French elisions and inversions: "m" + "'accorder",
            # "Avez" + "-vous"; glue them back, and punctuation, to the previous word.
            glue = "" if not text or token[0] in ",.;:!?)…'’-" or text.endswith(("'", "’")) else " "
            text += glue + token
    return text


def build_utterances(
    words: Sequence[SpeakerWord], *, split_gap_s: float = 2.0
) -> tuple[Utterance, ...]:
    """Group consecutive same-speaker words into utterances."""
    groups: list[list[SpeakerWord]] = []
    for w in words:
        if (
            groups
            and groups[-1][-1].speaker == w.speaker
            and w.start - groups[-1][-1].end <= split_gap_s
        ):
            groups[-1].append(w)
        else:
            groups.append([w])
    return tuple(
        Utterance(
            speaker=g[0].speaker,
            start=g[0].start,
            end=max(w.end for w in g),
            text=_join(g),
            words=tuple(Word(w.start, w.end, w.text, w.probability) for w in g),
        )
        for g in groups
    )


def align(
    transcript: Transcript, diarization: Diarization, *, split_gap_s: float = 2.0
) -> tuple[Utterance, ...]:
    """Public entry: per-word speaker assignment, then utterances."""
    return build_utterances(assign_speakers(transcript, diarization), split_gap_s=split_gap_s)
