"""Objections and doubts: the callee's objections and how the agent handled each (C09),
and the agent's invitations to voice doubts, questions or hesitations (C08)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..types import Finding
from .base import CallContext, register
from .opening import (
    find,
    finding,
    is_question,
    open_ended,
    quote_span,
    sentence_at,
    sentences,
    unpunctuated,
)

if TYPE_CHECKING:  # pragma: no cover
    from spacy.tokens import Doc, Span

_NEGATIONS = {"pas", "ne", "n'", "n", "jamais", "guère", "aucun", "aucune"}
_GENERIC_LEMMAS = {
    "être", "avoir", "faire", "aller", "pouvoir", "vouloir", "dire", "falloir", "devoir",
    "savoir", "voir", "mettre", "prendre", "venir", "chose", "truc", "fois", "oui", "non",
    "bon", "bien", "vrai", "euh", "ben", "quoi", "là", "ça", "cela", "monsieur", "madame",
}  # fmt: skip
_HANDLING_FR = {
    "acknowledged_and_answered": "reconnue puis traitée",
    "answered": "traitée sans être reconnue",
    "acknowledged": "reconnue mais sans réponse sur le fond",
    "ignored": "ignorée",
    "contradicted": "contredite sèchement",
}


def _content_lemmas(span: Span | Doc) -> set[str]:
    return {
        t.lemma_.lower()
        for t in span
        if t.pos_ in {"NOUN", "PROPN", "VERB", "ADJ"}
        and not t.is_stop
        and len(t.text) > 2
        and t.lemma_.lower() not in _GENERIC_LEMMAS
    }


_CLAUSE_BREAKS = {"mais", "et", "donc", "alors", "puis", "parce", "car", "si"}


def _negated(doc: Doc, start: int, end: int) -> bool:
    """Is a match (without its own negation) negated by the words just before it, in the
    same clause? (« je ne sais pas, il faut que je réfléchisse »: the negation belongs to
    the clause before the comma)."""
    inside = {t.lower_ for t in doc[start:end]}
    if inside & _NEGATIONS:
        return False
    for t in reversed(doc[max(0, start - 3) : start]):
        if t.is_punct or t.lower_ in _CLAUSE_BREAKS:
            return False
        if t.lower_ in _NEGATIONS:
            return True
    return False


def _response(ctx: CallContext, index: int, turns: int = 1) -> list[int]:
    """The agent's answer to callee utterance ``index``: the next ``turns`` agent turns
    (a turn = consecutive agent utterances, one turn split in two by the transcript)."""
    out: list[int] = []
    k = index
    for _ in range(max(1, turns)):
        j = ctx.next(k, "agent")
        if j is None:
            break
        out.append(j)
        k = j + 1
        while k < len(ctx.utterances) and ctx.utterances[k].role == "agent":
            out.append(k)
            k += 1
    return out


def _head(doc: Doc, max_tokens: int) -> Span:
    """The first sentences of a turn, up to about ``max_tokens`` tokens."""
    end = 0
    for sent in sentences(doc):
        if end and sent.end > max_tokens:
            break
        end = sent.end
    return doc[: max(end, min(len(doc), max_tokens))]


def _handling(
    ctx: CallContext,
    objection: Span,
    label: str,
    response: Sequence[int],
    p: Mapping[str, Any],
    lists: Mapping[str, Sequence[str]],
) -> tuple[str, dict[str, Any], tuple[int, str] | None]:
    """How the agent answered one objection: (handling, details, response evidence)."""
    if not response:
        return "ignored", {"response_index": None}, None
    h = p["handling"]
    topic = {w.lower() for w in h["topic_lemmas"].get(label.split(":")[-1], ())}
    ack = contra = marker = None
    question = topical = False
    overlap: set[str] = set()
    content = 0
    source = _content_lemmas(objection)
    for n, i in enumerate(response):
        doc = ctx.docs[i]
        head = _head(doc, int(h["ack_within_tokens"])) if n == 0 else None
        # the acknowledgment opens the first reply; the answer may come a turn later
        # (« je comprends » — callee: « hmm » — « mais l'installation est offerte »)
        for m in find(ctx, doc, h["rules"], lists):
            if m.label == "acknowledge" and ack is None and head is not None and m.end <= head.end:
                ack = (i, m)
            elif m.label == "contradict" and contra is None:
                contra = (i, m)
            elif m.label == "answer" and marker is None:
                marker = (i, m)
        lemmas = _content_lemmas(doc)
        overlap |= lemmas & source
        topical = topical or bool(lemmas & topic)
        content += len(lemmas)
        question = question or any(is_question(s) or open_ended(doc, s) for s in sentences(doc))
    answered = bool(marker or topical or overlap)
    if contra is not None:
        kind = "contradicted"
    elif ack is not None and (answered or question or content >= int(h["min_content_words"])):
        kind = "acknowledged_and_answered"
    elif answered:
        kind = "answered"
    elif ack is not None:
        kind = "acknowledged"
    else:
        kind = "ignored"
    first = response[0]
    anchor = contra or ack or marker
    if anchor is not None:
        i, m = anchor
        quote = quote_span(ctx.docs[i], m.start, m.end, int(h["quote_tokens"]))
    else:
        i = first
        quote = _head(ctx.docs[i], int(h["quote_tokens"])).text.strip()
    details = {
        "response_index": first,
        "acknowledged": ack is not None,
        "acknowledgment": ack[1].text if ack else "",
        "answered": answered,
        "answer_marker": marker[1].text if marker else "",
        "on_topic": topical,
        "shared_words": sorted(overlap)[:8],
        "question_back": question,
        "contradicted": contra is not None,
    }
    return kind, details, (i, quote)


@register("objection.v1", lexicon="objections")
def objection(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """Each callee objection (price, time, already equipped, not interested, will think
    about it, trust, other) and how the agent's next turn handled it (C09).

    ``score`` is the confidence that the objection is real; the handling is in
    ``data.handling`` (acknowledged_and_answered | answered | acknowledged | ignored |
    contradicted) and in the reason.
    """
    p = params["objection"]
    lists = params.get("lists", {})
    weights: Mapping[str, float] = p["weights"]
    names: Mapping[str, str] = p["names"]
    out: list[Finding] = []
    unless_rules = p.get("unless") or {}
    for i in ctx.indices("callee"):
        doc = ctx.docs[i]
        seen: set[str] = set()
        unless = find(ctx, doc, unless_rules, lists) if unless_rules else []
        for m in find(ctx, doc, p["rules"], lists):
            category = m.label.removeprefix("weak_")
            if category in seen or _negated(doc, m.start, m.end):
                continue
            if any(u.label == category and u.start < m.end and m.start < u.end for u in unless):
                continue
            seen.add(category)
            score = float(weights.get(m.label, 0.6))
            # an answer to the agent's own question ("vous avez déjà un fournisseur ?" —
            # "oui, j'ai déjà un fournisseur") is information more than an objection
            prev = ctx.previous(i, "agent")
            if prev is not None and category in set(p["answer_discount_labels"]):
                asked = _content_lemmas(ctx.docs[prev])
                if asked & _content_lemmas(doc[m.start : m.end]) and is_question(ctx.docs[prev]):
                    score -= 0.3
            sent = sentence_at(doc, m.start)
            window = int(p["context_tokens"])
            sent = doc[max(sent.start, m.start - window) : min(sent.end, m.end + window)]
            objection_quote = quote_span(doc, m.start, m.end, int(p["quote_tokens"]))
            response = _response(ctx, i, int(p.get("response_turns", 2)))
            handling, details, resp_ev = _handling(ctx, sent, category, response, p, lists)
            quotes = [(i, objection_quote)] + ([resp_ev] if resp_ev else [])
            what = names.get(category, category)
            if resp_ev:
                reason = (
                    f"Objection ({what}) « {objection_quote} » {_HANDLING_FR[handling]} "
                    f"par l'agent : « {resp_ev[1]} »."
                )
            else:
                reason = f"Objection ({what}) « {objection_quote} » restée sans réponse de l'agent."
            out.append(
                finding(
                    "objection.v1",
                    ctx,
                    i,
                    score,
                    reason,
                    quotes,
                    label=f"objection:{category}",
                    role="callee",
                    data={"category": category, "handling": handling, "marker": m.text, **details},
                )
            )
    return out


@register("doubt_invitation.v1", lexicon="objections")
def doubt_invitation(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """The agent invites doubts, questions or opinions out, or probes a vague hesitation
    ("qu'est-ce qui vous fait hésiter ?", "avez-vous des questions ?") (C08)."""
    p = params["doubt"]
    lists = params.get("lists", {})
    weights: Mapping[str, float] = p["weights"]
    needs_question = set(p["question_only_labels"])
    excluded = {w.lower() for w in p.get("exclude_after_lemmas", ())}
    out: list[Finding] = []
    for i in ctx.indices("agent"):
        doc = ctx.docs[i]
        best = None
        for m in find(ctx, doc, p["rules"], lists):
            if m.label == "probe":
                continue
            penalty = 0.0
            sent = sentence_at(doc, m.start)
            if m.label in needs_question and not is_question(sent):
                if not (unpunctuated(doc) or open_ended(doc, sent)):
                    continue
                # raw ASR text without punctuation, or a turn left open by a comma: the
                # question is likely
                penalty = 0.1

            if any(t.lemma_.lower() in excluded for t in doc[max(0, m.start - 3) : m.start]):
                continue
            key = (float(weights.get(m.label, 0.6)) - penalty, -m.start)
            if best is None or key > best[0]:
                best = (key, m)
        probe_of = None
        if best is None:
            prev = ctx.previous(i, "callee")
            probes = [m for m in find(ctx, doc, p["rules"], lists) if m.label == "probe"]
            probes = [
                m
                for m in probes
                if is_question(sentence_at(doc, m.start))
                or unpunctuated(doc)
                or open_ended(doc, sentence_at(doc, m.start))
            ]
            if prev is not None and prev == i - 1 and probes:
                hesitant = find(ctx, ctx.docs[prev], p["hesitation_rules"], lists)
                if hesitant:
                    best = ((float(weights["probe"]), 0), probes[0])
                    h = hesitant[0]
                    probe_of = (prev, quote_span(ctx.docs[prev], h.start, h.end, 15))
        if best is None:
            continue
        (score, _), m = best
        quote = quote_span(doc, m.start, m.end, int(p["quote_tokens"]))
        quotes = [(i, quote)]
        if probe_of is not None:
            quotes.insert(0, probe_of)
            reason = (
                f"L'agent fait expliciter l'hésitation « {probe_of[1]} » de l'appelé : « {quote} »."
            )
        else:
            reason = f"L'agent invite l'appelé à {p['names'][m.label]} : « {quote} »."
        out.append(
            finding(
                "doubt_invitation.v1",
                ctx,
                i,
                score,
                reason,
                quotes,
                label=f"doubt_invitation:{m.label}",
                data={"kind": m.label, "marker": m.text, "probes_hesitation": probe_of is not None},
            )
        )
    return out
