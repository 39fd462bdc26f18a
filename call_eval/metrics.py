"""Accuracy metrics for speech stages: word error rate and diarization error rate.

WER compares normalised French text: lowercase, no punctuation, numbers in digits on both
sides (Whisper writes "15 ans" where a script says "quinze ans"), a few unit symbols
spelled out. DER uses pyannote.metrics with a forgiveness collar around reference
boundaries (0.25 s by default, the usual choice for telephone speech).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .nlp import normalize

_SYMBOLS = (
    ("%", " pour cent "),
    ("€", " euros "),
    ("m²", " mètres carrés "),
    ("m2", " mètres carrés "),
)
_HESITATIONS = {"euh", "heu", "hum", "hm", "mmh", "bah", "ben"}


def normalize_for_wer(text: str) -> list[str]:
    """Tokens for WER: digits for numbers, no punctuation or hesitations."""
    from text_to_num import alpha2digit

    for sym, words in _SYMBOLS:
        text = text.replace(sym, words)
    text = re.sub(r"(?<=\d)\s*h\s*(?=\d|\b)", " heures ", text)
    text = normalize(alpha2digit(text, "fr"))
    text = text.replace("'", " ").replace("-", " ")
    # digit groups written with spaces ("06 12 34") stay separate tokens on both sides
    return [t for t in text.split() if t not in _HESITATIONS]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length)."""
    ref, hyp = normalize_for_wer(reference), normalize_for_wer(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1], len(ref)


def wer(reference: str, hypothesis: str) -> float:
    errors, n = word_errors(reference, hypothesis)
    return errors / max(1, n)


def diarization_error_rate(
    reference: Iterable[tuple[float, float, str]],
    hypothesis: Iterable[tuple[float, float, str]],
    *,
    collar: float = 0.25,
    skip_overlap: bool = False,
) -> float:
    """DER with optimal speaker mapping (labels need not match)."""
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(turns: Iterable[tuple[float, float, str]]) -> Annotation:
        ann = Annotation()
        for k, (start, end, label) in enumerate(turns):
            if end > start:
                ann[Segment(start, end), k] = label
        return ann

    metric = DiarizationErrorRate(collar=collar, skip_overlap=skip_overlap)
    return float(metric(annotation(reference), annotation(hypothesis)))


def role_accuracy(
    reference: Sequence[tuple[float, float, str]], utterances: Sequence[object]
) -> float:
    """Share of recognised speech time whose role matches the reference turn's role."""
    agree = total = 0.0
    for u in utterances:
        start, end, role = u.start, u.end, u.role  # type: ignore[attr-defined]
        for r_start, r_end, r_role in reference:
            ov = min(end, r_end) - max(start, r_start)
            if ov > 0:
                total += ov
                agree += ov if r_role == role else 0.0
    return agree / total if total else 0.0
