"""Opening of the call: greeting, self-presentation (C01), goal statement and consent
request (C03).

This module also holds the small rule toolkit shared by the opening, objections, closing and
courtesy families:

* a compact, data-friendly pattern syntax compiled to spaCy Matcher token patterns
  (:func:`compile_rules`), so lexicons stay readable YAML;
* :func:`is_question` (interrogatives from syntax, not only from "?", for ASR text);
* :func:`classify_reply` (does the callee's turn say yes, no, or neither?);
* quoting helpers that cut a readable quote around a match.

Pattern syntax (one pattern = tokens separated by spaces):

``word``            the token, lower-cased (``j'`` also matches ``j`` and ``j’``; ``-vous``
                    also matches ``vous``); a word the tokenizer splits (``avez-vous``)
                    becomes several tokens
``a|b|c``           one token among alternatives
``<lemma|lemma2>``  one token whose lemma (or form) is among these
``@list``           one token among the words of ``lists.list`` (lemma: ``<@list>``); lists
                    and words mix in alternatives: ``@numbers|quelques``
``#POS|POS2``       one token with this universal POS tag (``#NUM``, ``#PROPN``...)
``re:REGEX``        one token whose lower-cased text matches the regex
``_``               any one token
``*``               zero to four tokens of anything
``(a b|c)``         a group: the words ``a b``, or ``c`` (groups nest)
``X?``              ``X`` (any of the forms above, a group too) is optional
``X+``              one or more tokens ``X`` (single-token forms: ``#NUM+``)
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..nlp import Match, PatternSet, normalize
from ..types import Finding
from .base import CallContext, register

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- rule toolkit

_COMPILED: dict[tuple[int, str], PatternSet] = {}
_BY_ID: dict[tuple[int, int, int], tuple[Any, Any, PatternSet]] = {}
# matches per call context (docs live as long as their context; compiled sets forever)
_FOUND: weakref.WeakKeyDictionary[CallContext, dict[tuple[int, int], tuple[Match, ...]]] = (
    weakref.WeakKeyDictionary()
)
_ANY_GAP = "{0,4}"


def _variants(word: str) -> list[str]:
    """Spelling variants of one lower-cased token (elisions, hyphens, apostrophes)."""
    w = word.lower().replace("’", "'")
    out = [w]
    if w.endswith("'") and len(w) > 1:
        out += [w[:-1], w[:-1] + "’"]
    if w.startswith("-") and len(w) > 1:
        out.append(w[1:])
    if "'" in w[:-1]:
        out.append(w.replace("'", "’"))
    return list(dict.fromkeys(out))


def _literal(nlp: Language, text: str) -> list[dict]:
    """Token dicts for a literal word or phrase, as the tokenizer splits it."""
    out: list[dict] = []
    # an elided word alone ("l'", "qu'") is one token; the tokenizer would split it
    elided = re.fullmatch(r"\w+['’]", text)
    pieces = [text] if elided else [t.text for t in nlp.tokenizer(text)]
    for piece in pieces:
        if piece == "-":  # "allez-y" → allez - y; ASR writes "allez y"
            out.append({"LOWER": "-", "OP": "?"})
            continue
        forms = _variants(piece)
        out.append({"LOWER": forms[0]} if len(forms) == 1 else {"LOWER": {"IN": forms}})
    return out


def _options(nlp: Language, part: str, lists: Mapping[str, Sequence[str]]) -> list[list[dict]]:
    """The alternatives of one element of the pattern syntax, each a token-dict sequence."""
    if part == "_":
        return [[{}]]
    if part == "*":
        return [[{"OP": _ANY_GAP}]]
    if part.startswith("re:"):
        return [[{"LOWER": {"REGEX": part[3:]}}]]
    if part.startswith("(") and part.endswith(")"):
        return [seq for alt in _split_top(part[1:-1], "|") for seq in _sequence(nlp, alt, lists)]
    if part.startswith("<") and part.endswith(">"):
        lemmas: list[str] = []
        for item in part[1:-1].split("|"):
            lemmas += list(lists[item[1:]]) if item.startswith("@") else [item]
        values = sorted({x.lower() for x in lemmas} | set(lemmas))
        # the lemma, or the very form (the lemmatizer stumbles on raw ASR text)
        return [[{"LEMMA": {"IN": values}}], [{"LOWER": {"IN": values}}]]
    words: list[str] = []
    tags: list[str] = []
    for item in part.split("|"):
        if item.startswith("#") and len(item) > 1:
            tags.append(item[1:])
        elif item.startswith("@") and len(item) > 1:
            words += [str(w) for w in lists[item[1:]]]
        else:
            words.append(item)
    single: list[str] = []
    multi: list[list[dict]] = []
    for word in words:
        toks = _literal(nlp, str(word))
        if len(toks) == 1 and "OP" not in toks[0]:
            single += _variants(str(word))
        elif toks:
            multi.append(toks)
    out = multi
    if single:
        uniq = sorted(set(single))
        out = [[{"LOWER": uniq[0]} if len(uniq) == 1 else {"LOWER": {"IN": uniq}}], *out]
    if tags:
        out = [[{"POS": tags[0]} if len(tags) == 1 else {"POS": {"IN": tags}}], *out]
    return out


def compile_pattern(
    nlp: Language, spec: str | list, lists: Mapping[str, Sequence[str]] | None = None
) -> list[list[dict]]:
    """Compile one pattern of the syntax above into Matcher patterns (several when an
    alternative spans several tokens, e.g. ``d'accord|entendu``). A raw Matcher pattern
    (a list of token dicts) passes through."""
    if isinstance(spec, list):
        return [spec]
    patterns = [p for p in _sequence(nlp, spec, lists or {}) if p]
    if not any(any(d.get("OP") in {None, "+"} for d in p) for p in patterns):
        raise ValueError(f"pattern {spec!r} matches nothing")
    return [p for p in patterns if any(d.get("OP") in {None, "+"} for d in p)]


def _split_top(text: str, sep: str | None) -> list[str]:
    """Split on ``sep`` (whitespace when None) outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and (ch.isspace() if sep is None else ch == sep):
            if cur:
                out.append(cur)
            cur = ""
            continue
        cur += ch
    if cur:
        out.append(cur)
    return out


def _sequence(nlp: Language, spec: str, lists: Mapping[str, Sequence[str]]) -> list[list[dict]]:
    """All token-dict sequences a pattern (or a group alternative) stands for."""
    per_element: list[list[list[dict]]] = []
    for raw in _split_top(spec, None):
        optional = raw.endswith("?") and len(raw) > 1
        part = raw[:-1] if optional else raw
        repeated = part.endswith("+") and len(part) > 1
        part = part[:-1] if repeated else part
        try:
            options = _options(nlp, part, lists)
        except KeyError as exc:
            raise ValueError(f"pattern {spec!r}: unknown list {exc}") from exc
        if repeated:
            options = [[{**seq[0], "OP": "+"}] for seq in options if len(seq) == 1]
        if optional:
            options = [*options, []]
        per_element.append(options)
    return [[d for seq in combo for d in seq] for combo in itertools.product(*per_element)]


def compile_rules(
    nlp: Language,
    rules: Mapping[str, Iterable[str | list]],
    lists: Mapping[str, Sequence[str]] | None = None,
) -> PatternSet:
    """A cached :class:`PatternSet` for ``{label: [pattern, ...]}`` in the syntax above.

    Looked up first by the objects' identity (the cache keeps them alive, so an id cannot
    be reused by another object), then by content, so rules rebuilt from a merged rubric
    are compiled once per process.
    """
    fast_key = (id(nlp), id(rules), id(lists))
    hit = _BY_ID.get(fast_key)
    if hit is not None and hit[0] is rules and hit[1] is lists:
        return hit[2]
    key = (id(nlp), json.dumps([rules, lists or {}], sort_keys=True, ensure_ascii=False))
    found = _COMPILED.get(key)
    if found is None:
        compiled = {
            label: [tp for p in patterns for tp in compile_pattern(nlp, p, lists)]
            for label, patterns in rules.items()
        }
        found = PatternSet(nlp, compiled)
        _COMPILED[key] = found
    if len(_BY_ID) > 512:
        _BY_ID.clear()
    _BY_ID[fast_key] = (rules, lists, found)
    return found


def find(
    ctx: CallContext,
    doc: Doc,
    rules: Mapping[str, Iterable[str | list]],
    lists: Mapping[str, Sequence[str]] | None = None,
) -> list[Match]:
    """Matches of ``rules`` in ``doc``, nested matches of the same label removed.

    Results are memoised per call context, so detectors that share rules (the closing
    family, the term extractor) match each utterance once."""
    compiled = compile_rules(ctx.nlp, rules, lists)
    # only the context's own docs are memoised (their ids are stable while it lives)
    parsed = ctx.__dict__.get("docs") or ()
    own = any(d is doc for d in parsed)
    memo = _FOUND.setdefault(ctx, {}) if own else {}
    key = (id(doc), id(compiled))
    if key in memo:
        return list(memo[key])
    kept: list[Match] = []
    for m in compiled.matches(doc):
        if any(k.label == m.label and k.start <= m.start and m.end <= k.end for k in kept):
            continue
        kept.append(m)
    memo[key] = tuple(kept)
    return kept


_INTERROGATIVES = {
    "quel", "quelle", "quels", "quelles", "combien", "comment", "pourquoi", "quand",
    "où", "lequel", "laquelle", "lesquels", "lesquelles", "qu'est-ce", "quoi",
}  # fmt: skip
_INVERTED = {"-vous", "-tu", "-il", "-elle", "-on", "-ils", "-elles", "-je", "-t-il", "-t-elle",
             "-t-on", "-nous"}  # fmt: skip
_TAGS = ("n'est-ce pas", "non", "hein", "ou pas", "c'est ça", "c'est bien ça", "pas vrai")


def is_question(span: Span | Doc) -> bool:
    """True when a sentence reads as a question, with or without a question mark."""
    text = span.text.strip().lower().replace("’", "'")
    if "?" in text:
        return True
    toks = [t for t in span if not t.is_punct and t.lower_ not in {"euh", "hum", "heu", "alors"}]
    if not toks:
        return False
    lowers = [t.lower_.replace("’", "'") for t in toks]
    joined = " ".join(lowers)
    if re.search(r"\best ?-?ce (que|qu'|qui)", joined):
        return True
    if lowers[0] in _INTERROGATIVES or lowers[0] == "qu'":
        return True
    if (
        len(lowers) > 1
        and lowers[0] in {"et", "mais", "donc", "alors"}
        and (lowers[1] in _INTERROGATIVES)
    ):
        return True
    if any(w in _INVERTED for w in lowers):
        return True
    # ASR homophone « qu'elle surface » for « quelle surface »
    for a, b, c in zip(toks, toks[1:], toks[2:], strict=False):
        if a.lower_ in {"qu'", "qu’"} and b.lower_ == "elle" and c.pos_ in {"NOUN", "ADJ"}:
            return True
    # a hyphen-less inversion from ASR: "avez vous", "pouvez vous", "puis je"
    for a, b in zip(toks, toks[1:], strict=False):
        if b.lower_ in {"vous", "tu", "je"} and a.pos_ in {"VERB", "AUX"} and a.i == toks[0].i:
            return True
    plain = normalize(span.text)
    return any(plain.endswith(tag) for tag in _TAGS)


def unpunctuated(doc: Doc) -> bool:
    """True for raw ASR text with no sentence punctuation (questions cannot be told from
    statements by their "?")."""
    return not any(c in doc.text for c in ".?!;:") and len(doc) > 3


def open_ended(doc: Doc, span: Span | Doc) -> bool:
    """True when ``span`` ends the turn and the ASR left the turn open (a comma or no
    punctuation at the end, « vous avez des questions, »): per-channel ASR cuts a question
    before its « ? », so such an ending may be one."""
    text = doc.text.rstrip()
    if not text or text[-1] in ".!?…;:":
        return False
    return all(t.is_punct or t.is_space for t in doc[span.end :])


def sentences(doc: Doc) -> list[Span]:
    """The doc's sentences (bounds cached in ``doc.user_data``)."""
    bounds = doc.user_data.get("call_eval.sents")
    if bounds is None:
        try:
            bounds = [(s.start, s.end) for s in doc.sents]
        except ValueError:  # no parser
            bounds = [(0, len(doc))]
        doc.user_data["call_eval.sents"] = bounds
    return [doc[a:b] for a, b in bounds]


def sentence_at(doc: Doc, token_index: int) -> Span:
    for sent in sentences(doc):
        if sent.start <= token_index < sent.end:
            return sent
    return doc[:]


def quote_span(doc: Doc, start: int, end: int, max_tokens: int = 30) -> str:
    """The sentence around tokens ``start:end``, cut to ``max_tokens`` around the match."""
    if unpunctuated(doc):  # raw ASR text: the "sentence" is the whole turn
        max_tokens = min(max_tokens, max(16, end - start + 6))
    sent = sentence_at(doc, start)
    s, e = sent.start, max(sent.end, end)
    if e - s > max_tokens:
        before = min(4, max(0, (max_tokens - (end - start)) // 3))
        s = max(s, start - before)
        e = min(e, s + max_tokens)
        if e < end:
            e = end
    span = doc[s:e]
    return span.text.strip(" ,;")


def word_count(text: str) -> int:
    return len(re.findall(r"[\w'’-]+", text))


def has_times(ctx: CallContext) -> bool:
    return any(u.end > 0 for u in ctx.utterances)


def early_agent_indices(ctx: CallContext, max_turns: int, max_seconds: float | None) -> list[int]:
    """Indices of the first ``max_turns`` agent utterances starting before ``max_seconds``."""
    timed = has_times(ctx) and max_seconds is not None
    t0 = min((u.start for u in ctx.utterances), default=0.0)
    out = []
    for i in ctx.indices("agent"):
        if len(out) >= max_turns:
            break
        if timed and ctx.utterances[i].start - t0 > float(max_seconds) and out:
            break
        out.append(i)
    return out


def ordinal(n: int) -> str:
    return "1re" if n == 1 else f"{n}e"


@dataclass(frozen=True)
class Reply:
    """How a callee turn answers: ``yes``, ``no``, ``reluctant`` or ``unknown``."""

    kind: str
    quote: str = ""


def classify_reply(
    ctx: CallContext,
    index: int | None,
    params: Mapping[str, Any],
    lists: Mapping[str, Sequence[str]] | None = None,
    *,
    inverted: bool = False,
) -> Reply:
    """Classify utterance ``index`` as a yes / no answer.

    ``params`` has ``rules`` (labels ``yes``, ``no``, ``reluctant``, ``bare_yes``,
    ``bare_no``); ``lists`` are the word lists its patterns refer to. Phrase markers win
    over a bare "oui"/"non"; a reluctant marker ("si vous voulez") wins over all; otherwise
    the majority of phrase markers decides, the last one breaking ties ("oui, mais je n'ai
    pas le temps" → no). With ``inverted`` (the question was "je ne vous dérange pas ?"),
    a bare "non" means yes and a bare "si"/"oui" means no.
    """
    if index is None:
        return Reply("unknown")
    doc = ctx.docs[index]
    matches = find(ctx, doc, params["rules"], lists)
    phrase = [m for m in matches if m.label in {"yes", "no", "reluctant"}]
    phrase = [
        m
        for m in phrase
        if not any(
            o is not m
            and o.start <= m.start
            and m.end <= o.end
            and o.end - o.start > m.end - m.start
            for o in phrase
        )
    ]
    if phrase:
        reluctant = [m for m in phrase if m.label == "reluctant"]
        if reluctant:
            m = reluctant[-1]
            return Reply("reluctant", quote_span(doc, m.start, m.end, 20))
        yes = sum(m.label == "yes" for m in phrase)
        no = len(phrase) - yes
        last = max(phrase, key=lambda x: (x.end, x.end - x.start))
        kind = last.label if yes == no else ("yes" if yes > no else "no")
        m = (
            last
            if last.label == kind
            else max((x for x in phrase if x.label == kind), key=lambda x: x.end)
        )
        return Reply(kind, quote_span(doc, m.start, m.end, 20))
    bare = [m for m in matches if m.label in {"bare_yes", "bare_no"}]
    if bare:
        m = bare[0]
        kind = "yes" if m.label == "bare_yes" else "no"
        if inverted:
            kind = "no" if kind == "yes" else "yes"
        return Reply(kind, quote_span(doc, m.start, m.end, 20))
    return Reply("unknown")


def finding(
    name: str,
    ctx: CallContext,
    index: int,
    score: float,
    reason: str,
    quotes: Sequence[tuple[int, str]] = (),
    *,
    label: str = "",
    data: Mapping[str, Any] | None = None,
    role: str | None = None,
    default_evidence: bool = True,
) -> Finding:
    """Build a Finding with evidence ``[(utterance index, quote), ...]`` (by default the
    whole utterance ``index`` when no quote is given)."""
    evidence = tuple(ctx.evidence(i, q) for i, q in quotes)
    if not evidence and default_evidence:
        evidence = (ctx.evidence(index),)
    return Finding(
        detector=name,
        role=role or ctx.utterances[index].role,  # type: ignore[arg-type]
        score=round(max(0.0, min(1.0, score)), 3),
        reason=reason,
        evidence=evidence,
        label=label,
        utterance_index=index,
        data=dict(data or {}),
    )


# --------------------------------------------------------------------------- name helpers


@dataclass(frozen=True)
class Lex:
    """Word sets from a lexicon's ``lists`` section, built once per detector call."""

    lists: Mapping[str, Sequence[str]]
    first_names: frozenset[str]
    titles: frozenset[str]
    roles: frozenset[str]
    not_names: frozenset[str]
    org_stop: frozenset[str]
    chez_not_org: frozenset[str]

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> Lex:
        lists = params.get("lists", {})

        def s(key: str) -> frozenset[str]:
            return frozenset(str(v).lower() for v in lists.get(key, ()))

        return cls(
            lists=lists,
            first_names=s("first_names"),
            titles=s("titles"),
            roles=s("roles"),
            not_names=s("not_names"),
            org_stop=s("org_stop"),
            chez_not_org=s("chez_not_org"),
        )

    def is_title(self, tok: Token) -> bool:
        return tok.lower_.rstrip(".") in self.titles


_GREETINGS = {"bonjour", "bonsoir", "allô", "allo", "oui"}
_BEFORE_ORG = {"de", "du", "d'", "des", "chez", "à", "au", ",", "pour"}
_BEFORE_OTHER_PERSON = {"votre", "notre", "ton", "ta", "mon", "ma", "avec", "le", "la", "l'"}
_BEFORE_OTHER_ROLE = _BEFORE_OTHER_PERSON | {"un", "une", "des", "les", "nos", "vos", "du", "au"}


def lowercase_text(doc: Doc) -> bool:
    """True when the text has no capital letter at all (typical raw ASR output)."""
    return not any(c.isupper() for c in doc.text if c.isalpha())


def is_name_like(tok: Token, lex: Lex, lowercase: bool) -> bool:
    """Could this token be part of a person's name?"""
    low = tok.lower_
    if low in lex.first_names:
        return True
    if low in lex.not_names or lex.is_title(tok) or tok.is_punct or tok.like_num:
        return False
    if tok.is_stop or tok.lemma_.lower() in lex.roles:
        return False
    if tok.pos_ in {"VERB", "AUX", "ADP", "DET", "PRON", "CCONJ", "SCONJ", "NUM", "INTJ"}:
        return False
    if not lowercase:
        return tok.text[:1].isupper() and tok.pos_ in {"PROPN", "NOUN", "ADJ", "X", "ADV"}
    return tok.pos_ in {"PROPN", "X"} or (not tok.has_vector and tok.pos_ in {"NOUN", "ADJ"})


def _surname_like(tok: Token, lex: Lex, lowercase: bool) -> bool:
    """After a first name, is this token its surname? (ASR lower-cases surnames and the
    tagger then calls them anything: "camille roux", "kevin dubreuil")."""
    if is_name_like(tok, lex, lowercase):
        return True
    if not lowercase or not tok.is_alpha or tok.is_stop or tok.lower_ in lex.not_names:
        return False
    if tok.lemma_.lower() in lex.roles or lex.is_title(tok):
        return False
    return tok.pos_ not in {"ADP", "DET", "PRON", "CCONJ", "SCONJ", "AUX", "NUM", "INTJ"}


def name_after(doc: Doc, start: int, lex: Lex) -> list[Token]:
    """Up to two name-like tokens from ``start`` (the name after a title)."""
    lower = lowercase_text(doc)
    out: list[Token] = []
    for tok in doc[start : start + 2]:
        if not is_name_like(tok, lex, lower) and not (not out and _surname_like(tok, lex, lower)):
            break
        if out and tok.lower_ in lex.first_names:
            break  # "Madame Durand Camille Roux": Camille starts another name
        out.append(tok)
    return out


def third_party(doc: Doc, lex: Lex) -> set[int]:
    """Tokens naming someone other than the agent: the addressee after a title, a colleague
    ("votre conseillère, Madame Roche", "avec notre expert")."""
    out: set[int] = set()
    for tok in doc:
        if lex.is_title(tok):
            out.add(tok.i)
            out.update(t.i for t in name_after(doc, tok.i + 1, lex))
    people = lex.roles | {"collègue", "mari", "femme", "épouse", "époux", "conjoint"}
    for tok in doc:
        nxt = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
        if nxt is None or tok.lower_ not in _BEFORE_OTHER_PERSON:
            continue
        if nxt.lemma_.lower() not in people and nxt.lower_ not in people:
            continue
        j = tok.i + 2
        while j < len(doc) and (doc[j].is_punct or lex.is_title(doc[j])):
            j += 1
        out.update(range(tok.i, j))
        out.update(t.i for t in name_after(doc, j, lex))
    return out


# --------------------------------------------------------------------------- greeting


@register("greeting.v1", lexicon="opening")
def greeting(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """The agent's greeting (bonjour / bonsoir + madame/monsieur + name), and how early."""
    p = params["greeting"]
    lex = Lex.of(params)
    window = early_agent_indices(ctx, int(p["max_agent_turns"]), p.get("max_seconds"))
    priority = {"hello": 0, "familiar": 1, "phone": 2}
    for rank, i in enumerate(window, start=1):
        doc = ctx.docs[i]
        hello = [m for m in find(ctx, doc, p["rules"], lex.lists) if m.label in priority]
        if not hello:
            continue
        m = min(hello, key=lambda x: (priority[x.label], x.start))
        title_tok = next((t for t in doc[m.end : m.end + 3] if lex.is_title(t)), None)
        name = name_after(doc, title_tok.i + 1, lex) if title_tok is not None else []
        end = (name[-1].i + 1) if name else (title_tok.i + 1 if title_tok is not None else m.end)
        quote = doc[m.start : end].text
        familiar = m.label == "familiar"
        score = 0.75 + (0.1 if title_tok is not None else 0) + (0.1 if name else 0)
        score -= 0.1 * (rank - 1) + (0.3 if familiar else 0) + (0.2 if m.label == "phone" else 0)
        missing = ""
        if title_tok is None:
            missing = " (sans « Madame/Monsieur »)"
        elif not name:
            missing = " (sans le nom de l'appelé)"
        kind = "familière" if familiar else ("réduite à « allô »" if m.label == "phone" else "")
        reason = (
            f"Salutation {kind + ' ' if kind else ''}« {quote} »{missing} "
            f"à la {ordinal(rank)} réplique de l'agent."
        )
        return [
            finding(
                "greeting.v1",
                ctx,
                i,
                score,
                reason,
                [(i, quote)],
                label=f"greeting:{'familiar' if familiar else m.label}",
                data={
                    "word": m.text.lower(),
                    "has_title": title_tok is not None,
                    "addressee": " ".join(t.text for t in name),
                    "agent_turn": rank,
                    "early": rank <= int(p["early_agent_turns"]),
                },
            )
        ]
    return []


# --------------------------------------------------------------------------- presentation


def _find_name(
    ctx: CallContext, doc: Doc, p: Mapping[str, Any], lex: Lex
) -> tuple[str, int, int] | tuple[str, int, int, bool] | None:
    """The agent's own name in ``doc``: (name, first token, last token), with a fourth
    item ``True`` when the name is told by its place only (:func:`_name_slot`)."""
    lower = lowercase_text(doc)
    excluded = third_party(doc, lex)
    # 1. explicit introducers: "je m'appelle X", "X à l'appareil", "ici X", "c'est X de..."
    for m in find(ctx, doc, p["name_rules"], lex.lists):
        if m.label.startswith("before"):  # the name follows the marker
            toks = [t for t in doc[m.end : m.end + 4] if not t.is_punct][:3]
        else:  # "after": the name precedes the marker ("Julien Marchand à l'appareil")
            toks = [t for t in list(doc[max(0, m.start - 4) : m.start])[::-1] if not t.is_punct]
            toks = toks[:3]
        name: list[Token] = []
        for n, t in enumerate(toks):
            if t.i in excluded:
                break
            if is_name_like(t, lex, lower):
                name.append(t)
                continue
            # "je m'appelle ophélie", "c'est maëlys de la banque": the marker or the
            # organisation that follows vouches for a word the tagger does not know
            nxt = doc[t.i + 1] if t.i + 1 < len(doc) else None
            vouched = m.label == "before_strong" or (
                m.label == "before" and nxt is not None and nxt.lower_ in _BEFORE_ORG
            )
            if (n == 0 or name) and vouched and _surname_like(t, lex, lower):
                name.append(t)
                continue
            break
        if name and (
            len(name) >= 2
            or name[0].lower_ in lex.first_names
            or name[0].text[:1].isupper()
            or m.label == "before_strong"
            or (name[-1].i + 1 < len(doc) and doc[name[-1].i + 1].lower_ in _BEFORE_ORG)
        ):
            name.sort(key=lambda t: t.i)
            return " ".join(t.text for t in name), name[0].i, name[-1].i
    # 2. a first name, or a PER entity, that is not the addressee or a colleague
    candidates: list[list[Token]] = []
    for ent in doc.ents:
        if ent.label_ != "PER":
            continue
        toks = [t for t in ent if t.i not in excluded and is_name_like(t, lex, lower)]
        if toks and toks[0].i > 0 and doc[toks[0].i - 1].lower_ in {"de", "d'", "du"}:
            continue  # "de Néotel": an organisation, not the agent
        if toks and (not lower or any(t.lower_ in lex.first_names for t in toks)):
            candidates.append(toks)
    # "Bonjour Madame Chevalier, Mediada, du service qualité…": a name-like word between
    # commas, followed by the organisation or the role, is the agent's (even misspelt)
    for tok in doc:
        if tok.i in excluded or tok.i == 0 or doc[tok.i - 1].text != ",":
            continue
        nxt = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
        nxt2 = doc[tok.i + 2] if tok.i + 2 < len(doc) else None
        if not is_name_like(tok, lex, lower) or nxt is None or nxt.text != "," or nxt2 is None:
            continue
        if nxt2.lower_ in _BEFORE_ORG or nxt2.lemma_.lower() in lex.roles:
            candidates.append([tok])
    for tok in doc:
        if tok.lower_ in lex.first_names and tok.i not in excluded:
            toks = [tok]
            nxt = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
            if nxt is not None and nxt.i not in excluded and _surname_like(nxt, lex, lower):
                toks.append(nxt)
            candidates.append(toks)
    if not candidates:
        slot = _name_slot(doc, lex, excluded, p)
        if slot:
            return doc[slot[0].i : slot[-1].i + 1].text, slot[0].i, slot[-1].i, True
        return None
    best = min(candidates, key=lambda toks: (toks[0].i, -len(toks)))
    return " ".join(t.text for t in best), best[0].i, best[-1].i


_SLOT_GLUE = {"DET", "ADP", "NUM"}
_SLOT_BAN = {"VERB", "AUX", "PRON", "SCONJ", "CCONJ", "INTJ"}


def _name_slot(doc: Doc, lex: Lex, excluded: set[int], p: Mapping[str, Any]) -> list[Token]:
    """A name the ASR garbled, told by its place: between the greeting (and the
    addressee) and the organisation, « Bonjour Madame Chevalier, Média Dha, du service
    qualité », « bonjour monsieur garnier le vingt d'ubreuil de l'agence… ». The slot holds
    a few words, one or two of them name-like (capitalised, unknown to the vocabulary, a
    proper noun), no verb nor pronoun, and an organisation marker follows it."""
    cfg = p.get("name_slot") or {}
    max_tokens, max_content = int(cfg.get("max_tokens", 4)), int(cfg.get("max_content", 2))
    toks = list(doc)
    i = 0
    greeted = False
    while i < len(toks) and (
        toks[i].is_punct or toks[i].lower_ in _GREETINGS or i in excluded or lex.is_title(toks[i])
    ):
        greeted = greeted or toks[i].lower_ in _GREETINGS
        i += 1
    if not greeted:
        return []
    lower = lowercase_text(doc)
    org_nouns = {str(w).lower() for w in lex.lists.get("org_nouns", ())}
    ends: list[tuple[bool, int]] = []  # (delimited by a comma, end)
    for end in range(i + 1, min(len(toks), i + max_tokens) + 1):
        if toks[end - 1].is_punct:
            break
        comma = end < len(toks) and toks[end].text == ","
        if _org_marker_at(doc, end + 1 if comma else end, lex):
            ends.append((comma, end))
    # a slot closed by a comma wins (« le vingt d'Ubreuil, de l'agence »: not « le vingt »)
    for _, end in sorted(ends, key=lambda e: (not e[0], e[1])):
        slot = toks[i:end]
        content = [t for t in slot if t.pos_ not in _SLOT_GLUE and not t.like_num]
        banned = any(t.pos_ in _SLOT_BAN and not t.like_num for t in slot)
        if not 1 <= len(content) <= max_content or banned:
            continue
        ok, shaped = True, False
        for t in content:
            low, lemma = t.lower_, t.lemma_.lower()
            banned_word = low in lex.not_names or low in lex.org_stop or t.is_stop
            if banned_word or lex.is_title(t) or lemma in lex.roles or lemma in org_nouns:
                ok = False
            # one word at least must look like a name; the other may be any noun or
            # adjective the ASR made of it (« mélo dijan »)
            shaped = shaped or (
                low in lex.first_names
                or t.pos_ in {"PROPN", "X"}
                or not t.has_vector
                or (not lower and t.text[:1].isupper())
            )
        if ok and shaped:
            return slot
    return []


def _org_marker_at(doc: Doc, k: int, lex: Lex) -> bool:
    """« de / du / d' / chez / de chez » at token ``k``, then an organisation noun or a
    capitalised or unknown word (« de l'agence », « du service », « de chez Optika »)."""
    if k >= len(doc) or doc[k].lower_.replace("’", "'") not in {"de", "du", "d'", "des", "chez"}:
        return False
    j = k + 1
    while j < len(doc) and doc[j].lower_.replace("’", "'") in {"la", "le", "l'", "les", "chez"}:
        j += 1
    if j >= len(doc) or doc[j].is_punct:
        return False
    nxt = doc[j]
    org_nouns = {str(w).lower() for w in lex.lists.get("org_nouns", ())}
    return (
        nxt.lemma_.lower() in org_nouns
        or nxt.lower_ in org_nouns
        or nxt.text[:1].isupper()
        or (nxt.is_alpha and not nxt.has_vector)
    )


def _org_end(doc: Doc, start: int, lex: Lex, limit: int = 6) -> int:
    """End of an organisation name starting at ``start`` (name words and joining 'du/de')."""
    j = start
    while j < len(doc) and j - start < limit:
        t = doc[j]
        if t.is_space or (t.is_punct and t.text not in {"'", "’", "-", "&"}):
            break
        if t.lower_ in lex.org_stop or t.like_num:
            break
        if t.lower_ in {"de", "du", "des", "d'", "la", "le", "l'", "&"}:
            nxt = doc[j + 1] if j + 1 < len(doc) else None
            if nxt is None or nxt.is_punct or nxt.lower_ in lex.org_stop:
                break
        j += 1
    while j > start and doc[j - 1].lower_ in {"de", "du", "des", "d'", "la", "le", "l'", "&"}:
        j -= 1
    return j


def _find_org(
    ctx: CallContext, doc: Doc, p: Mapping[str, Any], lex: Lex, anchor_end: int | None
) -> tuple[str, int, int] | None:
    """The agent's organisation in ``doc``: (quote, first token, last token).

    ``anchor_end`` is the last token of the agent's name or role in this utterance: a
    "de X" right after it ("Nicolas Perrin, de l'Autocentre du Parc") names the employer.
    """
    excluded = third_party(doc, lex)
    people = lex.titles | lex.roles | {"collègue"}
    dets = {"la", "le", "l'", "les", "un", "une"}
    for m in find(ctx, doc, p["org_rules"], lex.lists):
        tail = [t for t in doc[m.end : m.end + 3] if t.lower_ not in dets and not t.is_space]
        if m.label in {"via", "chez", "after_anchor", "works_for"}:
            if not tail or tail[0].i in excluded or tail[0].is_punct:
                continue
            if tail[0].lemma_.lower() in people or tail[0].lower_ in people:
                continue
            if tail[0].lower_ in lex.chez_not_org | lex.first_names | lex.not_names:
                continue
            if tail[0].lower_ in {"votre", "notre", "mon", "ma", "ton", "ta"} and (
                len(tail) > 1 and (tail[1].lemma_.lower() in people or tail[1].lower_ in people)
            ):
                continue
        attached = anchor_end is not None and anchor_end < m.start <= anchor_end + 2
        if m.label == "after_anchor" and not attached:
            continue
        end = _org_end(doc, m.end, lex)
        named = end > m.end
        # "de l'agence" alone names nothing, unless it is attached to the agent's name or
        # role ("Julie Martin, de l'agence"), or opens the introduction ("Bonjour Monsieur
        # Garnier. De l'agence immobilière…": the name lost by the ASR)
        if (
            m.label == "noun"
            and not named
            and not attached
            and not _opens_intro(doc, m.start, lex, excluded)
        ):
            continue
        if m.label in {"via", "chez", "after_anchor", "works_for"} and not named:
            continue
        begin = m.start
        while begin < end and (doc[begin].is_punct or doc[begin].lower_ in _GREETINGS):
            begin += 1
        return doc[begin:end].text.strip(" ,"), begin, end - 1
    for ent in doc.ents:
        if ent.label_ == "ORG" and not any(t.i in excluded for t in ent):
            return ent.text, ent.start, ent.end - 1
    return None


def _opens_intro(doc: Doc, start: int, lex: Lex, excluded: set[int]) -> bool:
    """Token ``start`` opens the introduction: only the greeting and the addressee before
    it, or it starts a sentence early in the turn."""
    if start > 20:
        return False
    before = doc[:start]
    if all(
        t.is_punct or t.lower_ in _GREETINGS or t.i in excluded or lex.is_title(t) for t in before
    ):
        return any(t.lower_ in _GREETINGS for t in before)
    return start > 0 and doc[start - 1].text in {".", "!", "?", ";", "…"}


def _org_after_role(doc: Doc, role_end: int, lex: Lex) -> tuple[str, int, int] | None:
    """A company name right after the role, its preposition lost by the ASR
    ("conseillère Chéolio Valénergie"): capitalised words, or unknown words in raw text."""
    start = role_end + 1
    if start >= len(doc):
        return None
    tok = doc[start]
    lower = lowercase_text(doc)
    unknown = lower and not tok.has_vector and tok.is_alpha and not tok.is_stop
    capital = not lower and tok.text[:1].isupper() and tok.is_alpha
    if not (unknown or capital) or tok.lower_ in lex.not_names | lex.first_names:
        return None
    end = _org_end(doc, start, lex)
    return (doc[start:end].text, start, end - 1) if end > start else None


def _find_role(
    ctx: CallContext, doc: Doc, p: Mapping[str, Any], lex: Lex
) -> tuple[str, int, int] | None:
    excluded = third_party(doc, lex)
    for m in find(ctx, doc, p["role_rules"], lex.lists):
        if m.start in excluded:
            continue
        prev = doc[m.start - 1].lower_ if m.start else ""
        if prev in _BEFORE_OTHER_ROLE:  # "votre conseillère", "avec un expert"
            continue
        return m.text, m.start, m.end - 1
    return None


@register("self_presentation.v1", lexicon="opening")
def self_presentation(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """The agent gives their name and organisation (and role) early and concisely (C01).

    No finding when the first agent turns give neither a name, an organisation nor a role.
    """
    p = params["presentation"]
    lex = Lex.of(params)
    window = early_agent_indices(ctx, int(p["max_agent_turns"]), p.get("max_seconds"))
    found: dict[str, tuple[str, int, int, int]] = {}  # kind -> (text, utt, first, last tok)
    guessed = False  # the name is told by its place only (ASR-garbled)
    for i in window:
        doc = ctx.docs[i]
        if "name" not in found and (got := _find_name(ctx, doc, p, lex)):
            found["name"] = (got[0], i, got[1], got[2])
            guessed = len(got) > 3
        if "role" not in found and (got := _find_role(ctx, doc, p, lex)):
            found["role"] = (got[0], i, got[1], got[2])
        anchors = [v[3] for k, v in found.items() if v[1] == i and k in {"name", "role"}]
        if "org" not in found:
            got = None
            for anchor in sorted(anchors) or [None]:
                got = _find_org(ctx, doc, p, lex, anchor)
                if got:
                    break
            if got is None and found.get("role", ("", -1))[1] == i:
                got = _org_after_role(doc, found["role"][3], lex)
            if got:
                found["org"] = (got[0], i, got[1], got[2])
        if "name" in found and "org" in found:
            break
    if not found:
        return []
    rank = {i: n for n, i in enumerate(window, start=1)}
    used = sorted({v[1] for v in found.values()})
    last_tok = {i: max(v[3] for v in found.values() if v[1] == i) for i in used}
    first, last = used[0], used[-1]
    # the introduction starts with the first agent turn that says more than a greeting
    # (a rambling turn without name or organisation makes the introduction longer)
    start = next(
        (
            i
            for i in window
            if i <= first and word_count(ctx.utterances[i].text) > int(p["greeting_max_words"])
        ),
        first,
    )
    n_turns_used = rank[last] - rank[start] + 1
    words = 0
    for i in window:
        if start <= i <= last:
            doc = ctx.docs[i]
            words += word_count(doc[: last_tok[i] + 1].text if i == last else doc.text)
    concise = n_turns_used <= int(p["concise_max_turns"]) and words <= int(p["concise_max_words"])
    has_name, has_org, has_role = ("name" in found), ("org" in found), ("role" in found)
    if has_name and has_org:
        score = 0.85 + (0.05 if has_role else 0.0) + (0.1 if concise else -0.25)
    elif has_name or has_org:
        score = 0.35 + (0.05 if has_role else 0.0)
    else:
        score = 0.15
    score -= 0.05 * (rank[first] - 1) + (0.1 if guessed and has_name else 0.0)
    missing = [w for w, ok in (("nom", has_name), ("organisation", has_org)) if not ok]
    names = {"name": "nom", "org": "organisation", "role": "fonction"}
    given = ", ".join(
        f"{names[k]} « {found[k][0]} »" for k in ("name", "org", "role") if k in found
    )
    where = f"à la {ordinal(rank[first])} réplique"
    if n_turns_used > 1:
        where = f"sur {n_turns_used} répliques"
    if missing:
        lacking = {
            ("nom",): "nom manquant",
            ("organisation",): "organisation manquante",
        }.get(tuple(missing), "nom et organisation manquants")
        reason = f"Présentation incomplète, {lacking} : {given}."
    elif not concise:
        reason = f"Présentation complète mais peu concise ({where}, {words} mots) : {given}."
    else:
        reason = f"Présentation claire {where} : {given}."
    quotes = [(i, quote_span(ctx.docs[i], 0, last_tok[i] + 1, 40)) for i in used]
    return [
        finding(
            "self_presentation.v1",
            ctx,
            first,
            score,
            reason,
            quotes,
            label="presentation:incomplete" if missing else "presentation:complete",
            data={
                "has_name": has_name,
                "has_org": has_org,
                "has_role": has_role,
                "name": found["name"][0] if has_name else "",
                "org": found["org"][0] if has_org else "",
                "role": found["role"][0] if has_role else "",
                "n_turns_used": n_turns_used,
                "first_agent_turn": rank[first],
                "words": words,
                "concise": concise,
                "name_from_position": guessed and has_name,
            },
        )
    ]


# --------------------------------------------------------------------------- goal


@register("goal_statement.v1", lexicon="opening")
def goal_statement(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """The agent states the purpose of the call ("je vous appelle au sujet de...") (C03)."""
    p = params["goal"]
    lists = params.get("lists", {})
    window = early_agent_indices(ctx, int(p["max_agent_turns"]), p.get("max_seconds"))
    weights: Mapping[str, float] = p["weights"]
    best: tuple[float, int, Match] | None = None
    for rank, i in enumerate(window, start=1):
        for m in find(ctx, ctx.docs[i], p["rules"], lists):
            score = float(weights.get(m.label, 0.5)) - 0.03 * (rank - 1)
            if best is None or score > best[0] + 1e-9:
                best = (score, i, m)
        if best is not None and best[0] >= 0.85:
            break
    if best is None:
        return []
    score, i, m = best
    doc = ctx.docs[i]
    quote = quote_span(doc, m.start, m.end, 35)
    rank = window.index(i) + 1
    return [
        finding(
            "goal_statement.v1",
            ctx,
            i,
            score,
            f"Objet de l'appel annoncé à la {ordinal(rank)} réplique : « {quote} ».",
            [(i, quote)],
            label=f"goal:{m.label}",
            data={"agent_turn": rank, "marker": m.text},
        )
    ]


# --------------------------------------------------------------------------- consent


@register("consent_request.v1", lexicon="opening")
def consent_request(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """The agent asks the callee's agreement to go on, and whether the callee agreed (C03)."""
    p = params["consent"]
    lists = params.get("lists", {})
    window = early_agent_indices(ctx, int(p["max_agent_turns"]), p.get("max_seconds"))
    weights: Mapping[str, float] = p["weights"]
    for rank, i in enumerate(window, start=1):
        doc = ctx.docs[i]
        matches = find(ctx, doc, p["rules"], lists)
        if not matches:
            continue
        m = max(matches, key=lambda x: (weights.get(x.label, 0.5), -x.start))
        inverted = m.label in set(p["inverted_labels"])
        asked = is_question(sentence_at(doc, m.start))
        score = float(weights.get(m.label, 0.5)) - 0.04 * (rank - 1)
        quote = quote_span(doc, m.start, m.end, 25)
        # the callee's answer: the next callee turn, or the one after when the first one is
        # a question back or a hesitation ("comment vous avez eu mon numéro ?" ... "bon, allez-y")
        reply_at = ctx.next(i, "callee")
        reply = classify_reply(ctx, reply_at, p["reply"], lists, inverted=inverted)
        negotiated = False
        if reply.kind in {"unknown", "no", "reluctant"} and reply_at is not None:
            later = ctx.next(reply_at, "callee")
            if later is not None and later - reply_at <= 2:
                second = classify_reply(ctx, later, p["reply"], lists)
                if second.kind == "yes" or (reply.kind == "unknown" and second.kind == "no"):
                    reply, reply_at, negotiated = second, later, True
        consented = {"yes": True, "no": False}.get(reply.kind)
        label = "consent:unknown"
        if consented is not None:
            label = "consent:granted" if consented else "consent:refused"
        answer = {
            True: "l'appelé accepte",
            False: "l'appelé refuse ou n'est pas disponible",
            None: "réponse de l'appelé peu claire",
        }[consented]
        if negotiated and consented:
            answer = "l'appelé accepte après négociation"
        quotes = [(i, quote)]
        if reply_at is not None and reply.quote:
            quotes.append((reply_at, reply.quote))
        return [
            finding(
                "consent_request.v1",
                ctx,
                i,
                score,
                f"Accord sollicité à la {ordinal(rank)} réplique (« {quote} ») ; {answer}.",
                quotes,
                label=label,
                data={
                    "kind": m.label,
                    "question_form": asked,
                    "callee_consented": consented,
                    "negotiated": negotiated,
                    "agent_turn": rank,
                    "reply_index": reply_at,
                },
            )
        ]
    return _consent_from_reply(ctx, p, lists, window)


def _consent_from_reply(
    ctx: CallContext, p: Mapping[str, Any], lists: Mapping[str, Sequence[str]], window: list[int]
) -> list[Finding]:
    """No request found, but the callee grants a number of minutes early in the call
    (« bon, deux minutes, pas plus »): the agent asked for them and the ASR garbled the
    request (« vous avez dominus que »). Only a counted grant is read this way — a bare
    « allez-y » may come unasked."""
    rules = p.get("granted_rules")
    if not rules or not window:
        return []
    last = window[-1]
    for j in ctx.indices("callee"):
        if j <= window[0] or j > last + 1:
            continue
        got = find(ctx, ctx.docs[j], {"granted": rules}, lists)
        if not got:
            continue
        asked_at = ctx.previous(j, "agent")
        if asked_at is None:
            continue
        m = got[0]
        reply = quote_span(ctx.docs[j], m.start, m.end, 20)
        rank = window.index(asked_at) + 1 if asked_at in window else len(window)
        score = float(p.get("inferred_score", 0.6))
        return [
            finding(
                "consent_request.v1",
                ctx,
                asked_at,
                score,
                f"Accord de l'appelé donné (« {reply} ») : la demande du candidat, "
                "mal transcrite, est à vérifier à l'écoute.",
                [(j, reply)],
                label="consent:granted",
                role="agent",
                data={
                    "kind": "inferred_from_reply",
                    "question_form": False,
                    "callee_consented": True,
                    "negotiated": False,
                    "agent_turn": rank,
                    "reply_index": j,
                },
            )
        ]
    return []
