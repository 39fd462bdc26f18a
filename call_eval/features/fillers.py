"""Fillers ("euh", "du coup", "voilà"...) counted on the transcript, from a data list.

How far the count can be trusted
--------------------------------
* **Hesitations** ("euh", "hum", "bah"...) are mostly *not* transcribed: Whisper was
  trained on cleaned subtitles and writes fluent text, so it drops most vocal hesitations
  (often all of them with the small models), and the VAD can cut isolated ones. Their
  count is a **lower bound**: a high count is real, a zero count proves nothing. Do not
  fail a candidate on a low hesitation count, and do not read "no filler" as fluency.
* **Discourse markers** used as fillers ("du coup", "en fait", "voilà", "quoi" at the end
  of a clause) are ordinary words: Whisper keeps them about as well as any word (word error
  rate of the model on phone speech, roughly 5-20 %). Their count is usable, but some uses
  are not fillers ("voilà le document", "en fait partie"): the list restricts the ambiguous
  ones by position, and the count is an indicator for the juror, not a verdict.
* Rates are per minute of the speaker's *speech time*, so a taciturn callee and a talkative
  agent compare fairly.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"\w+|[.,;:!?…]+", re.UNICODE)
_PUNCT = re.compile(r"[.,;:!?…]+")


def normalise(text: str) -> str:
    t = unicodedata.normalize("NFKD", text.lower().replace("’", "'").replace("‘", "'"))
    return "".join(ch for ch in t if not unicodedata.combining(ch))


@dataclass(frozen=True)
class _Tok:
    text: str
    initial: bool  # first word of the turn or right after punctuation
    final: bool  # last word of the turn or right before punctuation


def tokens(text: str) -> list[_Tok]:
    raw = _TOKEN.findall(normalise(text))
    out: list[_Tok] = []
    for i, t in enumerate(raw):
        if _PUNCT.fullmatch(t):
            continue
        initial = i == 0 or bool(_PUNCT.fullmatch(raw[i - 1]))
        final = i == len(raw) - 1 or bool(_PUNCT.fullmatch(raw[i + 1]))
        out.append(_Tok(t, initial, final))
    return out


@dataclass(frozen=True)
class _Entry:
    label: str
    kind: str
    words: tuple[str, ...]
    pattern: re.Pattern[str] | None
    position: str
    not_before: frozenset[str]


def compile_lexicon(entries: Sequence[Mapping[str, Any]]) -> list[_Entry]:
    out = []
    for e in entries:
        if "pattern" in e:
            pat = re.compile(rf"(?:{e['pattern']})", re.UNICODE)
            words: tuple[str, ...] = ()
            label = str(e.get("label", e["pattern"]))
        else:
            pat = None
            words = tuple(t.text for t in tokens(str(e["phrase"])))
            label = str(e.get("label", e["phrase"]))
        out.append(
            _Entry(
                label=label,
                kind=str(e.get("kind", "marker")),
                words=words,
                pattern=pat,
                position=str(e.get("position", "any")),
                not_before=frozenset(normalise(w) for w in e.get("not_before", ()) or ()),
            )
        )
    # longest phrases first, so "je veux dire" is not also counted as something shorter
    out.sort(key=lambda x: -len(x.words))
    return out


@dataclass(frozen=True)
class FillerHit:
    label: str
    kind: str
    index: int  # token index in the turn


def find_fillers(text: str, lexicon: Sequence[_Entry]) -> list[FillerHit]:
    toks = tokens(text)
    used = [False] * len(toks)
    hits: list[FillerHit] = []
    for e in lexicon:
        n = max(1, len(e.words))
        for i in range(len(toks) - n + 1):
            if any(used[i : i + n]):
                continue
            if e.pattern is not None:
                if not e.pattern.fullmatch(toks[i].text):
                    continue
            elif tuple(t.text for t in toks[i : i + n]) != e.words:
                continue
            if e.position == "initial" and not toks[i].initial:
                continue
            if e.position == "final" and not toks[i + n - 1].final:
                continue
            if e.not_before and i + n < len(toks) and toks[i + n].text in e.not_before:
                continue
            for k in range(i, i + n):
                used[k] = True
            hits.append(FillerHit(e.label, e.kind, i))
    hits.sort(key=lambda h: h.index)
    return hits
