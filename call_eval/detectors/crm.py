"""CRM note check (C12): is the note the candidate typed after the call consistent with
the call? Facts are extracted from both and normalised (numbers in words or digits,
« 14h » / « quatorze heures » / « 14 h 30 », dates « 23/11 » / « vingt-trois novembre »,
weekdays, money amounts), then compared: the outcome, the agreed action and its terms,
the information the callee gave. Contradictions are quoted from the note and the call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..semantic import (
    DateMention,
    TimeMention,
    find_phrases,
    fold,
    has_phrase,
    match_form,
    parse_amounts,
    parse_dates,
    parse_numbers,
    parse_times,
    parse_weekdays,
    span_keys,
)
from ..types import Finding
from .base import CallContext, load_lexicon, register


@dataclass
class Facts:
    """Normalised facts of one text (a call turn or the note)."""

    weekdays: list[tuple[str, str]] = field(default_factory=list)  # (day, quote)
    dates: list[DateMention] = field(default_factory=list)
    times: list[TimeMention] = field(default_factory=list)
    amounts: list[tuple[float, str]] = field(default_factory=list)
    numbers: list[tuple[float, str]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def extract_facts(text: str, params: Mapping[str, Any]) -> Facts:
    """Weekdays, dates, clock times, amounts, other numbers and action kinds of a text."""
    nums = parse_numbers(text)
    f = Facts()
    f.weekdays = [(w.day, w.text) for w in parse_weekdays(text)]
    f.dates = parse_dates(text, nums)
    f.times = parse_times(text, nums)
    amounts = parse_amounts(text, nums)
    f.amounts = [(a[0], a[3]) for a in amounts]
    used = [(t.start, t.end) for t in f.times] + [(d.start, d.end) for d in f.dates]
    used += [(a[1], a[2]) for a in amounts]
    for n in nums:
        if n.weak or any(a <= n.start < b for a, b in used):
            continue
        f.numbers.append((n.value, n.text))
    for kind, phrases in (params.get("actions") or {}).items():
        if has_phrase(text, phrases):
            f.actions.append(kind)
    return f


def _same_time(a: TimeMention, b: TimeMention, modulo12: bool) -> bool:
    if a.minute != b.minute:
        return False
    if a.hour == b.hour:
        return True
    return modulo12 and a.hour % 12 == b.hour % 12


def _same_date(a: DateMention, b: DateMention) -> bool:
    if a.day and b.day and a.day != b.day:
        return False
    if a.month and b.month and a.month != b.month:
        return False
    return bool((a.day and b.day) or (a.month and b.month and not (a.day or b.day)))


def _sentence_at(text: str, pos: int) -> str:
    """The sentence (or clause) of ``text`` around char ``pos``, for quoting."""
    starts = [m.end() for m in re.finditer(r"[.!?;]\s*", text[:pos])]
    s = starts[-1] if starts else 0
    m = re.search(r"[.!?;]", text[pos:])
    e = pos + m.end() if m else len(text)
    return text[s:e].strip()


@dataclass
class _CallView:
    agreed_index: int | None
    agreed: Facts
    all_weekdays: set[str]
    all_dates: list[DateMention]
    all_times: list[TimeMention]
    all_amounts: list[float]
    all_numbers: list[float]
    actions: list[str]
    outcome: str  # accepted | refused | unclear
    outcome_quote: tuple[int, str] | None
    interest: bool
    disinterest_quote: tuple[int, str] | None


def _call_view(ctx: CallContext, params: Mapping[str, Any]) -> _CallView:
    facts = [extract_facts(u.text, params) for u in ctx.utterances]
    agents = ctx.indices("agent")
    markers = params.get("proposal_markers", [])

    def has_terms(f: Facts) -> bool:
        return bool(f.weekdays or f.dates or f.times or f.amounts)

    anchor = None
    for i in reversed(agents):
        if has_terms(facts[i]) and has_phrase(ctx.utterances[i].text, markers):
            anchor = i
            break
    if anchor is None:
        for i in reversed(agents):
            if has_terms(facts[i]):
                anchor = i
                break
    agreed = facts[anchor] if anchor is not None else Facts()
    actions: list[str] = []
    for i in agents[-6:]:
        for a in facts[i].actions:
            if a not in actions:
                actions.append(a)
    # outcome: the callee's answers after the last proposal
    outcome, outcome_quote = "unclear", None
    start = anchor if anchor is not None else (agents[-3] if len(agents) >= 3 else 0)
    for j in ctx.indices("callee"):
        if j <= start:
            continue
        text = ctx.utterances[j].text
        ref = find_phrases(text, params.get("callee_refuse", []))
        acc = find_phrases(text, params.get("callee_accept", []))
        if ref:
            outcome, outcome_quote = "refused", (j, ref[0][2])
        elif acc:
            outcome, outcome_quote = "accepted", (j, acc[0][2])
    interest = False
    disinterest = None
    for j in ctx.indices("callee"):
        text = ctx.utterances[j].text
        ref = find_phrases(text, params.get("callee_refuse", []))
        if ref:
            disinterest = (j, _sentence_at(text, ref[0][0]))
            continue
        if has_phrase(text, params.get("callee_interest", [])):
            interest = True
    return _CallView(
        agreed_index=anchor,
        agreed=agreed,
        all_weekdays={d for f in facts for d, _ in f.weekdays},
        all_dates=[d for f in facts for d in f.dates],
        all_times=[t for f in facts for t in f.times],
        all_amounts=[a for f in facts for a, _ in f.amounts],
        all_numbers=[n for f in facts for n, _ in f.numbers]
        + [a for f in facts for a, _ in f.amounts]
        + [float(d.day) for f in facts for d in f.dates if d.day]
        + [float(t.hour) for f in facts for t in f.times],
        actions=actions,
        outcome=outcome,
        outcome_quote=outcome_quote,
        interest=interest,
        disinterest_quote=disinterest,
    )


def _negated_nouns(note: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(noun, quote) for « sans engagement », « pas de frais », « aucun surcoût »…"""
    out = []
    negs = "|".join(re.escape(fold(n)) for n in params.get("negations", []))
    form = match_form(note)[0]
    for m in re.finditer(rf"\b(?:{negs})\s+(?:le |la |les |l |d |de )?([a-z]{{4,}})", form):
        out.append((m.group(1), m.group(0)))
    return out


