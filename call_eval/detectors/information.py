"""Information gathered (C06) and needs explored / identified (C07).

``information_gathered.v1`` reads the callee's statements for facts: dates and times,
numbers and quantities (digits or words), places (spaCy entities, postal addresses), names,
contact details (e-mail, phone, address) and the callee's situation (situation nouns from
the lexicon, first-person statements about oneself), and says whether each answered an
agent question. ``needs.v1`` finds the agent exploring needs and the need identified: the
callee states it and the agent takes it up (restates, acknowledges, ties the offer to it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..semantic import (
    call_cache,
    find_phrases,
    fold,
    has_phrase,
    match_form,
    overlap,
    parse_dates,
    parse_numbers,
    parse_times,
    parse_weekdays,
    span_keys,
    split_sentences,
    token_key,
)
from ..types import Finding
from .base import CallContext, register
from .questions import analyse_questions, callee_own_keys

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_POSTCODE_RE = re.compile(r"\b\d{5}\b")
_MONTHS_RE = re.compile(
    r"\b(janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre)\b"
)


def _solicited_by(ctx: CallContext, j: int, params: Mapping[str, Any]) -> tuple[bool, int | None]:
    """Whether callee turn ``j`` answers an agent question (or an « allez-y, je note »)."""
    prev = ctx.previous(j, "agent")
    if prev is None:
        return False, None
    for q in analyse_questions(ctx):
        if q.utterance == prev and q.purpose in ("info", "check") and q.answer_index == j:
            return True, prev
    if has_phrase(ctx.utterances[prev].text, params.get("solicit", [])):
        return True, prev
    return False, None


_SETS: dict[str, dict[str, set[str]]] = {}


def _sets(params: Mapping[str, Any]) -> dict[str, set[str]]:
    """Folded word sets of the lexicon (computed once per lexicon content)."""
    key = repr(
        [params.get(k) for k in ("situation_lemmas", "unit_words", "street_words", "not_names")]
    )
    if key not in _SETS:
        _SETS[key] = {
            "situation": {fold(str(w)) for w in params.get("situation_lemmas", [])},
            "units": {fold(str(w)) for w in params.get("unit_words", [])},
            "streets": {fold(str(w)) for w in params.get("street_words", [])},
            "not_names": {fold(str(w)) for w in params.get("not_names", [])},
        }
    return _SETS[key]


def _facts(ctx: CallContext, j: int, sent: Any, params: Mapping[str, Any]) -> dict[str, list[str]]:
    text = sent.text
    form = match_form(text)[0]
    facts: dict[str, list[str]] = {}

    def add(kind: str, value: str) -> None:
        facts.setdefault(kind, [])
        if value not in facts[kind]:
            facts[kind].append(value)

    # contact
    if _EMAIL_RE.search(text) or (
        "arobase" in form.split() or has_phrase(text, ["point com", "point fr", "point net"])
    ):
        add("contact", "email")
    nums = parse_numbers(text)
    strong = [n for n in nums if not n.weak]
    digits = re.sub(r"\D", "", text)
    if (
        len(digits) >= 9
        and re.search(r"\b0\d([ .]?\d\d){4}\b", text)
        or len(strong) >= 4
        and strong[0].value == 0
    ):
        add("contact", "phone")
    streets = _sets(params)["streets"]
    words = form.split()
    for k, w in enumerate(words):
        if w in streets and k > 0 and strong:
            add("contact", "address")
            add("place", " ".join(words[max(0, k - 1) : k + 3]))
            break
    if _POSTCODE_RE.search(text) or has_phrase(text, ["code postal"]):
        add("contact", "address")
    # dates and times
    times = parse_times(text, nums)
    dates = parse_dates(text, nums)
    for t in times:
        add("date", t.value)
    for d in dates:
        add("date", d.value)
    for w in parse_weekdays(text):
        add("date", w.day)
    for m in _MONTHS_RE.finditer(fold(text)):
        add("date", m.group(1))
    for _, _, q in find_phrases(text, params.get("date_phrases", [])):
        add("date", q.strip())
    years = set()
    for n in strong:
        if 1900 <= n.value <= 2100 and float(n.value).is_integer():
            nxt = match_form(text[n.end : n.end + 15])[0].split()[:1]
            if nxt and nxt[0] in _sets(params)["units"]:
                continue  # « deux mille euros » is an amount
            years.add(n.start)
            add("date", str(int(n.value)))
    # numbers / quantities (not already a time, date or phone)
    used = [(t.start, t.end) for t in times] + [(d.start, d.end) for d in dates]
    if "phone" not in facts.get("contact", []):
        units = _sets(params)["units"]
        for n in strong:
            if any(a <= n.start < b for a, b in used):
                continue
            if n.start in years:
                continue
            after = match_form(text[n.end : n.end + 25])[0].split()[:2]
            if after[:1] == ["de"]:
                after = after[1:]  # « une quarantaine de mètres »
            unit = after[0] if after and after[0] in units else ""
            if not unit:
                nxt = next(
                    (t for t in sent if t.idx - sent.start_char >= n.end and not t.is_punct), None
                )
                if (
                    nxt is not None
                    and nxt.pos_ == "NOUN"
                    and nxt.idx - sent.start_char - n.end <= 1
                ):
                    unit = nxt.text.lower()
            add("number", f"{n.value:g}" + (f" {unit}" if unit else ""))
    # places, names, organisations
    not_names = _sets(params)["not_names"]
    for ent in sent.ents:
        if fold(ent.text) in not_names or not ent.text[:1].isupper():
            continue
        alone = len([t for t in sent if not t.is_punct]) == len(ent)
        if ent.label_ == "PER" and alone:
            continue  # « Bof. » alone is no name
        if "contact" in facts and ent.label_ in ("PER", "MISC"):
            continue  # pieces of an e-mail address read aloud
        if ent.label_ in ("LOC", "GPE"):
            add("place", ent.text)
        elif ent.label_ == "PER":
            add("name", ent.text)
        elif ent.label_ == "ORG":
            add("situation", ent.text)
    for m in re.finditer(
        r"\b(?:madame|monsieur|mme|m\.|mr)\s+([A-ZÉÈ][\w-]+)", text, re.IGNORECASE
    ):
        if m.group(1)[0].isupper():
            add("name", m.group(1))
    # situation
    lemmas = _sets(params)["situation"]
    sit = [t.text for t in sent if t.pos_ in ("NOUN", "PROPN") and token_key(t) in lemmas]
    if sit:
        add("situation", ", ".join(dict.fromkeys(sit)))
    elif has_phrase(text, params.get("first_person_statements", [])):
        nouns = [t.text for t in sent if t.pos_ in ("NOUN", "PROPN", "ADJ") and len(t.text) > 2]
        if nouns and span_keys(sent):
            add("situation", ", ".join(nouns[:3]))
    return facts


def analyse_information(ctx: CallContext, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    cache = call_cache(ctx)
    key = "information:" + repr(sorted((k, repr(v)) for k, v in params.items()))
    if key in cache:
        return cache[key]
    priority = list(
        params.get("kind_priority") or ["contact", "date", "number", "place", "name", "situation"]
    )
    out: list[dict[str, Any]] = []
    for j in ctx.indices("callee"):
        solicited, asked_at = _solicited_by(ctx, j, params)
        for sent in split_sentences(ctx.docs[j]):
            if "?" in sent.text and any(t.pos_ in ("VERB", "AUX") for t in sent):
                continue  # the callee's own questions carry no fact
            facts = _facts(ctx, j, sent, params)
            if not facts:
                continue
            kind = next(k for k in priority if k in facts)
            out.append(
                {
                    "utterance": j,
                    "keys": [k for k in span_keys(sent) if not k.startswith("#")],
                    "quote": sent.text.strip(),
                    "kind": kind,
                    "kinds": sorted(facts, key=priority.index),
                    "values": facts,
                    "answered_question": solicited,
                    "question_index": asked_at,
                }
            )
    cache[key] = out
    return out


_KIND_FR = {
    "contact": "coordonnées",
    "date": "date",
    "number": "chiffre",
    "place": "lieu",
    "name": "nom",
    "situation": "situation",
}


@register("information_gathered.v1", lexicon="information")
def detect_information(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """Facts the callee gave (dates, numbers, places, names, contact, situation)."""
    items = analyse_information(ctx, params)
    findings: list[Finding] = []
    for it in items:
        kinds_fr = ", ".join(_KIND_FR[k] for k in it["kinds"])
        how = "en réponse à une question" if it["answered_question"] else "spontanément"
        findings.append(
            Finding(
                detector="information_gathered.v1",
                role="callee",
                score=0.8 if it["answered_question"] else 0.55,
                reason=f"Information donnée par l'appelé {how} ({kinds_fr}).",
                evidence=(ctx.evidence(it["utterance"], it["quote"]),),
                label=f"info:{it['kind']}",
                utterance_index=it["utterance"],
                data={
                    "quote": it["quote"],
                    "kinds": it["kinds"],
                    "values": it["values"],
                    "answered_question": it["answered_question"],
                    "question_index": it["question_index"],
                },
            )
        )
    answered = [it for it in items if it["answered_question"]]
    asked_with_facts = {it["question_index"] for it in answered}
    kinds = sorted({k for it in items for k in it["kinds"]})
    kinds_answered = sorted({k for it in answered for k in it["kinds"]})
    questions = [q for q in analyse_questions(ctx) if q.purpose == "info"]
    unanswered = [q for q in questions if not q.answered]
    n = len(answered)
    score = min(1.0, 0.25 * len(asked_with_facts))
    findings.append(
        Finding(
            detector="information_gathered.v1",
            role="callee",
            score=round(score, 3),
            reason=(
                f"{len(items)} information(s) recueillie(s), dont {n} en réponse aux questions de "
                f"l'agent ({', '.join(_KIND_FR[k] for k in kinds_answered) or 'aucune'})."
            ),
            evidence=tuple(ctx.evidence(it["utterance"], it["quote"]) for it in answered[:6]),
            label="info:summary",
            data={
                "count": len(items),
                "distinct_kinds": kinds,
                "answered_count": n,
                "questions_with_facts": len(asked_with_facts),
                "distinct_kinds_answered": kinds_answered,
                "volunteered_count": len(items) - n,
                "agent_info_questions": len(questions),
                "unanswered_questions": len(unanswered),
            },
        )
    )
    return findings


# --------------------------------------------------------------------------- needs
@register("needs.v1", lexicon="information")
def detect_needs(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """Needs explored by the agent, and needs identified (stated by the callee and taken up)."""
    cfg = params.get("needs", {})
    thr = cfg.get("thresholds", {})
    vthr = float(thr.get("vector_word", 0.7))
    window = int(thr.get("uptake_window", 3))
    explore_lemmas = {fold(w) for w in cfg.get("explore_lemmas", [])}
    questions = analyse_questions(ctx)
    own = callee_own_keys(ctx)
    vocab = ctx.nlp.vocab
    findings: list[Finding] = []
    explored_turns: set[int] = set()
    for q in questions:
        if q.purpose == "social":
            continue
        hit = find_phrases(q.text, cfg.get("explore", []))
        by_lemma = q.is_open and any(k in explore_lemmas for k in q.keys)
        if not hit and not by_lemma:
            continue
        explored_turns.add(q.utterance)
        findings.append(
            Finding(
                detector="needs.v1",
                role="agent",
                score=0.85 if hit else 0.65,
                reason=f"L'agent explore les besoins ou attentes de l'appelé : « {q.text} »",
                evidence=(ctx.evidence(q.utterance, q.text),),
                label="need:explored",
                utterance_index=q.utterance,
                data={"question": q.text, "answered": bool(q.answered), "by_phrase": bool(hit)},
            )
        )
    identified_from: set[int] = set()
    # needs stated by the callee: explicit phrases, or the answer to an exploring question
    for j in ctx.indices("callee"):
        text = ctx.utterances[j].text
        stated = find_phrases(text, cfg.get("statement", []))
        prev = ctx.previous(j, "agent")
        answers_explore = prev is not None and prev in explored_turns and prev == j - 1
        if not stated and not answers_explore:
            continue
        # the callee's own words (not the agent's, so that the agent's sales pitch repeated
        # back is no uptake), plus, when answering an exploring question, the option it
        # picked among those the agent offered (« plutôt par SMS »); numbers aside
        keys = [k for k in own[j] if not k.startswith("#")]
        if answers_explore and prev is not None:
            offered = set(span_keys(ctx.docs[prev]))
            keys += [k for k in span_keys(ctx.docs[j]) if k in offered and k not in keys]
        if not keys:
            continue
        # the agent's uptake in the next agent turns
        uptake = None
        k = j
        for _ in range(window):
            k = ctx.next(k, "agent")
            if k is None:
                break
            a_text = ctx.utterances[k].text
            a_keys = span_keys(ctx.docs[k])
            ov = overlap(keys, a_keys, vocab, vector_threshold=vthr)
            tie = find_phrases(a_text, cfg.get("uptake", []))
            n = len(ov.matched)
            if n >= 2 or (n >= 1 and tie):
                uptake = (k, ov, tie)
                break
        quote = stated[0][2] if stated else text
        if uptake is None:
            label = "need:stated" if answers_explore else "need:unaddressed"
            what = (
                "Besoin exprimé en réponse à la question de l'agent, sans reprise explicite"
                if answers_explore
                else "Besoin ou attente exprimé par l'appelé mais non repris par l'agent"
            )
            findings.append(
                Finding(
                    detector="needs.v1",
                    role="callee",
                    score=0.45 if answers_explore else 0.3,
                    reason=f"{what} : « {text.strip()[:120]} »",
                    evidence=(ctx.evidence(j, text if len(text) < 160 else quote),),
                    label=label,
                    utterance_index=j,
                    data={"statement": quote, "answers_exploration": answers_explore},
                )
            )
            continue
        k, ov, tie = uptake
        identified_from.add(k)
        n = len(ov.matched)
        score = 0.85 if n >= 2 and tie else 0.75 if n >= 2 else 0.6
        if answers_explore:
            score = min(0.95, score + 0.05)
        shown = ", ".join(m[0] for m in ov.matched[:4])
        findings.append(
            Finding(
                detector="needs.v1",
                role="agent",
                score=round(score, 3),
                reason=f"Besoin identifié : exprimé par l'appelé et repris par l'agent ({shown}).",
                evidence=(ctx.evidence(j, text if len(text) < 200 else quote), ctx.evidence(k)),
                label="need:identified",
                utterance_index=k,
                data={
                    "statement_index": j,
                    "statement": quote,
                    "uptake_index": k,
                    "shared": [m[0] for m in ov.matched],
                    "uptake_phrase": tie[0][2] if tie else "",
                    "answers_exploration": answers_explore,
                },
            )
        )
    findings += _restated_needs(ctx, cfg, questions, explored_turns, identified_from)
    return findings


def _restated_needs(
    ctx: CallContext,
    cfg: Mapping[str, Any],
    questions: list[Any],
    explored_turns: set[int],
    identified_from: set[int],
) -> list[Finding]:
    """Needs the agent restates right after exploring them (« donc, avant tout, être
    remboursé vite, c'est noté »): identified even when the callee's answer is lost or
    garbled by the ASR. The restatement needs a marker and words of its own (not the
    question's), and is addressed to the callee or follows the callee's reply."""
    thr = cfg.get("thresholds", {})
    min_new = int(thr.get("restatement_min_keys", 2))
    out: list[Finding] = []
    for q_index in sorted(explored_turns):
        k = ctx.next(q_index, "agent")
        if k is None or k in identified_from or k - q_index > 2:
            continue
        text = ctx.utterances[k].text
        marker = find_phrases(text, cfg.get("restatement", []))
        if not marker:
            continue
        asked = {key for q in questions if q.utterance == q_index for key in q.keys}
        asked |= set(span_keys(ctx.docs[q_index]))
        # the restatement: the sentence(s) around the marker, not the agent's next question
        sents = [
            s_
            for s_ in split_sentences(ctx.docs[k])
            if "?" not in s_.text and any(s_.start_char <= a < s_.end_char for a, _, _ in marker)
        ]
        new = [
            key
            for s_ in sents
            for key in span_keys(s_)
            if not key.startswith("#") and key not in asked
        ]
        new = list(dict.fromkeys(new))
        if len(new) < min_new:
            continue
        replied = any(ctx.utterances[j].role == "callee" for j in range(q_index + 1, k))
        score = float(thr.get("restatement_score", 0.6)) - (0.0 if replied else 0.05)
        quote = " ".join(s_.text.strip() for s_ in sents)
        out.append(
            Finding(
                detector="needs.v1",
                role="agent",
                score=round(score, 3),
                reason=f"Besoin identifié : l'agent reformule l'attente de l'appelé (« {marker[0][2]} ») : « {quote[:160]} »",
                evidence=(ctx.evidence(q_index), ctx.evidence(k, quote)),
                label="need:identified",
                utterance_index=k,
                data={
                    "statement_index": None,
                    "statement": "",
                    "uptake_index": k,
                    "shared": new[:6],
                    "uptake_phrase": marker[0][2],
                    "answers_exploration": True,
                    "by_restatement": True,
                    "callee_replied": replied,
                },
            )
        )
        identified_from.add(k)
    return out
