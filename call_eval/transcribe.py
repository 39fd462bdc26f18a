"""Speech recognition with faster-whisper: French, word timestamps, VAD, repeatable output.

A true stereo recording (one party per channel, as call centres record) is transcribed
channel by channel: a quiet agent is then not buried under the callee, and each word's
channel is known exactly. Decoding options are data (``models/manifest.yaml``): temperature
0 with no fallback, so the same file gives the same transcript; hallucination loops that
this allows are caught by a compression-ratio / repeated n-gram guard and dropped.
"""

from __future__ import annotations

import logging
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from . import models
from .types import Audio, Segment, Transcript, Word

log = logging.getLogger(__name__)

ProgressFn = Callable[[float], None]


@dataclass(frozen=True)
class AsrInfo:
    """Which model actually ran (recorded in the analysis output)."""

    name: str
    location: str
    device: str
    compute_type: str


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


def _is_loop(text: str, guard: dict) -> bool:
    """A segment that repeats itself (hallucination loop with temperature 0)."""
    words = text.lower().split()
    n = int(guard.get("ngram", 3))
    if len(words) >= 3 * n:
        grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
        if grams.most_common(1)[0][1] > int(guard.get("max_ngram_repeats", 4)):
            return True
    return len(text) > 40 and _compression_ratio(text) > float(
        guard.get("max_compression_ratio", 2.4)
    )


def _segment(seg, channel: int | None, shift: float) -> Segment:
    words = tuple(
        Word(
            start=float(w.start) + shift,
            end=float(max(w.end, w.start)) + shift,
            text=w.word.strip(),
            probability=float(w.probability),
        )
        for w in (seg.words or [])
        if w.word.strip()
    )
    return Segment(
        start=float(seg.start) + shift,
        end=float(seg.end) + shift,
        text=seg.text.strip(),
        words=words,
        avg_logprob=float(seg.avg_logprob),
        no_speech_prob=float(seg.no_speech_prob),
        compression_ratio=float(seg.compression_ratio),
        channel=channel,
    )


def _decode_channel(
    model,
    samples,
    options: dict,
    channel: int | None,
    total: float,
    progress: ProgressFn | None,
    offset: float,
) -> list[Segment]:
    """Decode one signal; a segment caught in a repetition loop is re-decoded.

    With temperature 0 and no fallback nothing breaks a loop (a phone number read digit by
    digit can become "6, 6, 6, …" for a minute, swallowing the real words around it). The
    region between the surrounding good segments is decoded again with a repetition
    penalty and n-gram blocking (still deterministic); what still loops is dropped.
    """
    guard = models.loop_guard()
    sr = 16000
    segments_iter, _info = model.transcribe(samples, **options)
    out: list[Segment] = []
    loops: list[tuple[float, float]] = []  # regions to re-decode
    pending_loop = False
    for seg in segments_iter:
        text = seg.text.strip()
        if progress and total > 0:
            progress(min(1.0, offset + seg.end / total))
        if not text:
            continue
        if _is_loop(text, guard):
            log.warning("repetition loop at %.1f–%.1f s: %.40s…", seg.start, seg.end, text)
            if not pending_loop:
                loops.append((out[-1].end if out else 0.0, float(seg.end)))
            else:
                loops[-1] = (loops[-1][0], float(seg.end))
            pending_loop = True
            continue
        if pending_loop:
            loops[-1] = (loops[-1][0], float(seg.start))
            pending_loop = False
        out.append(_segment(seg, channel, 0.0))
    if pending_loop:
        loops[-1] = (loops[-1][0], len(samples) / sr)
    retry = dict(options, **guard.get("redecode", {}))
    for start, end in loops:
        if end - start < 0.3:
            continue
        piece = samples[int(start * sr) : int(end * sr)]
        redone, _ = model.transcribe(piece, **retry)
        kept = [
            _segment(seg, channel, start)
            for seg in redone
            if seg.text.strip() and not _is_loop(seg.text.strip(), guard)
        ]
        log.warning(
            "re-decoded %.1f–%.1f s after a loop: %d segment(s) recovered", start, end, len(kept)
        )
        out.extend(kept)
    out.sort(key=lambda s: s.start)
    return out


def transcribe(
    audio: Audio,
    *,
    model: str | None = None,
    language: str = "fr",
    device: str = "auto",
    compute_type: str = "auto",
    beam_size: int | None = None,
    per_channel: bool | None = None,
    progress: ProgressFn | None = None,
) -> tuple[Transcript, AsrInfo]:
    """Transcribe a recording. ``per_channel`` defaults to True for a true stereo file."""
    ref = models.resolve_asr_model(model)
    dev, ctype = models.auto_device(device, compute_type)
    whisper = models.load_whisper(ref.location, dev, ctype, ref.local)
    options = models.asr_decode_options()
    options["language"] = language
    if beam_size is not None:
        options["beam_size"] = int(beam_size)
    split = audio.is_true_stereo if per_channel is None else per_channel and audio.channels == 2
    segments: list[Segment] = []
    if split:
        for ch in range(audio.channels):
            segments += _decode_channel(
                whisper, audio.channel(ch), options, ch, audio.duration * 2, progress, ch * 0.5
            )
        segments.sort(key=lambda s: (s.start, s.channel or 0))
    else:
        segments = _decode_channel(
            whisper, audio.mono(), options, None, audio.duration, progress, 0.0
        )
    if progress:
        progress(1.0)
    transcript = Transcript(
        language=language, segments=tuple(segments), model=ref.name, duration=audio.duration
    )
    return transcript, AsrInfo(ref.name, ref.location, dev, ctype)