def _noun_in_call_positive(
    ctx: CallContext, noun: str, params: Mapping[str, Any]
) -> tuple[int, str] | None:
    """A call mention of ``noun`` not negated, while the call never negates it."""
    negs = {fold(n) for n in params.get("negations", [])} | {"pas", "aucun", "aucune", "sans"}
    positive = None
    for i, u in enumerate(ctx.utterances):
        words = match_form(u.text)[0].split()
        for k, w in enumerate(words):
            if not (w == noun or (len(noun) > 5 and w.startswith(noun[:-1]))):
                continue
            before = set(words[max(0, k - 3) : k])
            if before & negs:
                return None  # the call itself says « sans engagement »
            if positive is None:
                positive = (i, _sentence_at(u.text, u.text.lower().find(noun[:4])))
    return positive


def check_note(ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
    """Compare the CRM note with the call: found, missing, contradictions (with quotes)."""
    note = ctx.crm_note or ""
    thr = params.get("thresholds", {})
    mod12 = bool(thr.get("hour_modulo_12", True))
    view = _call_view(ctx, params)
    nf = extract_facts(note, params)
    found: list[str] = []
    missing: list[str] = []
    contradictions: list[dict[str, Any]] = []

    def call_quote(i: int | None, needle: str | None = None) -> dict[str, Any]:
        if i is None:
            return {"call_quote": "", "call_start": None, "call_end": None, "call_index": None}
        u = ctx.utterances[i]
        q = u.text
        if needle:
            pos = fold(u.text).find(fold(needle))
            if pos >= 0:
                q = _sentence_at(u.text, pos)
        ev = ctx.evidence(i, q)
        return {"call_quote": q, "call_start": ev.start, "call_end": ev.end, "call_index": i}

    def contradict(kind: str, note_quote: str, i: int | None, needle: str | None, why: str) -> None:
        entry = {"kind": kind, "note_quote": note_quote, "why": why}
        entry.update(call_quote(i, needle))
        contradictions.append(entry)

    agreed = view.agreed
    ai = view.agreed_index
    # --- agreed terms: recorded? contradicted?
    for day, _q in agreed.weekdays:
        if any(d == day for d, _ in nf.weekdays):
            found.append(f"jour : {day}")
        else:
            missing.append(f"jour convenu ({day})")
    for d in agreed.dates:
        if any(_same_date(d, n) for n in nf.dates):
            found.append(f"date : {d.value}")
        else:
            missing.append(f"date convenue ({d.text.strip()})")
    for t in agreed.times:
        if any(_same_time(t, n, mod12) for n in nf.times):
            found.append(f"heure : {t.value}")
        else:
            missing.append(f"heure convenue ({t.text.strip()})")
    for a, q in agreed.amounts:
        if any(abs(a - b) < 0.01 for b, _ in nf.amounts) or any(
            abs(a - b) < 0.01 for b, _ in nf.numbers
        ):
            found.append(f"montant : {a:g} €")
        else:
            missing.append(f"montant ({q.strip()})")
    for day, _q in nf.weekdays:
        if day not in view.all_weekdays and (agreed.weekdays or view.all_weekdays):
            ref = agreed.weekdays[0][1] if agreed.weekdays else None
            contradict(
                "jour",
                _sentence_at(note, note.lower().find(day)),
                ai,
                ref,
                f"la note indique « {day} », jour jamais cité dans l'appel",
            )
    for d in nf.dates:
        if not any(_same_date(d, c) for c in view.all_dates):
            # a bare day number (« jeudi 14 ») may match a day said alone (« le quatorze »)
            if d.month is None and float(d.day or 0) in view.all_numbers:
                continue
            if view.all_dates or agreed.weekdays:
                ref = agreed.dates[0].text if agreed.dates else None
                contradict(
                    "date",
                    _sentence_at(note, d.start),
                    ai,
                    ref,
                    f"la note indique le {d.value}, date absente de l'appel",
                )
    for t in nf.times:
        if not any(_same_time(t, c, mod12) for c in view.all_times) and view.all_times:
            ref = agreed.times[0].text if agreed.times else None
            contradict(
                "heure",
                _sentence_at(note, t.start),
                ai,
                ref,
                f"la note indique {t.value}, heure absente de l'appel",
            )
    for a, q in nf.amounts:
        if not any(abs(a - b) < 0.01 for b in view.all_numbers):
            ref = agreed.amounts[0][1] if agreed.amounts else None
            contradict(
                "montant",
                _sentence_at(note, note.find(q)),
                ai if ref else None,
                ref,
                f"la note indique {q.strip()}, montant absent de l'appel",
            )
    unverified = [
        q for v, q in nf.numbers if v > 1 and not any(abs(v - b) < 0.01 for b in view.all_numbers)
    ]
    # --- negations: « sans engagement » while the call sets an engagement
    for noun, q in _negated_nouns(note, params):
        pos = _noun_in_call_positive(ctx, noun, params)
        if pos is not None:
            contradiction_quote = _sentence_at(note, fold(note).find(fold(q).split()[0]))
            contradict(
                "négation",
                contradiction_quote or q,
                pos[0],
                pos[1],
                f"la note dit « {q} » alors que l'appel en parle",
            )
    # --- action and outcome
    for a in view.actions:
        (found if a in nf.actions else missing).append(f"action : {a}")
    note_refuse = find_phrases(note, params.get("note_refuse", []))
    refuse_spans = [(s, e) for s, e, _ in note_refuse]
    note_accept = [
        m
        for m in find_phrases(note, params.get("note_accept", []))
        if not any(s <= m[0] < e for s, e in refuse_spans)
    ]
    note_interest = [
        m
        for m in find_phrases(note, params.get("note_interest", []))
        if not any(s <= m[0] < e for s, e in refuse_spans)
    ]
    if note_accept or note_refuse or nf.actions:
        found.append("issue de l'appel")
    else:
        missing.append("issue de l'appel (accord, refus, suite donnée)")
    if note_accept and view.outcome == "refused" and not note_refuse:
        j, q = view.outcome_quote or (None, "")
        contradict(
            "issue",
            _sentence_at(note, note_accept[0][0]),
            j,
            q,
            "la note indique un accord alors que l'appelé a refusé",
        )
    elif note_refuse and view.outcome == "accepted" and not note_accept:
        j, q = view.outcome_quote or (None, "")
        contradict(
            "issue",
            _sentence_at(note, note_refuse[0][0]),
            j,
            q,
            "la note indique un refus alors que l'appelé a accepté",
        )
    if note_interest and not view.interest and view.disinterest_quote is not None:
        j, q = view.disinterest_quote
        contradict(
            "intérêt",
            _sentence_at(note, note_interest[0][0]),
            j,
            q,
            "la note prête à l'appelé un intérêt qu'il n'a pas exprimé",
        )
    # --- information the callee gave: recorded in the note?
    from .information import analyse_information

    info = analyse_information(ctx, load_lexicon("information"))
    note_keys = set(span_keys(ctx.nlp(note))) if note else set()
    note_nums = (
        {v for v, _ in nf.numbers}
        | {a for a, _ in nf.amounts}
        | {float(d.day) for d in nf.dates if d.day}
        | {float(t.hour) for t in nf.times}
    )
    note_fold = fold(note)
    key_facts = [it for it in info if set(it["kinds"]) & {"contact", "place", "number", "date"}]
    recorded = 0
    not_recorded: list[str] = []
    for it in key_facts:
        vals = it["values"]
        ok = False
        for kind in ("place", "name"):
            for v in vals.get(kind, []):
                if fold(v) and fold(v) in note_fold:
                    ok = True
        for v in vals.get("number", []):
            try:
                num = float(v.split()[0])
            except ValueError:
                continue
            if num in note_nums:
                ok = True
        if "contact" in vals and ("@" in note or "arobase" in note_fold or "mail" in note_fold):
            ok = ok or "email" in vals["contact"]
        if any(k in note_keys for k in it["keys"]):
            ok = True
        if ok:
            recorded += 1
        else:
            not_recorded.append(it["quote"])
    ratio = recorded / len(key_facts) if key_facts else 1.0
    if key_facts:
        if ratio >= float(thr.get("fact_recorded_min", 0.5)):
            found.append(f"informations de l'appelé ({recorded}/{len(key_facts)})")
        else:
            missing.append(f"informations de l'appelé ({recorded}/{len(key_facts)} tracées)")
    return {
        "found": found,
        "missing": missing,
        "contradictions": contradictions,
        "unverified_numbers": unverified,
        "facts_recorded_ratio": round(ratio, 3),
        "facts_not_recorded": not_recorded[:8],
        "call_outcome": view.outcome,
        "call_actions": view.actions,
        "agreed_index": ai,
    }


@register("crm_consistency.v1", lexicon="crm")
def detect_crm_consistency(ctx: CallContext, params: Mapping[str, Any]) -> list[Finding]:
    """Consistency of the CRM note with the call (outcome, action, terms, facts)."""
    note = (ctx.crm_note or "").strip()
    if not note:
        return [
            Finding(
                detector="crm_consistency.v1",
                role="agent",
                score=0.0,
                reason="Pas de note CRM fournie : traçabilité à vérifier.",
                label="crm:missing",
                data={"found": [], "missing": [], "contradictions": []},
            )
        ]
    res = check_note(ctx, params)
    ev = []
    for c in res["contradictions"][:4]:
        if c["call_index"] is not None:
            ev.append(ctx.evidence(c["call_index"], c["call_quote"]))
    if res["agreed_index"] is not None and not ev:
        ev.append(ctx.evidence(res["agreed_index"]))
    if res["contradictions"]:
        c = res["contradictions"][0]
        label, score = "crm:contradiction", 0.85
        reason = f"Note CRM contradictoire : « {c['note_quote']} » — {c['why']}"
        if c["call_quote"]:
            reason += f" (appel : « {c['call_quote']} »)."
        else:
            reason += "."
    elif res["missing"]:
        label, score = "crm:incomplete", 0.7
        reason = "Note CRM incomplète : manque " + ", ".join(res["missing"][:4]) + "."
    else:
        label = "crm:consistent"
        score = round(0.6 + 0.3 * res["facts_recorded_ratio"], 3)
        reason = "Note CRM cohérente avec l'appel : " + ", ".join(res["found"][:5]) + "."
    return [
        Finding(
            detector="crm_consistency.v1",
            role="agent",
            score=score,
            reason=reason,
            evidence=tuple(ev),
            label=label,
            data=res,
        )
    ]
