"""Positive communication and courtesy (whole call): the agent's courtesy markers, and the
phrases and attitudes to avoid, each with its counter-productive effect (support for C14)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..types import Finding
from .base import CallContext, register
from .opening import Lex, find, finding, has_times, name_after, quote_span

_TU_FORMS = {"tu", "t'", "t", "t’", "te", "toi", "ton", "ta", "tes", "tien", "tienne"}
_VOUS_FORMS = {"vous", "-vous", "votre", "vos", "vôtre"}


def _tu_tokens(doc: Any) -> list[Any]:
    """Second-person singular pronouns and possessives (tutoiement)."""
    out = []
    for t in doc:
        low = t.lower_
        if low not in _TU_FORMS or t.pos_ not in {"PRON", "DET"}:
            continue
        nxt = doc[t.i + 1] if t.i + 1 < len(doc) else None
        if low in {"t", "t'", "t’"} and (nxt is None or nxt.pos_ not in {"VERB", "AUX", "PRON"}):
            continue
        out.append(t)
    return out


def _vous_count(doc: Any) -> int:
    return sum(1 for t in doc if t.lower_ in _VOUS_FORMS)


def _occurrence_quotes(
    ctx: CallContext, hits: Sequence[tuple[int, int, int]], limit: int, tokens: int = 15
) -> list[tuple[int, str]]:
    quotes: list[tuple[int, str]] = []
    for i, s, e in hits:
        q = (i, quote_span(ctx.docs[i], s, e, tokens))
        if q not in quotes:
            quotes.append(q)
        if len(quotes) >= limit:
            break
    return quotes


@register("courtesy.v1", lexicon="courtesy")
def courtesy(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """The agent's courtesy markers (bonjour, madame/monsieur + name, merci, s'il vous
    plaît, je vous en prie, excusez-moi) and whether the vouvoiement is kept: one finding
    per kind of marker, with its count and up to a few quoted occurrences."""
    p = params["courtesy"]
    lists = params.get("lists", {})
    lex = Lex.of(params)
    limit = int(p["max_evidence"])
    hits: dict[str, list[tuple[int, int, int]]] = {}
    vous = 0
    tu: list[tuple[int, int, int]] = []
    for i in ctx.indices("agent"):
        doc = ctx.docs[i]
        for m in find(ctx, doc, p["rules"], lists):
            hits.setdefault(m.label, []).append((i, m.start, m.end))
        for tok in doc:
            if lex.is_title(tok) and (name := name_after(doc, tok.i + 1, lex)):
                hits.setdefault("title_name", []).append((i, tok.i, name[-1].i + 1))
        vous += _vous_count(doc)
        tu += [(i, t.i, t.i + 1) for t in _tu_tokens(doc)]
    out: list[Finding] = []
    names: Mapping[str, str] = p["names"]
    for label in [*p["rules"], "title_name"]:
        found = hits.get(label)
        if not found:
            continue
        quotes = _occurrence_quotes(ctx, found, limit)
        first = found[0][0]
        said = ctx.docs[first][found[0][1] : found[0][2]].text
        out.append(
            finding(
                "courtesy.v1",
                ctx,
                first,
                float(p["score"]),
                f"Marque de courtoisie — {names.get(label, label)} : « {said} » ({len(found)}×).",
                quotes,
                label=f"courtesy:{label}",
                data={"kind": label, "count": len(found)},
            )
        )
    if vous or tu:
        kept = not tu
        share = vous / (vous + len(tu))
        if kept:
            first = next(i for i in ctx.indices("agent") if _vous_count(ctx.docs[i]))
            reason = f"Vouvoiement gardé tout au long de l'appel ({vous} « vous »)."
            quotes = [(first, quote_span(ctx.docs[first], 0, len(ctx.docs[first]), 12))]
        else:
            first = tu[0][0]
            quotes = _occurrence_quotes(ctx, tu, limit)
            reason = (
                f"Tutoiement de l'appelé ({len(tu)}×), vouvoiement non gardé : « {quotes[0][1]} »."
            )
        out.append(
            finding(
                "courtesy.v1",
                ctx,
                first,
                round(share, 3),
                reason,
                quotes,
                label="courtesy:vouvoiement" if kept else "courtesy:tutoiement",
                data={"kind": "vouvoiement", "vous": vous, "tu": len(tu), "kept": kept},
            )
        )
    return out


def _agent_minutes(ctx: CallContext) -> float | None:
    if not has_times(ctx):
        return None
    total = sum(max(0.0, u.end - u.start) for u in ctx.utterances if u.role == "agent")
    return total / 60.0 if total > 0 else None


def _phrase_findings(ctx: CallContext, p: Mapping[str, Any], lists: Any) -> list[Finding]:
    """One finding per phrase entry the agent used (all entries matched in one pass)."""
    limit = int(p["max_evidence"])
    rules: dict[str, list[Any]] = {}
    entries: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for category, items in p["categories"].items():
        for n, entry in enumerate(items):
            key = f"{category}#{n}"
            entries[key] = (category, entry)
            rules[key] = list(entry["patterns"])
            if entry.get("unless"):
                rules[f"unless#{key}"] = list(entry["unless"])
    found: dict[str, list[tuple[int, int, int]]] = {}
    for i in ctx.indices("agent"):
        doc = ctx.docs[i]
        matches = find(ctx, doc, rules, lists)
        unless = [m for m in matches if m.label.startswith("unless#")]
        for m in matches:
            if m.label.startswith("unless#"):
                continue
            if any(
                u.label == f"unless#{m.label}" and u.start < m.end and m.start < u.end
                for u in unless
            ):
                continue
            hits = found.setdefault(m.label, [])
            if hits and hits[-1][0] == i and hits[-1][2] > m.start:
                continue  # overlapping alternatives of one phrase
            hits.append((i, m.start, m.end))
    out: list[Finding] = []
    for key, (category, entry) in entries.items():
        hits = found.get(key, [])
        if hits and len(hits) >= int(entry.get("min_count", 1)):
            out.append(_avoid_finding(ctx, category, entry, hits, limit))
    return out


def _avoid_finding(
    ctx: CallContext,
    category: str,
    entry: Mapping[str, Any],
    found: Sequence[tuple[int, int, int]],
    limit: int,
) -> Finding:
    quotes = _occurrence_quotes(ctx, found, limit)
    i, s, e = found[0]
    said = ctx.docs[i][s:e].text
    times = f" ({len(found)}×)" if len(found) > 1 else ""
    return finding(
        "phrases_to_avoid.v1",
        ctx,
        i,
        float(entry.get("score", 0.9)),
        f"« {said} »{times} : {entry['effect']}",
        quotes,
        label=category,
        data={
            "phrase": entry["phrase"],
            "category": category,
            "count": len(found),
            "effect": entry["effect"],
        },
        role="agent",
    )


@register("phrases_to_avoid.v1", lexicon="courtesy")
def phrases_to_avoid(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """Phrases and attitudes to avoid used by the agent (negative or blocking wording,
    imposing, uncertainty, familiarity, passing the buck, filler overuse, interrupting,
    long dead air). Label = category; ``data.effect`` = its counter-productive effect."""
    p = params["phrases_to_avoid"]
    lists = params.get("lists", {})
    out = _phrase_findings(ctx, p, lists)
    effects: Mapping[str, Mapping[str, Any]] = p["behaviours"]
    limit = int(p["max_evidence"])
    agent = ctx.indices("agent")

    # familiarity: tutoiement of the callee
    tu = [(i, t.i, t.i + 1) for i in agent for t in _tu_tokens(ctx.docs[i])]
    if len(tu) >= int(effects["tutoiement"]["min_count"]):
        out.append(_avoid_finding(ctx, "familiarity", effects["tutoiement"], tu, limit))

    # filler overuse: a rate from the audio features, else counted in the text
    f = effects["fillers"]
    fillers = [
        (i, m.start, m.end) for i in agent for m in find(ctx, ctx.docs[i], f["rules"], lists)
    ]
    words = sum(len(ctx.docs[i]) for i in agent)
    minutes = _agent_minutes(ctx)
    rate = ctx.features.get("agent.fillers_per_min")
    if rate is None and minutes:
        rate = len(fillers) / minutes
    per_100 = 100.0 * len(fillers) / words if words else 0.0
    over = (rate is not None and float(rate) >= float(f["max_per_min"])) or (
        rate is None and per_100 >= float(f["max_per_100_words"])
    )
    if over and fillers:
        counts: dict[str, int] = {}
        for i, s, e in fillers:
            w = ctx.docs[i][s:e].text.lower()
            counts[w] = counts.get(w, 0) + 1
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:4]
        listed = ", ".join(f"« {w} » ×{n}" for w, n in top)
        busiest = sorted({i for i, _, _ in fillers}, key=lambda i: -sum(x[0] == i for x in fillers))
        quotes = [(i, quote_span(ctx.docs[i], 0, len(ctx.docs[i]), 20)) for i in busiest[:limit]]
        rate_txt = (
            f"{float(rate):.1f} par minute" if rate is not None else f"{per_100:.1f} pour 100 mots"
        ).replace(".", ",")
        out.append(
            finding(
                "phrases_to_avoid.v1",
                ctx,
                busiest[0],
                float(f["score"]),
                f"Mots parasites trop fréquents ({rate_txt} : {listed}) : {f['effect']}",
                quotes,
                label="filler_overuse",
                role="agent",
                data={
                    "phrase": "mots parasites",
                    "category": "filler_overuse",
                    "count": len(fillers),
                    "per_min": round(float(rate), 2) if rate is not None else None,
                    "per_100_words": round(per_100, 2),
                    "fillers": dict(top),
                    "effect": f["effect"],
                },
            )
        )

    # interrupting the callee: the features' count, else overlaps between turns
    it = effects["interruption"]
    cuts: list[int] = []
    if has_times(ctx):
        for i in agent:
            prev = i - 1
            if prev < 0 or ctx.utterances[prev].role != "callee":
                continue
            overlap = ctx.utterances[prev].end - ctx.utterances[i].start
            if overlap >= float(it["min_overlap_s"]) and len(ctx.docs[i]) > int(
                it["backchannel_max_tokens"]
            ):
                cuts.append(i)
    n_cuts = ctx.features.get("agent.interruptions")
    n = int(n_cuts) if n_cuts is not None else len(cuts)
    if n >= int(it["min_count"]):
        quotes = [(i, quote_span(ctx.docs[i], 0, len(ctx.docs[i]), 12)) for i in cuts[:limit]]
        at = cuts[0] if cuts else agent[0] if agent else 0
        out.append(
            finding(
                "phrases_to_avoid.v1",
                ctx,
                at,
                float(it["score"]),
                f"L'agent coupe la parole à l'appelé ({n}×) : {it['effect']}",
                quotes,
                label="interruption",
                role="agent",
                default_evidence=False,
                data={
                    "phrase": "couper la parole",
                    "category": "interruption",
                    "count": n,
                    "effect": it["effect"],
                },
            )
        )

    # long dead air before the agent speaks
    da = effects["dead_air"]
    longest = ctx.features.get("call.longest_silence_s")
    gap_at, gap = None, 0.0
    if has_times(ctx):
        for i in agent:
            if i == 0:
                continue
            g = ctx.utterances[i].start - ctx.utterances[i - 1].end
            if g > gap:
                gap_at, gap = i, g
    value = float(longest) if longest is not None else gap
    if value >= float(da["min_seconds"]):
        quotes = []
        if gap_at is not None:
            quotes = [(gap_at, quote_span(ctx.docs[gap_at], 0, len(ctx.docs[gap_at]), 10))]
        at = gap_at if gap_at is not None else (agent[0] if agent else 0)
        out.append(
            finding(
                "phrases_to_avoid.v1",
                ctx,
                at,
                float(da["score"]),
                f"Silence de {value:.1f} s".replace(".", ",") + f" : {da['effect']}",
                quotes,
                label="dead_air",
                role="agent",
                default_evidence=False,
                data={
                    "phrase": "blanc prolongé",
                    "category": "dead_air",
                    "seconds": round(value, 2),
                    "effect": da["effect"],
                },
            )
        )
    return out
