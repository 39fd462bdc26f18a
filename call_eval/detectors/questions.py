"""Questions of the agent (C04): open/closed, answered or not, follow-ups that build on the
callee's answer, questions re-asked once answered, and coverage of the call script.

Questions are found from syntax as well as from « ? » (ASR output often has no or wrong
punctuation): « est-ce que », verb–subject inversion (« avez-vous », « avez vous » at the
start of a clause), interrogative words in interrogative positions, indirect questions
(« je voudrais savoir si »), tags (« c'est bien ça », « non ? »), interrogative words the
ASR misspelt (« qu'elle surface »). A declarative sentence (« vous êtes propriétaire ») is
a question with « ? » or a tag — or, in ASR text where the « ? » is lost or replaced by a
comma, when the dialogue tells it: a confirmation (« vous êtes bien… », « c'est
toujours… ») left open at the end of the agent's turn, a declarative addressed to the
callee and answered by oui / non or facts, a « ? » that landed on the next utterance
(:func:`_dialogue_question`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..semantic import (
    call_cache,
    cosine,
    embed,
    find_phrases,
    fold,
    has_phrase,
    key_weights,
    match_form,
    overlap,
    parse_numbers,
    span_keys,
    span_vector,
    split_sentences,
    token_key,
)
from ..types import Finding
from .base import CallContext, load_lexicon, register

if TYPE_CHECKING:  # pragma: no cover
    from spacy.tokens import Doc, Span

log = logging.getLogger(__name__)

_VERB_POS = {"VERB", "AUX"}


@dataclass
class Question:
    """One agent question (possibly with a verbless clarification appended)."""

    utterance: int
    start: int  # char offsets in the utterance text
    end: int
    text: str
    kind: str  # wh | yesno | alternative | tag | declarative | indirect
    is_open: bool
    score: float
    cues: list[str]
    purpose: str = "info"  # info | check | social
    confirmation: bool = False
    keys: list[str] = field(default_factory=list)
    nouns: list[str] = field(default_factory=list)
    answered: bool | None = None
    answer_index: int | None = None
    answer_reason: str = ""
    builds_on_previous: bool = False
    builds_on: list[str] = field(default_factory=list)
    anaphora: str = ""
    repeats: bool = False
    repeat_reason: str = ""

    @property
    def label(self) -> str:
        return "question:open" if self.is_open else "question:closed"


# --------------------------------------------------------------------------- helpers
def _params_key(params: Mapping[str, Any]) -> str:
    return json.dumps(
        {k: v for k, v in params.items() if k != "_compiled"}, sort_keys=True, default=str
    )


def _words(span: Span) -> list[str]:
    """Accent-free lowercase words of the span, with leading hyphens removed."""
    return [fold(t.text).lstrip("-").replace(" ", "") for t in span]


def _clause_start(span: Span, discourse: set[str]) -> int:
    """Index (in span) of the first token after discourse words and punctuation."""
    toks = list(span)
    i = 0
    while i < len(toks):
        w = fold(toks[i].text).lstrip("-")
        two = w + " " + fold(toks[i + 1].text) if i + 1 < len(toks) else ""
        if toks[i].is_punct or w in discourse or not w:
            i += 1
        elif (
            two
            and two.replace("'", " ").strip() in discourse
            or w in ("d", "d'")
            and i + 1 < len(toks)
            and fold(toks[i + 1].text) == "accord"
        ):
            i += 2
        else:
            break
    return i


def _is_inversion(
    span: Span, i: int, pronouns: set[str], exclude: frozenset[str] = frozenset()
) -> bool:
    toks = list(span)
    if i + 1 >= len(toks):
        return False
    t, nxt = toks[i], toks[i + 1]
    if nxt.text.startswith("-") and fold(t.text + nxt.text) in exclude:
        return False  # « rassurez-vous », « rendez-vous »
    w = fold(nxt.text).lstrip("-")
    if w == "t" and i + 2 < len(toks):
        w = fold(toks[i + 2].text).lstrip("-")
    if w not in pronouns:
        return False
    if t.pos_ in _VERB_POS:
        return True
    # ASR / tagger: "avez vous" sometimes tagged oddly; accept typical finite forms
    if t.pos_ in {"ADV", "ADP", "DET", "CCONJ", "SCONJ", "PRON", "INTJ", "PUNCT"}:
        return False
    tw = fold(t.text)
    return (
        bool(re.search(r"(ez|ons|ait|aient|ai|as|a|ont|est|sont|peux|veux|faut)$", tw))
        and len(tw) > 1
    )


def _hyphen_inversion(span: Span, pronouns: set[str], exclude: set[str]) -> int | None:
    """Position of a hyphenated inversion (« avez-vous », « a-t-il ») anywhere."""
    toks = list(span)
    for k in range(1, len(toks)):
        tok = toks[k]
        if not tok.text.startswith("-"):
            continue
        w = fold(tok.text).lstrip("-")
        j = k
        if w == "t" and k + 1 < len(toks):
            w = fold(toks[k + 1].text).lstrip("-")
        if w not in pronouns:
            continue
        prev = toks[k - 1]
        if prev.whitespace_:
            continue
        compound = fold(prev.text + tok.text)
        if any(compound.startswith(fold(x).split()[0]) for x in exclude):
            continue
        if prev.pos_ in {"NOUN", "PROPN", "DET", "ADP"} and not re.search(
            r"(ez|ons|ait|ai|as|a|ont|est|sont|peux|veux)$", fold(prev.text)
        ):
            continue  # « rendez-vous » style nouns the tagger knows
        return j - 1
    return None


def _asr_wh(words: list[str], toks: list[Any]) -> list[str]:
    """Interrogative words the ASR wrote as homophones: « qu'elle surface » for « quelle
    surface » (« qu' » + « elle » + a noun or adjective, no verb)."""
    out = list(words)
    for k in range(len(words) - 2):
        if words[k] in ("qu'", "qu") and words[k + 1] in ("elle", "elles"):
            nxt = toks[k + 2]
            if nxt.pos_ in {"NOUN", "ADJ", "PROPN"} and not nxt.is_stop:
                out[k] = "quelle" if words[k + 1] == "elle" else "quelles"
                out[k + 1] = ""
    return out


def _after_topic(toks: list[Any], k: int, start: int) -> bool:
    """A positional interrogative word right after a verbless topic phrase and a comma
    (« pour le contrôle, quand… », « et votre voiture, comment… »)."""
    if k < 2 or toks[k - 1].text != ",":
        return False
    topic = toks[start : k - 1]
    return 0 < len(topic) <= 6 and not any(t.pos_ in _VERB_POS for t in topic)


def _compiled(lex: Mapping[str, Any]) -> dict[str, Any]:
    """Folded word sets of the lexicon, computed once per lexicon dict."""
    c = lex.get("_compiled") if isinstance(lex, dict) else None
    if c is None:
        c = {
            "discourse": {fold(str(w)) for w in lex.get("discourse_words", [])},
            "pronouns": {fold(str(w)) for w in lex.get("subject_pronouns", [])},
            "wh_always": {fold(str(w)) for w in lex.get("wh_always", [])},
            "wh_pos": {fold(str(w)) for w in lex.get("wh_positional", [])},
            "blockers": [fold(str(w)) for w in lex.get("wh_blockers", [])],
            "confirmation": {fold(str(w)) for w in lex.get("confirmation_words", [])},
            "inv_exclude": frozenset(fold(str(w)) for w in lex.get("inversion_exclude", [])),
            "trailing": {fold(str(w)) for w in lex.get("trailing_words", [])},
            "boundaries": {fold(str(w)) for w in lex.get("clause_boundaries", [])},
            "instr": {fold(str(v)) for v in lex.get("script_instruction_verbs", [])},
            "address": {fold(str(w)) for w in lex.get("address_words", [])},
            "fillers": {fold(str(w)) for w in lex.get("reply_fillers", [])},
            "dlg_confirm": {
                fold(str(w)) for w in (lex.get("dialogue") or {}).get("confirmation_words", [])
            },
            "offer": {fold(str(w)) for w in lex.get("script_offer_words", [])},
            "topics": {
                name: ({fold(str(w)) for w in words}, list(words))
                for name, words in (lex.get("topics") or {}).items()
            },
        }
        if isinstance(lex, dict):
            lex["_compiled"] = c
    return c


def _detect(
    span: Span, lex: Mapping[str, Any], *, last_in_turn: bool
) -> tuple[str, bool, float, list[str]] | None:
    """(kind, is_open, score, cues) when the sentence is a question, else None."""
    text = span.text
    words = _words(span)
    toks = list(span)
    if not words:
        return None
    words = _asr_wh(words, toks)
    qmark = "?" in text
    exclam = "!" in text and not qmark
    c = _compiled(lex)
    discourse, pronouns = c["discourse"], c["pronouns"]
    wh_always, wh_pos, blockers = c["wh_always"], c["wh_pos"], c["blockers"]
    cues: list[str] = []
    is_open = False
    kind = ""
    form, _ = match_form(text)
    fwords = form.replace("?", " ").split()

    start = _clause_start(span, discourse)
    # est-ce que / qu'est-ce que
    estce = re.search(
        r"(?:^| )(qu |que |quand |ou |comment |pourquoi |combien |quel \S+ |quelle \S+ )?est ce (que|qu|qui)\b",
        form,
    )
    if estce:
        cues.append("est-ce que")
        if estce.group(1):
            is_open, kind = True, "wh"
        else:
            kind = "yesno"
    # interrogative words
    content_idx = [k for k, t in enumerate(toks) if not t.is_punct]
    last_content = content_idx[-1] if content_idx else -1
    # ignore trailing discourse words for in-situ detection (« vous habitez où exactement »)
    while last_content > 0 and words[last_content] in c["trailing"]:
        last_content -= 1
    for k, w in enumerate(words):
        if toks[k].is_punct:
            continue
        prev2 = " ".join(words[max(0, k - 2) : k])
        if w in wh_always:
            if exclam or (w.startswith("quel") and k + 1 < len(words) and words[k + 1] == "que"):
                continue
            if any(prev2.endswith(b) for b in blockers) and not qmark:
                continue
            cues.append(w)
            is_open, kind = True, "wh"
            break
        if w in wh_pos:
            blocked = any(prev2.endswith(b) for b in blockers)
            if blocked:
                continue
            nxt_inv = (
                _is_inversion(span, k + 1, pronouns, c["inv_exclude"])
                if k + 1 < len(toks)
                else False
            )
            nxt_estce = (
                k + 2 < len(words) and words[k + 1] == "est" and words[k + 2] in ("ce", "-ce")
            )
            at_start = k == start or (
                k > 0 and words[k - 1] in ("de", "a", "par", "pour", "en", "depuis", "jusqu", "d")
            )
            at_start = at_start and (k <= start + 1)
            # after a verbless topic: « pour le contrôle, quand seriez-vous disponible »
            at_start = at_start or _after_topic(toks, k, start)
            in_situ = k == last_content and k > start
            if w == "quoi" and not (
                qmark or (k > 0 and words[k - 1] in ("de", "a", "en", "par", "sur", "pour"))
            ):
                continue
            if (
                w == "qui"
                and k > 0
                and toks[k - 1].pos_ in {"NOUN", "PROPN", "PRON"}
                and not in_situ
            ):
                continue
            if w == "ou" and k > 0 and toks[k - 1].pos_ in {"NOUN", "PROPN"} and not in_situ:
                continue
            start_ok = at_start and (qmark or (last_in_turn and w in ("comment", "pourquoi")))
            if nxt_inv or nxt_estce or in_situ or start_ok:
                cues.append(w)
                is_open, kind = True, "wh"
                break
    # que + inversion: « que pensez-vous », « qu'en pensez-vous », « qu'attendez-vous »
    if not is_open:
        for k, w in enumerate(words[:-1]):
            if w in ("que", "qu", "qu'") and k <= start + 1:
                j = k + 1
                if j < len(words) and words[j] in ("en", "y"):
                    j += 1
                if _is_inversion(span, j, pronouns, c["inv_exclude"]):
                    cues.append("que+inversion")
                    is_open, kind = True, "wh"
                    break
    # inversion (yes/no)
    inv_at = None
    if start < len(toks) and _is_inversion(span, start, pronouns, c["inv_exclude"]):
        inv_at = start
    else:
        inv_at = _hyphen_inversion(span, pronouns, set(lex.get("inversion_exclude", [])))
        if inv_at is None:
            # after « et » inside an unpunctuated run: « … et avez vous … »
            for k in range(1, len(toks) - 1):
                if words[k - 1] in ("et", "alors", "donc", "mais") and _is_inversion(
                    span, k, pronouns, c["inv_exclude"]
                ):
                    prev_verbs = [t for t in toks[:k] if t.pos_ in _VERB_POS]
                    if prev_verbs:
                        inv_at = k
                        break
    if inv_at is not None:
        cues.append("inversion")
        if not kind:
            kind = "yesno"
    # indirect questions
    ind = find_phrases(text, lex.get("indirect", []))
    if ind:
        cues.append("indirect")
        if not kind:
            after = fold(text[ind[0][1] :]).split()[:2]
            tail = fold(ind[0][2]).split()[-1]
            if tail in wh_always | wh_pos or any(a in wh_always | wh_pos for a in after[:1]):
                is_open, kind = True, "wh"
            else:
                kind = "indirect"
    # tags
    if has_phrase(text, lex.get("tags_strong", [])) or (
        qmark and has_phrase(text, lex.get("tags_with_qmark", []))
    ):
        cues.append("tag")
        if not kind:
            kind = "tag"
    if qmark:
        cues.append("?")
        if not kind:
            kind = "declarative"
    if not kind:
        return None
    # alternative question: « maison ou appartement ? »
    if (
        not is_open
        and kind in ("yesno", "declarative", "tag")
        and " ou " in f" {' '.join(fwords)} "
    ):
        kind = "alternative"
    strong = {"est-ce que", "inversion", "que+inversion", "indirect"} | wh_always
    syntax = [c for c in cues if c != "?"]
    if qmark and syntax:
        score = 0.95
    elif any(c in strong for c in syntax):
        score = 0.85
    elif syntax:
        score = 0.7 if kind != "tag" else 0.8
    else:
        score = 0.75  # « ? » alone on a declarative
    return kind, is_open, score, cues


_FUTURE_RE = re.compile(r"(rez|rons|ront|rai|ras)$")


def _statement_verb(span: Span) -> bool:
    """A future, imperative or « aller + infinitive » verb: an announcement (« vous
    recevrez un SMS », « vous allez recevoir »), not a confirmation question."""
    toks = list(span)
    for k, t in enumerate(toks):
        if t.pos_ not in _VERB_POS:
            continue
        if "Imp" in t.morph.get("Mood") or "Fut" in t.morph.get("Tense"):
            return True
        form, lemma = fold(t.text), fold(t.lemma_ or "")
        # the tagger calls « recevrez » present: a form in -rez that is not the lemma's
        # present (« préférez » ← préférer) is a future
        if _FUTURE_RE.search(form) and not (
            lemma.endswith("er") and form in (lemma[:-2] + "ez", lemma[:-2] + "ons")
        ):
            return True
        if lemma == "aller" and k + 1 < len(toks) and "Inf" in toks[k + 1].morph.get("VerbForm"):
            return True
    return False


_FIRST_PERSON = {"je", "j'", "j", "nous", "on"}
_SECOND_PERSON = {"vous", "tu", "t'"}


def _speaks_of_self(span: Span) -> bool:
    """The sentence's first subject is the agent (« je mets à jour votre adresse », « on
    vous envoie la brochure »): the agent tells what it does, it does not ask."""
    for t in span:
        w = fold(t.text)
        if w in _FIRST_PERSON and t.dep_.startswith("nsubj"):
            return True
        if w in _SECOND_PERSON and t.dep_.startswith("nsubj"):
            return False
    return False


def _reply_kind(ctx: CallContext, j: int | None, lex: Mapping[str, Any]) -> str:
    """How callee utterance ``j`` reacts to the turn before it: ``yesno`` (opens with
    oui / non / exactement…), ``ack`` (d'accord, très bien: a mere acknowledgement),
    ``question`` (a question back), ``content`` (a statement with facts) or ``none``."""
    if j is None:
        return "none"
    text = ctx.utterances[j].text.lstrip(" ?¿.,")
    form = match_form(text)[0].replace("?", " ? ")
    words = form.split()
    fillers = _compiled(lex)["fillers"]
    k = 0
    while k < len(words) and words[k] in fillers:
        k += 1
    rest = " ".join(words[k:])
    if not rest:
        return "none"
    yes_no = [match_form(str(w))[0] for w in lex.get("yes_no_words", [])]
    acks = [match_form(str(w))[0] for w in lex.get("reply_acks", [])]
    if any(rest == a or rest.startswith(a + " ") for a in acks):
        return "ack"
    if any(rest == y or rest.startswith(y + " ") for y in yes_no):
        return "yesno"
    first = rest.split(" ? ")[0]
    if " ? " in f" {rest} " and len(first.split()) <= 12:
        sents = split_sentences(ctx.docs[j])
        if sents and "?" in sents[0].text and any(t.pos_ in _VERB_POS for t in sents[0]):
            return "question"
    doc = ctx.docs[j]
    if span_keys(doc) or parse_numbers(text):
        return "content"
    return "none"


def _dialogue_question(
    ctx: CallContext, i: int, span: Span, lex: Mapping[str, Any]
) -> tuple[str, bool, float, list[str]] | None:
    """A question without « ? » nor interrogative syntax, told by the dialogue (ASR text):

    * the « ? » landed at the start of the next utterance (word-to-speaker alignment);
    * a confirmation (« vous êtes bien… », « c'est toujours… », « vous avez déjà… ») left
      open by the ASR (comma or nothing at the end of the agent's turn), or closed by a
      period but answered oui / non;
    * a declarative addressed to the callee, left open, and answered by the callee (oui /
      non, or facts) — not an announcement (future, imperative) nor the agent's answer to
      the callee's own question.

    ``span`` is the last sentence of agent utterance ``i``.
    """
    c = _compiled(lex)
    dlg = lex.get("dialogue") or {}
    text = ctx.utterances[i].text.rstrip()
    words = [w for w in _words(span) if w and w not in ",.;:"]
    if not words or "!" in span.text:
        return None
    nxt = i + 1 if i + 1 < len(ctx.utterances) else None
    wh = [w for w in words if w in c["wh_always"] or w in ("comment", "quand", "pourquoi")]
    kind, is_open = ("wh", True) if wh else ("declarative", False)
    if nxt is not None and ctx.utterances[nxt].text.lstrip().startswith("?"):
        return kind, is_open, float(dlg.get("leaked_qmark_score", 0.85)), ["?>"]
    if len(words) > int(dlg.get("max_words", 25)):
        return None
    open_end = bool(text) and text[-1] not in ".!?…"
    fixed = dlg.get("confirmation_exclude", [])
    confirm = bool(set(words) & c["dlg_confirm"]) and not has_phrase(span.text, fixed)
    address = bool(set(words) & c["address"]) or has_phrase(span.text, ["il y a", "y a t il"])
    if not address or _statement_verb(span) or _speaks_of_self(span):
        return None
    reply_at = ctx.next(i, "callee")
    reply = _reply_kind(ctx, reply_at, lex) if reply_at == nxt else "none"
    if confirm and (open_end or reply == "yesno"):
        score = dlg.get("confirmation_open_score" if open_end else "confirmation_score", 0.75)
        return kind, is_open, float(score), ["confirmation", "dialogue"]
    prev = ctx.previous(i, "callee")
    answering = prev is not None and "?" in ctx.utterances[prev].text.rstrip()[-3:]
    if open_end and reply in ("yesno", "content") and not answering:
        return kind, is_open, float(dlg.get("answered_score", 0.65)), ["dialogue"]
    return None


def _trim_run_on(span: Span, lex: Mapping[str, Any], *, last_in_turn: bool) -> Span:
    """Unpunctuated ASR turn: keep the question from the first clause boundary after which
    it is still a question (« un poêle d'accord et la maison fait quelle surface » →
    « et la maison fait quelle surface »), so its words are the question's own."""
    if len(span) <= 12 or any(t.text in (".", "?", "!", ";") for t in span[:-1]):
        return span
    bounds = _compiled(lex)["boundaries"]
    for k in range(1, len(span) - 2):
        if _words(span[k : k + 1])[0] in bounds:
            sub = span.doc[span.start + k : span.end]
            if _detect(sub, lex, last_in_turn=last_in_turn) is not None:
                return sub
    return span


def _merge_fragments(
    items: list[tuple[Span, tuple[str, bool, float, list[str]]]],
) -> list[list[Any]]:
    """Append verbless question fragments (« Des chaînes ? ») to the preceding question."""
    merged: list[list[Any]] = []
    for span, det in items:
        verbless = not any(t.pos_ in _VERB_POS for t in span)
        if merged and verbless and merged[-1][0].end == span.start:
            prev = merged[-1]
            prev[0] = span.doc[prev[0].start : span.end]
            kind, is_open, score, cues = prev[1]
            prev[1] = (kind, is_open or det[1], max(score, det[2]), cues + det[3])
            continue
        merged.append([span, det])
    return merged


def _agent_introduced(ctx: CallContext, keys_by_turn: list[list[str]]) -> list[list[str]]:
    """For each callee turn, its content keys first said by the callee (not echoed from
    an earlier agent turn); empty lists for agent turns."""
    seen_agent: set[str] = set()
    out: list[list[str]] = []
    for u, keys in zip(ctx.utterances, keys_by_turn, strict=True):
        if u.role == "agent":
            seen_agent.update(keys)
            out.append([])
        else:
            out.append([k for k in keys if k not in seen_agent])
    return out


def turn_keys(ctx: CallContext) -> list[list[str]]:
    """Content keys of every utterance (cached on the context)."""
    cache = call_cache(ctx)
    if "turn_keys" not in cache:
        cache["turn_keys"] = [span_keys(doc) for doc in ctx.docs]
    return cache["turn_keys"]


def callee_own_keys(ctx: CallContext) -> list[list[str]]:
    cache = call_cache(ctx)
    if "callee_own_keys" not in cache:
        cache["callee_own_keys"] = _agent_introduced(ctx, turn_keys(ctx))
    return cache["callee_own_keys"]


def _answer_status(
    ctx: CallContext, q: Question, lex: Mapping[str, Any]
) -> tuple[bool, int | None, str]:
    j = ctx.next(q.utterance, "callee")
    if j is None:
        return False, None, "pas de réponse de l'appelé"
    # another agent question between the question and the reply: the reply answers that one
    for k in range(q.utterance + 1, j):
        if ctx.utterances[k].role == "agent" and "?" in ctx.utterances[k].text:
            return False, None, "relance avant la réponse"
    reply = ctx.utterances[j].text
    doc = ctx.docs[j]
    if has_phrase(reply, lex.get("not_an_answer", [])):
        # a repair request or refusal, unless the reply goes on with real content
        rest_sents = [
            s for s in split_sentences(doc) if not has_phrase(s.text, lex.get("not_an_answer", []))
        ]
        if not any(span_keys(s) for s in rest_sents if "?" not in s.text):
            return False, j, "l'appelé ne répond pas (demande de répétition ou refus)"
    sents = split_sentences(doc)
    declar = [s for s in sents if "?" not in s.text]
    keys = [k for s in declar for k in span_keys(s)]
    frag_answers = [
        s
        for s in sents
        if "?" in s.text and not any(t.pos_ in _VERB_POS for t in s) and span_keys(s)
    ]
    yes_no = has_phrase(reply, lex.get("yes_no_words", []))
    min_content = int(lex.get("thresholds", {}).get("answer_min_content", 1))
    if len(keys) >= min_content:
        return True, j, "réponse avec contenu"
    if frag_answers:
        return True, j, "réponse (proposition)"
    if not q.is_open and yes_no:
        return True, j, "réponse oui/non"
    if declar and parse_numbers(" ".join(s.text for s in declar)):
        return True, j, "réponse chiffrée"
    if sents and all("?" in s.text for s in sents):
        return False, j, "l'appelé répond par une question"
    return False, j, "réponse sans contenu"


def _repeat_status(
    ctx: CallContext, q: Question, span: Span, lex: Mapping[str, Any], keys_by_turn: list[list[str]]
) -> tuple[bool, str]:
    """Whether the question asks what the callee already said."""
    j = ctx.next(q.utterance, "callee")
    if j is not None:
        reply = ctx.utterances[j].text
        said = find_phrases(reply, lex.get("already_said", []))
        # the marker must open the reply (« Je viens de vous le dire. Un appartement. »),
        # not close a reply that answers and then repeats something else
        if said and (said[0][0] <= 60 or said[0][0] <= 0.4 * len(reply)):
            return True, f"l'appelé répond « {said[0][2]} »"
    if q.purpose != "info" or q.confirmation:
        return False, ""
    earlier = [k for k in range(q.utterance) if ctx.utterances[k].role == "callee"]
    if not earlier:
        return False, ""
    words = _words(span)
    toks = list(span)
    # alternative: « une maison ou un appartement ? » → an option already said
    if q.kind == "alternative":
        options: list[str] = []
        for k, w in enumerate(words):
            if w == "ou":
                for t in toks[max(0, k - 3) : k] + toks[k + 1 : k + 4]:
                    if t.pos_ in {"NOUN", "ADJ", "PROPN"}:
                        options.append(token_key(t))
        for k in reversed(earlier):
            found = [o for o in options if o in keys_by_turn[k]]
            if found:
                return True, f"« {found[0]} » déjà dit par l'appelé"
    # quantity: « combien de pièces », « quelle surface » → a number with that noun before
    wh_at = [
        k for k, w in enumerate(words) if w in ("combien", "quel", "quelle", "quels", "quelles")
    ]
    focus = {token_key(t) for k in wh_at for t in toks[k + 1 : k + 5] if t.pos_ == "NOUN"}
    if q.is_open and focus:
        for k in reversed(earlier):
            doc = ctx.docs[k]
            for t in doc:
                if token_key(t) in focus and t.pos_ == "NOUN":
                    window = doc[max(0, t.i - 3) : t.i + 3]
                    if any(
                        (w.like_num or w.pos_ == "NUM") and fold(w.text) not in ("un", "une")
                        for w in window
                    ):
                        return True, f"« {window.text} » déjà dit par l'appelé"
    # yes/no: every content word of the question in one earlier callee statement
    if not q.is_open and q.nouns and len(q.keys) >= 2:
        for k in earlier:
            kk = set(keys_by_turn[k])
            if all(key in kk for key in q.keys):
                return True, "déjà dit par l'appelé"
    return False, ""


def analyse_questions(ctx: CallContext, params: Mapping[str, Any] | None = None) -> list[Question]:
    """All agent questions of the call, with answer / follow-up / repeat status (cached)."""
    lex = dict(params) if params is not None else load_lexicon("questions")
    cache = call_cache(ctx)
    key = "questions:" + _params_key(lex)
    if key in cache:
        return cache[key]
    keys_by_turn = turn_keys(ctx)
    own = callee_own_keys(ctx)
    thr = lex.get("thresholds", {})
    vocab = ctx.nlp.vocab
    questions: list[Question] = []
    for i in ctx.indices("agent"):
        doc = ctx.docs[i]
        sents = split_sentences(doc)
        found = []
        for n, s in enumerate(sents):
            det = _detect(s, lex, last_in_turn=n == len(sents) - 1)
            if det is None and n == len(sents) - 1:
                det = _dialogue_question(ctx, i, s, lex)
            if det is not None:
                s = _trim_run_on(s, lex, last_in_turn=n == len(sents) - 1)
                found.append((s, det))
        for span, (kind, is_open, score, cues) in _merge_fragments(found):
            text = span.text
            q = Question(
                utterance=i,
                start=span.start_char,
                end=span.end_char,
                text=text.strip(),
                kind=kind,
                is_open=is_open,
                score=score,
                cues=list(dict.fromkeys(cues)),
            )
            purposes = lex.get("purposes", {})
            if has_phrase(text, purposes.get("check", [])) or (
                kind == "tag" and len(span_keys(span)) <= 1
            ):
                q.purpose = "check"
            elif has_phrase(text, purposes.get("social", [])):
                q.purpose = "social"
            words = set(_words(span))
            q.confirmation = not is_open and bool(words & _compiled(lex)["confirmation"])
            q.keys = span_keys(span)
            q.nouns = [
                token_key(t) for t in span if t.pos_ in {"NOUN", "PROPN"} and token_key(t) in q.keys
            ]
            if q.purpose == "info" and not is_open and {"dialogue", "?>"} & set(q.cues):
                # a declarative told by the dialogue that restates the callee's words is a
                # check of understanding (« donc la natation trois fois par semaine… »)
                prev_c = ctx.previous(i, "callee")
                said = list(own[prev_c]) if prev_c is not None else []
                if prev_c is not None and (p2 := ctx.previous(prev_c, "callee")) is not None:
                    said += own[p2]
                ov = overlap(
                    q.keys, said, vocab, vector_threshold=float(thr.get("vector_word", 0.62))
                )
                if len(ov.matched) >= 2:
                    q.purpose = "check"
            q.answered, q.answer_index, q.answer_reason = _answer_status(ctx, q, lex)
            # builds on the callee's last answer(s)
            prev = ctx.previous(i, "callee")
            if prev is not None and q.purpose == "info":
                source = list(own[prev])
                prev2 = ctx.previous(prev, "callee")
                if prev2 is not None:
                    source += own[prev2]
                ov = overlap(
                    q.keys, source, vocab, vector_threshold=float(thr.get("vector_word", 0.62))
                )
                exact = [m for m in ov.matched if m[2] >= 0.999 or m[0] == m[1]]
                q.builds_on = [f"{a}~{b}" if a != b else a for a, b, _ in ov.matched]
                turn_text = ctx.utterances[i].text
                ana = find_phrases(turn_text, lex.get("anaphora", []))
                q.anaphora = ana[0][2] if ana else ""
                q.builds_on_previous = (
                    len(exact) >= int(thr.get("builds_on_min", 1))
                    or (len(ov.matched) >= 2)
                    or bool(q.anaphora)
                )
            q.repeats, q.repeat_reason = _repeat_status(ctx, q, span, lex, keys_by_turn)
            if q.repeats:
                q.builds_on_previous = False
            questions.append(q)
    cache[key] = questions
    return questions


# --------------------------------------------------------------------------- question.v1
@register("question.v1", lexicon="questions")
def detect_questions(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """Each agent question: open or closed, answered, building on the answer, re-asked."""
    findings: list[Finding] = []
    for q in analyse_questions(ctx, params):
        bits = ["ouverte" if q.is_open else "fermée"]
        if q.purpose == "check":
            bits.append("de vérification")
        elif q.purpose == "social":
            bits.append("de contact")
        if q.repeats:
            bits.append("déjà répondue auparavant")
        elif q.builds_on_previous:
            bits.append("rebondit sur la réponse précédente")
        if q.purpose == "info":
            bits.append("répondue" if q.answered else "sans réponse")
        reason = "Question " + ", ".join(bits) + "."
        findings.append(
            Finding(
                detector="question.v1",
                role="agent",
                score=q.score,
                reason=reason,
                evidence=(ctx.evidence(q.utterance, q.text),),
                label=q.label,
                utterance_index=q.utterance,
                data={
                    "text": q.text,
                    "is_open": q.is_open,
                    "kind": q.kind,
                    "purpose": q.purpose,
                    "cues": q.cues,
                    "answered": bool(q.answered),
                    "answer_index": q.answer_index,
                    "answer_reason": q.answer_reason,
                    "builds_on_previous": q.builds_on_previous,
                    "builds_on": q.builds_on,
                    "anaphora": q.anaphora,
                    "repeats": q.repeats,
                    "repeat_reason": q.repeat_reason,
                    "confirmation": q.confirmation,
                },
            )
        )
    return findings


# --------------------------------------------------------------------------- adaptation
_ACK_WORDS = {
    "d'accord",
    "daccord",
    "ok",
    "entendu",
    "je vois",
    "tres bien",
    "bien",
    "parfait",
    "ah",
    "oui",
}


def _echo_ack(
    ctx: CallContext, i: int, own: list[list[str]], info_questions: list[Question]
) -> list[str]:
    """Content of the callee's last answer taken up in agent turn ``i`` outside its
    questions: « Un poêle en appoint, d'accord. Et… », a restatement before moving on."""
    prev = ctx.previous(i, "callee")
    if prev is None or prev != i - 1 or not own[prev]:
        return []
    spans = [(q.start, q.end) for q in info_questions if q.utterance == i]
    keys: list[str] = []
    for sent in split_sentences(ctx.docs[i]):
        if any(a <= sent.start_char < b for a, b in spans):
            continue
        keys += span_keys(sent)
    ov = overlap(keys, own[prev], None)
    return [m[0] for m in ov.matched]


@register("question_adaptation.v1", lexicon="questions")
def detect_adaptation(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """Follow-up questions building on the callee's answers vs a rigid list (re-asking)."""
    questions = [q for q in analyse_questions(ctx, params) if q.purpose == "info"]
    own = callee_own_keys(ctx)
    findings: list[Finding] = []
    follow_ups = [q for q in questions if q.builds_on_previous and not q.repeats]
    repeats = [q for q in questions if q.repeats]
    for q in follow_ups:
        what = q.anaphora or ", ".join(q.builds_on[:3])
        findings.append(
            Finding(
                detector="question_adaptation.v1",
                role="agent",
                score=0.8 if q.anaphora or len(q.builds_on) >= 2 else 0.65,
                reason=f"Question de relance qui rebondit sur la réponse de l'appelé ({what}).",
                evidence=(ctx.evidence(q.utterance, q.text),),
                label="adaptation:follow_up",
                utterance_index=q.utterance,
                data={"builds_on": q.builds_on, "anaphora": q.anaphora},
            )
        )
    for q in repeats:
        ev = [ctx.evidence(q.utterance, q.text)]
        if q.answer_index is not None:
            ev.append(ctx.evidence(q.answer_index))
        findings.append(
            Finding(
                detector="question_adaptation.v1",
                role="agent",
                score=0.8,
                reason=f"Question reposée alors que l'appelé y avait déjà répondu ({q.repeat_reason}).",
                evidence=tuple(ev),
                label="adaptation:repeat",
                utterance_index=q.utterance,
                data={"reason": q.repeat_reason},
            )
        )
    acks = []
    for i in ctx.indices("agent"):
        echoed = _echo_ack(ctx, i, own, questions)
        if echoed:
            acks.append((i, echoed))
    coverage = script_analysis(ctx, params) if ctx.script_questions else None
    skipped = [c for c in (coverage or []) if c["status"] == "answered_unasked"]
    n = len(questions)
    # follow-ups and script questions skipped once answered count fully; answers taken
    # up before the next question count half (listening, but not yet adapting the list)
    adapted = len(follow_ups) + len(skipped) + 0.5 * min(len(acks), 4)
    if n == 0:
        score, reason = 0.1, "Aucune question d'information posée."
    elif repeats and len(repeats) >= max(1, len(follow_ups)):
        score = 0.2
        reason = f"Questions reposées alors que l'appelé y avait répondu ({len(repeats)}) : déroulé rigide."
    elif adapted >= 1:
        score = min(0.9, 0.45 + 0.1 * adapted)
        reason = (
            f"Questions adaptées aux réponses : {len(follow_ups)} relance(s), "
            f"{len(acks)} reprise(s) de la réponse, {len(skipped)} question(s) du script déjà répondue(s)."
        )
    else:
        score = 0.35
        reason = f"Peu d'adaptation visible : {n} question(s), {len(follow_ups)} relance(s)."
    findings.append(
        Finding(
            detector="question_adaptation.v1",
            role="agent",
            score=round(score, 3),
            reason=reason,
            evidence=tuple(
                [ctx.evidence(q.utterance, q.text) for q in follow_ups[:3]]
                + [ctx.evidence(q.utterance, q.text) for q in repeats[:3]]
            ),
            label="adaptation:summary",
            data={
                "questions": n,
                "open": sum(q.is_open for q in questions),
                "closed": sum(not q.is_open for q in questions),
                "answered": sum(bool(q.answered) for q in questions),
                "follow_ups": len(follow_ups),
                "repeated": len(repeats),
                "acknowledged_answers": len(acks),
                "skipped_answered": len(skipped),
                "rigid": bool(repeats) and len(repeats) >= len(follow_ups),
            },
        )
    )
    return findings


# --------------------------------------------------------------------------- script coverage
_NUMBERING_RE = re.compile(r"^\s*(?:[-*•]|\d+[.)]|[a-z][.)])\s+", re.IGNORECASE)


@dataclass
class _Unit:
    utterance: int
    start: int
    end: int
    text: str
    keys: list[str]
    is_question: bool
    vector: Any = None


def _topics(text: str, keys: Sequence[str], lex: Mapping[str, Any]) -> set[str]:
    """Topic names whose words occur in the text (as phrases) or among its lemmas."""
    keyset = set(keys)
    out = set()
    for name, (folded, words) in _compiled(lex)["topics"].items():
        if folded & keyset or has_phrase(text, words):
            out.add(name)
    return out


def _script_docs(ctx: CallContext) -> list[Doc]:
    cache = call_cache(ctx)
    if "script_docs" not in cache:
        texts = [_NUMBERING_RE.sub("", q).strip() for q in ctx.script_questions]
        cache["script_docs"] = list(ctx.nlp.pipe(texts))
    return cache["script_docs"]


def _sentence_sims(a: Sequence[str], b: Sequence[str], backend: str) -> Any | None:
    if not a or not b:
        return None
    try:
        ea, eb = embed(a, backend), embed(b, backend)
    except Exception as exc:  # noqa: BLE001 - optional encoder, spaCy fallback
        log.warning("similarité de phrases indisponible : %s", exc)
        return None
    if ea is None or eb is None:
        return None
    return ea @ eb.T


def script_analysis(
    ctx: CallContext, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """For each script line: status (covered | missing | answered_unasked), best agent
    sentence, score, and the callee turn that answered it unasked (cached)."""
    lex = dict(params) if params is not None else load_lexicon("questions")
    cache = call_cache(ctx)
    key = "script:" + _params_key(lex)
    if key in cache:
        return cache[key]
    thr = lex.get("thresholds", {})
    weights = lex.get("weights", {})
    w_lex, w_sent = float(weights.get("lexical", 0.55)), float(weights.get("sentence", 0.45))
    vocab = ctx.nlp.vocab
    vthr = float(thr.get("vector_word", 0.62))
    instr = _compiled(lex)["instr"]
    questions = analyse_questions(ctx, lex)
    qspans = {(q.utterance, q.start) for q in questions}
    # agent units: every sentence of every agent turn (questions and statements)
    units: list[_Unit] = []
    for i in ctx.indices("agent"):
        for s in split_sentences(ctx.docs[i]):
            is_q = any(
                q.utterance == i and q.start < s.end_char and s.start_char < q.end
                for q in questions
            )
            is_q = is_q or (i, s.start_char) in qspans
            units.append(
                _Unit(
                    i,
                    s.start_char,
                    s.end_char,
                    s.text.strip(),
                    span_keys(s),
                    is_q,
                    span_vector(_content(s)),
                )
            )
    callee_units: list[_Unit] = []
    for i in ctx.indices("callee"):
        for s in split_sentences(ctx.docs[i]):
            if "?" in s.text:
                continue
            callee_units.append(
                _Unit(
                    i,
                    s.start_char,
                    s.end_char,
                    s.text.strip(),
                    span_keys(s),
                    False,
                    span_vector(_content(s)),
                )
            )
    sdocs = _script_docs(ctx)
    backend = str(lex.get("semantic_backend", "auto"))
    s_texts = [d.text for d in sdocs]
    sims = _sentence_sims(s_texts, [u.text for u in units], backend)
    csims = _sentence_sims(s_texts, [u.text for u in callee_units], backend)
    utopics = [_topics(u.text, u.keys, lex) for u in units]
    results: list[dict[str, Any]] = []
    scored: list[tuple[float, int, int]] = []
    per_line: list[list[float]] = []
    line_keys: list[list[str]] = []
    pos_w = lex.get("pos_weights") or {}
    offer_words = _compiled(lex)["offer"]
    line_kinds: list[str] = []
    line_weights: list[dict[str, float]] = []
    stopics_all: list[set[str]] = []
    all_line_keys = [set(span_keys(d)) for d in sdocs]
    # ASR output without any punctuation: declarative questions (« vous êtes bien
    # propriétaire ») cannot be told from statements, so statements may match questions
    agent_texts = [ctx.utterances[i].text for i in ctx.indices("agent")]
    punctuated = sum(any(p in t for p in ".?!") for t in agent_texts) >= 0.3 * max(
        1, len(agent_texts)
    )
    for si, sdoc in enumerate(sdocs):
        first = next((t for t in sdoc if not t.is_punct), None)
        all_keys = span_keys(sdoc)
        if first is not None and token_key(first) in instr and "?" not in sdoc.text:
            kind = "instruction"
        elif any(token_key(t) in offer_words or fold(t.text) in offer_words for t in sdoc):
            kind = "offer"
        else:
            kind = "question"
        line_kinds.append(kind)
        keys = [k for k in all_keys if k not in instr] if kind == "instruction" else all_keys
        line_keys.append(keys)
        kw = key_weights(sdoc, pos_w)
        for k in list(kw):
            # a word in many script lines (« votre chien ») tells the lines apart poorly
            shared = sum(k in other for other in all_line_keys) - 1
            kw[k] = kw[k] / (1.0 + max(0, shared))
        line_weights.append(kw)
        svec = span_vector(_content(sdoc))
        stopics = _topics(sdoc.text, keys, lex)
        stopics_all.append(stopics)
        row: list[float] = []
        for ui, u in enumerate(units):
            if kind == "question" and not u.is_question and punctuated:
                row.append(0.0)
                continue
            lexical = (
                overlap(keys, u.keys, vocab, vector_threshold=vthr, weights=kw).ratio
                if keys
                else 0.0
            )
            sent = float(sims[si, ui]) if sims is not None else cosine(svec, u.vector)
            score = w_lex * lexical + w_sent * max(sent, 0.0)
            if stopics and utopics[ui] and not stopics & utopics[ui]:
                score *= float(thr.get("topic_mismatch_factor", 0.75))
            if stopics and stopics & utopics[ui]:
                score += float(thr.get("topic_bonus", 0.12))
                floor_topics = set(lex.get("topic_floor_topics") or [])
                if u.is_question and stopics & utopics[ui] & floor_topics:
                    score = max(score, float(thr.get("topic_match", 0.45)))
            if not u.is_question:
                score *= float(thr.get("non_question_factor", 0.85))
            row.append(score)
            scored.append((score, si, ui))
        per_line.append(row)
    # one-to-one greedy assignment (a strong match may share an agent sentence)
    covered_thr = float(thr.get("script_covered", 0.42))
    strong_thr = float(thr.get("script_strong", 0.6))
    assigned: dict[int, tuple[int, float]] = {}
    used: set[int] = set()
    for score, si, ui in sorted(scored, reverse=True):
        if si in assigned or score < covered_thr:
            continue
        if ui in used and score < strong_thr:
            continue
        assigned[si] = (ui, score)
        used.add(ui)
    unasked_thr = float(thr.get("script_unasked", 0.5))
    for si, sdoc in enumerate(sdocs):
        entry: dict[str, Any] = {
            "index": si,
            "question": ctx.script_questions[si],
            "kind": line_kinds[si],
            "status": "missing",
            "score": 0.0,
        }
        match = assigned.get(si)
        asked_at = units[match[0]].utterance if match else None
        # answered by the callee before being asked (or never asked)
        best_c, best_cs = None, 0.0
        keys = line_keys[si]
        svec = span_vector(_content(sdoc))
        for ci, cu in enumerate(callee_units):
            if asked_at is not None and cu.utterance > asked_at:
                continue
            prev_agent = ctx.previous(cu.utterance, "agent")
            if (
                prev_agent is not None
                and match is None
                and _asks_same(units, prev_agent, per_line[si], covered_thr * 0.8)
            ):
                continue
            lexical = (
                overlap(keys, cu.keys, vocab, vector_threshold=vthr, weights=line_weights[si]).ratio
                if keys
                else 0.0
            )
            sent = float(csims[si, ci]) if csims is not None else cosine(svec, cu.vector)
            cs = w_lex * lexical + w_sent * max(sent, 0.0)
            if stopics_all[si] and stopics_all[si] & _topics(cu.text, cu.keys, lex):
                cs += float(thr.get("topic_bonus", 0.12))
            if cs > best_cs:
                best_c, best_cs = ci, cs
        volunteered = best_c is not None and best_cs >= unasked_thr
        if match:
            u = units[match[0]]
            entry.update(
                status="covered", score=round(match[1], 3), utterance=u.utterance, quote=u.text
            )
            if volunteered and callee_units[best_c].utterance < u.utterance:
                cu = callee_units[best_c]
                entry.update(answered_before=cu.utterance, answer_quote=cu.text)
        elif volunteered:
            cu = callee_units[best_c]
            entry.update(
                status="answered_unasked",
                score=round(best_cs, 3),
                utterance=cu.utterance,
                quote=cu.text,
            )
        else:
            best_ui = max(range(len(units)), key=lambda k: per_line[si][k]) if units else None
            if best_ui is not None:
                entry.update(score=round(per_line[si][best_ui], 3), closest=units[best_ui].text)
        results.append(entry)
    cache[key] = results
    return results


def _asks_same(units: list[_Unit], agent_index: int, row: list[float], thr: float) -> bool:
    return any(u.utterance == agent_index and row[k] >= thr for k, u in enumerate(units))


def _content(span: Any) -> list[Any]:
    from ..semantic import content_tokens

    return content_tokens(span)


@register("script_coverage.v1", lexicon="questions")
def detect_script_coverage(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """Coverage of the call script's questions, in substance (paraphrases count)."""
    if not ctx.script_questions:
        return [
            Finding(
                detector="script_coverage.v1",
                role="agent",
                score=0.0,
                reason="Pas de script d'appel fourni : couverture non évaluée.",
                label="script:summary",
                data={"coverage": None, "total": 0},
            )
        ]
    findings: list[Finding] = []
    results = script_analysis(ctx, params)
    for r in results:
        status = r["status"]
        ev = ()
        if "utterance" in r:
            ev = (ctx.evidence(r["utterance"], r["quote"]),)
        if status == "covered":
            reason = f"Question du script posée : « {r['question']} »."
            if "answered_before" in r:
                reason = f"Question du script posée alors que l'appelé y avait déjà répondu : « {r['question']} »."
        elif status == "answered_unasked":
            reason = f"Question du script non posée, l'appelé y avait déjà répondu : « {r['question']} »."
        else:
            reason = f"Question du script non posée : « {r['question']} »."
        findings.append(
            Finding(
                detector="script_coverage.v1",
                role="agent"
                if status == "covered"
                else ("callee" if status == "answered_unasked" else None),
                score=float(min(1.0, max(0.0, r["score"])))
                if status != "missing"
                else float(min(0.5, r["score"])),
                reason=reason,
                evidence=ev,
                label=f"script:{status}",
                utterance_index=r.get("utterance"),
                data={k: v for k, v in r.items() if k not in ("utterance",)},
            )
        )
    n = len(results)
    covered = sum(r["status"] == "covered" for r in results)
    unasked = sum(r["status"] == "answered_unasked" for r in results)
    ratio = (covered + unasked) / n if n else None
    findings.append(
        Finding(
            detector="script_coverage.v1",
            role="agent",
            score=round(ratio or 0.0, 3),
            reason=(
                f"Script couvert à {round(100 * (ratio or 0))} % : {covered} question(s) posée(s), "
                f"{unasked} déjà répondue(s) par l'appelé, {n - covered - unasked} manquante(s)."
            ),
            evidence=tuple(
                f.evidence[0] for f in findings if f.evidence and f.label == "script:covered"
            )[:6],
            label="script:summary",
            data={
                "coverage": round(ratio, 3) if ratio is not None else None,
                "total": n,
                "covered": covered,
                "answered_unasked": unasked,
                "missing": n - covered - unasked,
            },
        )
    )
    return findings
