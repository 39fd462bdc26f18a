"""Closing of the call: the action proposed (C10), the agreement locked in (C11), the
leave-taking (C11) and an abrupt end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..nlp import Match
from ..types import Finding
from .base import CallContext, register
from .opening import classify_reply, find, finding, is_question, quote_span, sentence_at

_KIND_FR = {
    "rendez_vous": "rendez-vous",
    "commande": "commande",
    "mise_a_jour": "mise à jour des informations",
    "rappel": "rappel",
}
_TERM_FR = {
    "day": "jour",
    "date": "date",
    "time": "heure",
    "price": "prix",
    "address": "adresse",
    "product": "produit",
    "object": "information",
}


def extract_terms(
    ctx: CallContext, index: int, p: Mapping[str, Any], lists: Mapping[str, Sequence[str]]
) -> list[dict[str, str]]:
    """Concrete terms in one utterance: day, date, time, price, address, product, and the
    information to update ("votre adresse mail"). Numbers may be digits or words."""
    doc = ctx.docs[index]
    found: list[tuple[int, dict[str, str]]] = []
    taken: list[tuple[int, int]] = []
    matches = find(ctx, doc, p["terms"], lists)
    priority = {k: n for n, k in enumerate(p.get("term_priority", ()))}
    for m in sorted(
        matches, key=lambda m: (-(m.end - m.start), priority.get(m.label, 99), m.start)
    ):
        if any(a < m.end and m.start < b for a, b in taken):
            continue
        taken.append((m.start, m.end))
        found.append((m.start, {"kind": m.label, "text": m.text}))
    for ent in doc.ents:
        if ent.label_ not in {"MISC", "ORG"} or ent.root.pos_ not in {"PROPN", "NOUN", "X"}:
            continue
        if not any(a < ent.end and ent.start < b for a, b in taken):
            taken.append((ent.start, ent.end))
            found.append((ent.start, {"kind": "product", "text": ent.text}))
    return [t for _, t in sorted(found, key=lambda x: x[0])]


def _excluded(doc: Any, m: Match, ctx: CallContext, rules: Any, lists: Any) -> bool:
    """A match just after a 'past' or 'reminder' marker ("vous aviez pris rendez-vous",
    "je vous rappelle que") is no proposal."""
    sent = sentence_at(doc, m.start)
    for x in find(ctx, doc, rules, lists):
        if (
            x.label == "past"
            and sent.start <= x.start
            and x.end <= m.start
            and m.start - x.end <= 4
        ):
            return True
        if x.label == "reminder" and x.start <= m.start < x.end:
            return True
    return False


def _reported(span: Any) -> bool:
    """A verb in the imperfect or the simple past: the agent reports, does not propose."""
    for t in span:
        if t.pos_ not in {"VERB", "AUX"}:
            continue
        tense = set(t.morph.get("Tense"))
        if "Imp" in tense or ("Past" in tense and "Fin" in t.morph.get("VerbForm")):
            return True
    return False


def _proposals(
    ctx: CallContext, p: Mapping[str, Any], lists: Mapping[str, Sequence[str]]
) -> dict[str, list[tuple[int, Match, bool]]]:
    """Agent proposals by kind: [(utterance index, match, is a commitment), ...]."""
    agent = ctx.indices("agent")
    skip = set(agent[: int(p["skip_first_agent_turns"])])
    by_kind: dict[str, list[tuple[int, Match, bool]]] = {}
    for i in agent:
        if i in skip:
            continue
        doc = ctx.docs[i]
        matches = find(ctx, doc, p["rules"], lists)
        if not matches:
            continue
        markers = find(ctx, doc, p["proposal_rules"], lists)
        for m in matches:
            kind, _, how = m.label.partition(":")
            if _excluded(doc, m, ctx, p["exclude_rules"], lists):
                continue
            if _reported(doc[m.start : m.end]):
                continue  # "personne ne vous rappelait": a report, not a proposal
            # a commitment ("je vous rappelle jeudi"), or an action word inside a proposal
            # ("je vous propose", "ça vous conviendrait ?"); a bare question is not enough
            # ("vous pensez acheter une maison ?")
            sent = sentence_at(doc, m.start)
            proposed = how == "commit" or any(sent.start <= x.start < sent.end for x in markers)
            if proposed:
                by_kind.setdefault(kind, []).append((i, m, how == "commit"))
    return by_kind


@register("action_proposal.v1", lexicon="closing")
def action_proposal(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """An explicit proposal of rendez-vous, commande, mise à jour or rappel, with its terms
    (date, day, time, product, what is updated, when to call back) (C10).

    One finding per kind of action; ``data.terms`` lists the terms found in the proposal
    and the exchange that follows it; ``data.has_terms`` says whether the terms that this
    kind of action needs are there.
    """
    p = params["action"]
    lists = params.get("lists", {})
    by_kind = _proposals(ctx, p, lists)
    out: list[Finding] = []
    needs: Mapping[str, Sequence[str]] = p["required_terms"]
    for kind, hits in by_kind.items():
        terms: list[dict[str, str]] = []
        where: list[int] = []
        for i, _, _ in hits:
            for j in range(i, min(len(ctx.utterances), i + 1 + int(p["terms_window"]))):
                for t in extract_terms(ctx, j, p, lists):
                    if t["kind"] in needs.get(kind, ()) and t not in terms:
                        terms.append(t)
                        if j not in where:
                            where.append(j)
        i, m, _ = hits[0]
        has_terms = bool(terms)
        score = float(p["score_with_terms"] if has_terms else p["score_without_terms"])
        quote = quote_span(ctx.docs[i], m.start, m.end, int(p["quote_tokens"]))
        quotes = [(i, quote)]
        for j in where[:2]:
            if j != i:
                first = next(t for t in terms if _in(ctx, j, t["text"]))
                k = ctx.docs[j].text.find(first["text"])
                span = ctx.docs[j].char_span(k, k + len(first["text"]), alignment_mode="expand")
                if span is not None:
                    quotes.append((j, quote_span(ctx.docs[j], span.start, span.end, 20)))
        listed = ", ".join(t["text"] for t in terms[:6])
        if has_terms:
            reason = f"Proposition de {_KIND_FR[kind]} : « {quote} » ; modalités : {listed}."
        else:
            wanted = "/".join(_TERM_FR[k] for k in needs.get(kind, ()))
            reason = (
                f"Proposition de {_KIND_FR[kind]} sans modalités précises ({wanted}) : « {quote} »."
            )
        out.append(
            finding(
                "action_proposal.v1",
                ctx,
                i,
                score,
                reason,
                quotes,
                label=f"action:{kind}",
                data={
                    "kind": kind,
                    "terms": [t["text"] for t in terms],
                    "term_kinds": sorted({t["kind"] for t in terms}),
                    "has_terms": has_terms,
                    "proposals": len(hits),
                    "marker": m.text,
                },
            )
        )
    return out


def _in(ctx: CallContext, index: int, text: str) -> bool:
    return text in ctx.docs[index].text


@register("agreement.v1", lexicon="closing")
def agreement(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """The agreement is locked in: the agent recaps or explicitly confirms the action and
    the callee says yes (C11). ``data.recap``, ``data.callee_yes`` (true/false/null)."""
    p = params["agreement"]
    lists = params.get("lists", {})
    term_params = params["action"]
    proposals = _proposals(ctx, term_params, lists)
    first_proposal = min((i for hits in proposals.values() for i, _, _ in hits), default=None)
    candidates: list[tuple[float, int, Finding]] = []
    for i in ctx.indices("agent"):
        doc = ctx.docs[i]
        matches = find(ctx, doc, p["rules"], lists)
        if not matches:
            continue
        if first_proposal is None or i < first_proposal:
            continue  # nothing proposed yet: a recap here restates information (C05)
        terms = extract_terms(ctx, i, term_params, lists)
        terms = [t for t in terms if t["kind"] in set(p["recap_term_kinds"])]
        strong = [m for m in matches if m.label == "recap"]
        confirm = [m for m in matches if m.label == "confirm"]
        weak = [m for m in matches if m.label == "weak"]
        context_terms = terms
        if confirm and not terms:
            for j in range(max(0, i - 3), i):
                context_terms = context_terms or [
                    t
                    for t in extract_terms(ctx, j, term_params, lists)
                    if t["kind"] in set(p["recap_term_kinds"])
                ]
        if strong:
            m, strength = strong[0], "recap"
        elif confirm and context_terms:
            m, strength = confirm[0], "confirm"
        elif weak and len(terms) >= int(p["weak_min_terms"]):
            m, strength = weak[0], "weak"
        else:
            continue
        after = ctx.next(i, "callee")
        reply = classify_reply(ctx, after, p["reply"], lists)
        reply_at = after
        timing = "after"
        if reply.kind == "unknown":
            before = ctx.previous(i, "callee")
            earlier = classify_reply(ctx, before, p["reply"], lists)
            if earlier.kind != "unknown" and not is_question(sentence_at(doc, m.start)):
                reply, reply_at, timing = earlier, before, "before"
        callee_yes = {"yes": True, "no": False, "reluctant": False}.get(reply.kind)
        base = float(p["weights"][strength])
        if callee_yes:
            score = base - (0.1 if timing == "before" else 0.0)
        else:
            score = base * float(p["no_yes_factor"])
        quote = quote_span(doc, m.start, m.end, int(p["quote_tokens"]))
        quotes = [(i, quote)]
        if reply_at is not None and reply.quote:
            quotes.append((reply_at, reply.quote))
        listed = ", ".join(t["text"] for t in terms[:5])
        what = {"recap": "Récapitulatif", "confirm": "Confirmation", "weak": "Reprise"}[strength]
        answer = {
            True: "accord explicite de l'appelé",
            False: "l'appelé n'approuve pas clairement"
            if reply.kind == "reluctant"
            else "l'appelé refuse",
            None: "pas d'accord explicite de l'appelé",
        }[callee_yes]
        reason = f"{what} de l'agent (« {quote} »{' ; ' + listed if listed else ''}) ; {answer}."
        if reply.quote and callee_yes is not None:
            reason = reason[:-1] + f" : « {reply.quote} »."
        candidates.append(
            (
                score,
                i,
                finding(
                    "agreement.v1",
                    ctx,
                    i,
                    score,
                    reason,
                    quotes,
                    label="agreement:confirmed" if callee_yes else "agreement:unconfirmed",
                    data={
                        "recap": True,
                        "recap_kind": strength,
                        "callee_yes": callee_yes,
                        "callee_reply": reply.kind,
                        "reply_timing": timing if reply_at is not None else None,
                        "terms": [t["text"] for t in terms],
                        "reply_index": reply_at,
                    },
                ),
            )
        )
    if not candidates:
        return []
    return [max(candidates, key=lambda c: (c[0], c[1]))[2]]


def _closing_block(ctx: CallContext, p: Mapping[str, Any], lists: Any) -> list[int]:
    """The agent's last turn, with the turn before it when that one already says goodbye
    ("Merci, au revoir." — "Au revoir." — "Au revoir, bonne journée.")."""
    agent = ctx.indices("agent")
    if not agent:
        return []
    block = [agent[-1]]
    if len(agent) > 1:
        prev = agent[-2]
        if any(m.label == "goodbye" for m in find(ctx, ctx.docs[prev], p["rules"], lists)):
            block.insert(0, prev)
    return block


@register("leave_taking.v1", lexicon="closing")
def leave_taking(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """The agent's leave-taking at the end: thanks + goodbye formula (C11).
    Label ``leave_taking:complete`` (both) or ``leave_taking:partial`` (one of them)."""
    p = params["leave_taking"]
    lists = params.get("lists", {})
    block = _closing_block(ctx, p, lists)
    if not block:
        return []
    last_index = len(ctx.utterances) - 1
    if last_index - block[-1] > int(p["max_utterances_from_end"]):
        return []
    found: dict[str, tuple[int, Match]] = {}
    for i in block:
        for m in find(ctx, ctx.docs[i], p["rules"], lists):
            found.setdefault(m.label, (i, m))
    if not found:
        return []
    quotes = []
    for label in ("thanks", "goodbye"):
        if label in found:
            i, m = found[label]
            q = (i, quote_span(ctx.docs[i], m.start, m.end, 15))
            if q not in quotes:
                quotes.append(q)
    complete = "thanks" in found and "goodbye" in found
    said = " … ".join(q for _, q in quotes)
    if complete:
        reason = f"Prise de congé complète (remerciement et formule de congé) : « {said} »."
    elif "goodbye" in found:
        reason = f"Prise de congé sans remerciement : « {said} »."
    else:
        reason = f"Remerciement sans formule de congé : « {said} »."
    first = min(i for i, _ in found.values())
    return [
        finding(
            "leave_taking.v1",
            ctx,
            first,
            float(p["score_complete"] if complete else p["score_partial"]),
            reason,
            quotes,
            label="leave_taking:complete" if complete else "leave_taking:partial",
            data={"thanks": "thanks" in found, "goodbye": "goodbye" in found},
        )
    ]


@register("abrupt_end.v1", lexicon="closing")
def abrupt_end(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """The call ends without the agent's goodbye, or on a callee turn left unanswered (the
    agent hangs up on the callee)."""
    p = params["leave_taking"]
    lists = params.get("lists", {})
    block = _closing_block(ctx, p, lists)
    if not block:
        return []
    labels = {m.label for i in block for m in find(ctx, ctx.docs[i], p["rules"], lists)}
    last = len(ctx.utterances) - 1
    last_u = ctx.utterances[last]
    if "goodbye" in labels:
        return []
    quotes = [(block[-1], quote_span(ctx.docs[block[-1]], 0, len(ctx.docs[block[-1]]), 20))]
    hung_up = last_u.role == "callee" and (
        is_question(ctx.docs[last]) or not find(ctx, ctx.docs[last], p["rules"], lists)
    )
    if hung_up:
        quotes.append((last, quote_span(ctx.docs[last], 0, len(ctx.docs[last]), 20)))
        reason = "Fin d'appel abrupte : l'appelé parle en dernier sans conclusion de l'agent."
        label, score = "abrupt_end:hung_up_on_callee", float(p["score_hung_up"])
    else:
        reason = (
            "Fin d'appel sans formule de congé de l'agent (ni « au revoir » ni « bonne journée »)."
        )
        if last_u.role == "agent":
            reason = "L'agent termine l'appel sans formule de congé (ni « au revoir » ni « bonne journée »)."
        label, score = "abrupt_end:no_leave_taking", float(p["score_no_goodbye"])
        if "thanks" in labels:
            score -= 0.2
    return [
        finding(
            "abrupt_end.v1",
            ctx,
            block[-1],
            score,
            reason,
            quotes,
            label=label,
            role="agent",
            data={"thanks": "thanks" in labels, "last_speaker": last_u.role},
        )
    ]
