"""Active listening (C05): reformulation of what the callee said, and feedback checks.

A reformulation is found by comparing an agent turn with the callee's preceding turns:
content lemmas restated (same lemma, same stem or a close word vector), numbers kept
(« cent dix » = « 110 »), the person shifted (« mon mari » → « votre mari »), with or
without a marker (« si je comprends bien »). Words the agent itself introduced earlier do
not count as the callee's content, so the agent's recap of its own proposal is no
reformulation; neither is a word-for-word echo of one detail (an e-mail read back).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..semantic import (
    call_cache,
    find_phrases,
    fold,
    has_phrase,
    match_form,
    overlap,
    span_keys,
    split_sentences,
    token_key,
)
from ..types import Finding
from .base import CallContext, load_lexicon, register
from .questions import analyse_questions, callee_own_keys


@dataclass
class Reformulation:
    utterance: int
    score: float
    label: str
    quote: str
    restated: list[str] = field(default_factory=list)
    marker: str = ""
    person_shift: bool = False
    numbers: list[str] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    echo: bool = False


def _words(text: str) -> list[str]:
    return match_form(text)[0].replace("?", " ").split()


def _ordered_copy_ratio(agent: list[str], source: list[str]) -> float:
    """Share of the agent's words forming runs (3+ words) copied from the source."""
    if not agent:
        return 0.0
    src = " " + " ".join(source) + " "
    copied = 0
    i = 0
    while i < len(agent):
        best = 0
        for n in range(len(agent) - i, 2, -1):
            if " " + " ".join(agent[i : i + n]) + " " in src:
                best = n
                break
        if best:
            copied += best
            i += best
        else:
            i += 1
    return copied / len(agent)


def _only_in(doc: Any, span: Any, key: str, positions: set[int]) -> bool:
    """True when every token of ``span`` with lemma key ``key`` lies in ``positions``."""
    if not positions or key.startswith("#"):
        return False
    hits = [t.i for t in span if token_key(t) == key]
    return bool(hits) and all(h in positions for h in hits)


def analyse_reformulations(
    ctx: CallContext, params: Mapping[str, Any] | None = None
) -> list[Reformulation]:
    """Candidate reformulations, one per agent turn at most (cached on the context)."""
    lex = dict(params) if params is not None else load_lexicon("listening")
    cache = call_cache(ctx)
    key = "reformulations:" + repr(sorted(lex.items(), key=lambda kv: kv[0]))
    if key in cache:
        return cache[key]
    thr = lex.get("thresholds", {})
    window = int(thr.get("window_callee_turns", 3))
    vthr = float(thr.get("vector_word", 0.7))
    min_restated = int(thr.get("min_restated", 2))
    echo_ratio = float(thr.get("echo_ratio", 0.7))
    first = {fold(w) for w in lex.get("first_person", [])}
    second = {fold(w) for w in lex.get("second_person", [])}
    own = callee_own_keys(ctx)
    questions = analyse_questions(ctx)
    vocab = ctx.nlp.vocab
    out: list[Reformulation] = []
    for i in ctx.indices("agent"):
        # callee turns since the previous agent turn that was itself a reformulation source
        sources: list[int] = []
        j = i
        while len(sources) < window:
            j = ctx.previous(j, "callee")
            if j is None:
                break
            sources.append(j)
        if not sources:
            continue
        # the callee's statements (not its questions), minus words the agent said first
        src_keys = []
        src_words = []
        for s in sources:
            own_s = set(own[s])
            for sent in split_sentences(ctx.docs[s]):
                if "?" in sent.text:
                    continue
                src_keys += [k for k in span_keys(sent) if k in own_s]
                src_words += _words(sent.text)
        if not src_keys:
            continue
        doc = ctx.docs[i]
        info_q = [(q.start, q.end) for q in questions if q.utterance == i and q.purpose == "info"]
        kept = []
        for sent in split_sentences(doc):
            if has_phrase(sent.text, lex.get("proposal_markers", [])):
                continue
            if any(a <= sent.start_char < b for a, b in info_q):
                continue  # a question asking for new information restates nothing
            kept.append(sent)
        if not kept:
            continue
        text = " ".join(s.text for s in kept)
        markers = find_phrases(ctx.utterances[i].text, lex.get("markers", []))
        marker = markers[0][2] if markers else ""
        # the marker's own words (« si je comprends bien ») are not restated content
        in_marker = {t.i for t in doc for a, b, _ in markers if a <= t.idx < b}
        agent_keys = list(
            dict.fromkeys(
                k
                for s in kept
                for k in span_keys(doc[s.start : s.end], ignore=())
                if not _only_in(doc, s, k, in_marker)
            )
        )
        ov = overlap(agent_keys, src_keys, vocab, vector_threshold=vthr)
        restated = [m[0] for m in ov.matched]
        numbers = [k for k in restated if k.startswith("#")]
        agent_words = _words(text)
        src_first = any(w in first for w in src_words)
        person_shift = src_first and any(w in second for w in agent_words)
        copy = _ordered_copy_ratio(agent_words, src_words)
        echo = copy >= echo_ratio and not person_shift
        n = len(restated)
        if n == 0 and not marker:
            continue
        if echo:
            score, label = 0.25, "reformulation:echo"
        elif n >= min_restated + 1:
            score, label = 0.85, "reformulation"
        elif n >= min_restated:
            score, label = 0.7, "reformulation"
        elif n == 1 and (marker or person_shift):
            score, label = 0.45, "reformulation:partial"
        elif marker:
            score, label = 0.3, "reformulation:marker_only"
        else:
            continue
        if marker and not echo and n:
            score = min(0.95, score + 0.1)
        if person_shift and not echo and n >= min_restated:
            score = min(0.95, score + 0.05)
        quote = kept[0].text if len(kept) == 1 else text
        out.append(
            Reformulation(
                utterance=i,
                score=round(score, 3),
                label=label,
                quote=quote.strip(),
                restated=restated,
                marker=marker,
                person_shift=person_shift,
                numbers=numbers,
                sources=sorted(sources),
                echo=echo,
            )
        )
    cache[key] = out
    return out


@register("reformulation.v1", lexicon="listening")
def detect_reformulation(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """Agent turns that restate what the callee said (with or without a marker)."""
    min_score = float(params.get("thresholds", {}).get("min_score", 0.3))
    findings: list[Finding] = []
    for r in analyse_reformulations(ctx, params):
        if r.score < min_score and r.label != "reformulation:echo":
            continue
        shown = ", ".join(k.lstrip("#") for k in r.restated[:5])
        if r.label == "reformulation:echo":
            reason = (
                "Simple répétition mot pour mot d'une information de l'appelé, sans reformulation."
            )
        elif r.label == "reformulation:marker_only":
            reason = (
                f"Annonce de reformulation (« {r.marker} ») sans reprise du contenu de l'appelé."
            )
        elif r.label == "reformulation:partial":
            reason = f"Reprise partielle de ce qu'a dit l'appelé ({shown})."
        else:
            reason = (
                "Reformulation de ce qu'a dit l'appelé"
                + (f" (« {r.marker} »)" if r.marker else "")
                + f" : {shown}."
            )
        ev = [ctx.evidence(r.utterance, r.quote)]
        if r.sources:
            ev.append(ctx.evidence(r.sources[0]))
        findings.append(
            Finding(
                detector="reformulation.v1",
                role="agent",
                score=r.score,
                reason=reason,
                evidence=tuple(ev),
                label=r.label,
                utterance_index=r.utterance,
                data={
                    "restated": r.restated,
                    "marker": r.marker,
                    "person_shift": r.person_shift,
                    "numbers": r.numbers,
                    "sources": r.sources,
                    "echo": r.echo,
                },
            )
        )
    return findings


@register("feedback_check.v1", lexicon="listening")
def detect_feedback_check(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """The agent asks the callee to confirm, correct or react (« c'est bien ça ? »)."""
    checks = params.get("checks", {})
    short = params.get("short_checks", [])
    reformulations = {
        r.utterance: r for r in analyse_reformulations(ctx, params) if r.score >= 0.45
    }
    findings: list[Finding] = []
    for i in ctx.indices("agent"):
        text = ctx.utterances[i].text
        hits: list[tuple[str, int, int, str]] = []
        for kind in ("understanding", "clarity", "agreement"):
            for s, e, q in find_phrases(text, checks.get(kind, [])):
                hits.append((kind, s, e, q))
        if not hits:
            continue
        hits.sort(key=lambda h: (h[1], -(h[2] - h[1])))
        kind, s, e, quote = hits[0]
        # priority: understanding > clarity > agreement when several in the turn
        for pref in ("understanding", "clarity"):
            sel = [h for h in hits if h[0] == pref]
            if sel:
                kind, s, e, quote = sel[0]
                break
        rest = text[e:].strip()
        is_short = has_phrase(quote, short) or len(match_form(quote)[0].split()) <= 2
        qmark = "?" in quote or rest.startswith("?")
        at_end = len(match_form(rest)[0].split()) == 0
        at_start = len(match_form(text[:s])[0].split()) == 0
        if is_short and not (qmark or (at_end and not at_start)):
            continue
        # a check closes its sentence (« …, c'est bien ça ? ») or the sentence is a question:
        # « c'est bien, ça vous fera des économies » is no check
        sent_rest = re.split(r"[.!?;]", text[e:], maxsplit=1)[0]
        sent_is_q = "?" in text[e:][: len(sent_rest) + 1] or qmark
        if not sent_is_q and len(match_form(sent_rest)[0].split()) > 1:
            continue
        score = 0.9 if qmark else 0.7
        if kind == "agreement":
            score = 0.45
        prev_agent = ctx.previous(i, "agent")
        bare = len(match_form(text[:s] + " " + text[e:])[0].replace("?", " ").split()) <= 2
        follows = i in reformulations or (
            bare and prev_agent is not None and prev_agent in reformulations and prev_agent >= i - 2
        )
        reply = ctx.next(i, "callee")
        label = f"check:{kind}"
        what = {
            "understanding": "vérifie sa compréhension auprès de l'appelé",
            "clarity": "vérifie que l'appelé a compris",
            "agreement": "demande l'accord de l'appelé",
        }[kind]
        findings.append(
            Finding(
                detector="feedback_check.v1",
                role="agent",
                score=score,
                reason=f"L'agent {what} : « {quote.strip()} »"
                + (" après une reformulation." if follows else "."),
                evidence=(ctx.evidence(i, quote),),
                label=label,
                utterance_index=i,
                data={
                    "kind": kind,
                    "quote": quote.strip(),
                    "follows_reformulation": follows,
                    "reply_index": reply,
                },
            )
        )
    return findings
