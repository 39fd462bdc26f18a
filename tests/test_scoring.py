"""Scoring: rule evaluation, states, confidence, evidence, reasons and the 70 % arithmetic.

Rubrics are written inline as YAML; findings are built by hand (the detectors have their own
tests). The last tests score hand-written transcripts through the real detectors.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

import pytest

from call_eval.rubric import Rubric, load_rubric, parse_rubric
from call_eval.scoring import score, tally
from call_eval.types import CriterionResult, Evidence, Finding

DETS = {
    name: None
    for name in (
        "greeting.v1",
        "goal_statement.v1",
        "consent_request.v1",
        "objection.v1",
        "action_proposal.v1",
        "phrases_to_avoid.v1",
        "crm_consistency.v1",
        "question.v1",
    )
}


def F(
    detector: str,
    *,
    role: str | None = "agent",
    score: float = 0.9,
    label: str = "",
    data: dict[str, Any] | None = None,
    at: float = 0.0,
    quote: str = "…",
    utt: int | None = None,
) -> Finding:
    ev = Evidence(role=role, start=at, end=at + 1.5, quote=quote, speaker=role)  # type: ignore[arg-type]
    return Finding(
        detector=detector,
        role=role,  # type: ignore[arg-type]
        score=score,
        reason="…",
        evidence=(ev,),
        label=label,
        utterance_index=utt,
        data=data or {},
    )


def grid(criteria: str, pass_ratio: float = 0.7) -> Rubric:
    body = f"id: t\nversion: 1\npass_ratio: {pass_ratio}\ncriteria:\n" + textwrap.indent(
        textwrap.dedent(criteria).strip("\n"), "  "
    )
    return parse_rubric(body + "\n", source="t.yaml", detectors=DETS, features=None)


def one(
    rule: str, findings: list[Finding], features: dict[str, float] | None = None, **kw: Any
) -> CriterionResult:
    extra = kw.pop("extra", "")
    rubric = grid(
        f"""
        - id: X
          label: "x"
          source: call
          rule: {rule}
        {extra}
        """
    )
    results, _ = score(
        findings,
        features or {},
        rubric,
        has_crm_note=kw.get("crm", False),
        has_script=kw.get("script", False),
    )
    return results[0]


# --------------------------------------------------------------------------- leaves
def test_detector_condition_counts_role_label_and_score() -> None:
    rule = "{detector: greeting.v1, role: agent, min: 2, min_score: 0.6}"
    two = [F("greeting.v1", at=1), F("greeting.v1", at=9)]
    assert one(rule, two).suggested == "acquis"
    assert one(rule, two[:1]).suggested == "non_acquis"
    callee = [F("greeting.v1", at=1), F("greeting.v1", role="callee", at=9)]
    assert one(rule, callee).suggested == "non_acquis"
    weak = [F("greeting.v1", at=1), F("greeting.v1", at=9, score=0.4)]
    assert one(rule, weak).suggested == "non_acquis"
    other = [F("greeting.v1", at=1), F("goal_statement.v1", at=9)]
    assert one(rule, other).suggested == "non_acquis"


def test_max_counts_forbid_and_labels_glob() -> None:
    rule = "{detector: objection.v1, role: callee, label: 'objection:pri*', max: 0}"
    price = F("objection.v1", role="callee", label="objection:price")
    time_ = F("objection.v1", role="callee", label="objection:time")
    assert one(rule, []).suggested == "acquis"
    assert one(rule, [time_]).suggested == "acquis"
    assert one(rule, [price]).suggested == "non_acquis"
    listed = "{detector: objection.v1, label: [objection:time, objection:other]}"
    assert one(listed, [time_]).suggested == "acquis"
    assert one(listed, [price]).suggested == "non_acquis"


def test_where_operators() -> None:
    def check(where: str, data: dict[str, Any]) -> str:
        return one(
            f"{{detector: action_proposal.v1, where: {where}}}",
            [F("action_proposal.v1", data=data)],
        ).suggested

    assert check("{data.kind: rappel}", {"kind": "rappel"}) == "acquis"
    assert check("{data.kind: rappel}", {"kind": "commande"}) == "non_acquis"
    assert check("{data.kind: [rappel, commande]}", {"kind": "commande"}) == "acquis"
    assert check("{data.kind: {not_in: [rappel]}}", {"kind": "commande"}) == "acquis"
    assert check("{data.kind: {ne: rappel}}", {}) == "acquis"
    assert check("{data.terms: {nonempty: true}}", {"terms": ["mardi", "14 h"]}) == "acquis"
    assert check("{data.terms: {nonempty: true}}", {"terms": []}) == "non_acquis"
    assert check("{data.terms: {nonempty: true}}", {}) == "non_acquis"
    assert check("{data.terms: {exists: false}}", {}) == "acquis"
    assert check("{data.n: {min: 3}}", {"n": 3}) == "acquis"
    assert check("{data.n: {min: 3}}", {"n": 2}) == "non_acquis"
    assert check("{data.n: {min: 3}}", {"n": None}) == "non_acquis"
    assert check("{data.terms: {min: 2}}", {"terms": ["a", "b"]}) == "acquis"  # length
    assert check("{data.n: {max: 0.5}}", {"n": 0.2}) == "acquis"
    assert check("{data.slot.day: mardi}", {"slot": {"day": "mardi"}}) == "acquis"
    assert check("{data.ok: true, data.n: {min: 1}}", {"ok": True, "n": 0}) == "non_acquis"


def test_distinct_and_position() -> None:
    same_turn = [F("goal_statement.v1", utt=3), F("goal_statement.v1", utt=3)]
    rule = "{detector: goal_statement.v1, min: 2, distinct: utterance}"
    assert one(rule, same_turn).suggested == "non_acquis"
    assert one(rule, [*same_turn, F("goal_statement.v1", utt=5)]).suggested == "acquis"
    early = "{detector: goal_statement.v1, max_utterance: 4}"
    assert one(early, [F("goal_statement.v1", utt=3)]).suggested == "acquis"
    assert one(early, [F("goal_statement.v1", utt=9)]).suggested == "non_acquis"


def test_feature_bands_and_missing_features() -> None:
    band = "{feature: agent.speech_rate_wpm, between: [130, 190], unit: mots/min, name: débit}"
    inside = one(band, [], {"agent.speech_rate_wpm": 160})
    assert inside.suggested == "acquis"
    fast = one(band, [], {"agent.speech_rate_wpm": 245})
    assert fast.suggested == "non_acquis"
    assert "débit 245 mots/min (attendu 130–190 mots/min)" in fast.reason
    assert (
        one(
            "{feature: agent.level_vs_callee_db, min: -12}", [], {"agent.level_vs_callee_db": -24}
        ).suggested
        == "non_acquis"
    )
    assert (
        one(
            "{feature: agent.level_vs_callee_db, max: 3}", [], {"agent.level_vs_callee_db": -2}
        ).suggested
        == "acquis"
    )
    missing = one(band, [])
    assert (missing.suggested, missing.confidence) == ("a_verifier", 0.0)
    assert one(band, [], {"agent.speech_rate_wpm": math.nan}).suggested == "a_verifier"


def test_optional_features_are_dropped_when_not_measured() -> None:
    rule = (
        "{all: [{feature: agent.speech_rate_wpm, between: [130, 190]},"
        " {feature: agent.level_vs_callee_db, min: -12, optional: true}]}"
    )
    assert one(rule, [], {"agent.speech_rate_wpm": 160}).suggested == "acquis"
    assert (
        one(rule, [], {"agent.speech_rate_wpm": 160, "agent.level_vs_callee_db": -30}).suggested
        == "non_acquis"
    )
    assert one(rule, []).suggested == "a_verifier"  # nothing measured at all


# --------------------------------------------------------------------------- combinators
def test_all_any_not() -> None:
    goal, consent = F("goal_statement.v1", at=2), F("consent_request.v1", at=4)
    both = "{all: [{detector: goal_statement.v1}, {detector: consent_request.v1}]}"
    either = "{any: [{detector: goal_statement.v1}, {detector: consent_request.v1}]}"
    neither = "{not: {any: [{detector: goal_statement.v1}, {detector: consent_request.v1}]}}"
    assert one(both, [goal, consent]).suggested == "acquis"
    assert one(both, [goal]).suggested == "non_acquis"
    assert one(either, [consent]).suggested == "acquis"
    assert one(either, []).suggested == "non_acquis"
    assert one(neither, []).suggested == "acquis"
    assert one(neither, [goal]).suggested == "non_acquis"


def test_unknown_is_decided_by_known_children_when_possible() -> None:
    rate = "{feature: agent.speech_rate_wpm, between: [130, 190]}"
    goal = "{detector: goal_statement.v1}"
    assert one(f"{{all: [{rate}, {goal}]}}", []).suggested == "non_acquis"  # goal decides
    assert one(f"{{all: [{rate}, {goal}]}}", [F("goal_statement.v1")]).suggested == "a_verifier"
    assert one(f"{{any: [{rate}, {goal}]}}", [F("goal_statement.v1")]).suggested == "acquis"
    assert one(f"{{any: [{rate}, {goal}]}}", []).suggested == "a_verifier"
    assert one(f"{{not: {rate}}}", []).suggested == "a_verifier"


def test_context_conditions() -> None:
    rule = "{context: crm_note}"
    assert one(rule, [], crm=True).suggested == "acquis"
    assert one(rule, [], crm=False).suggested == "non_acquis"
    assert one("{context: script}", [], script=True).suggested == "acquis"


# --------------------------------------------------------------------------- a_verifier_when
C09 = """
- id: C09
  label: "Objections"
  source: call
  a_verifier_when: {detector: objection.v1, role: callee, max: 0}
  rule:
    all:
      - not: {detector: objection.v1, role: callee, where: {data.handling: [ignored, contradicted]}}
        name: "aucune objection ignorée"
      - {detector: objection.v1, role: callee, where: {data.handling: [acknowledged_and_answered]}, name: "objection traitée"}
  reasons:
    acquis: "Objections traitées : {found} ({quote})."
    non_acquis: "Objection non traitée : {quote} ; manque {missing}."
    a_verifier: "Aucune objection exprimée."
"""


def _c09(findings: list[Finding]) -> CriterionResult:
    results, _ = score(findings, {}, grid(C09), has_crm_note=False, has_script=False)
    return results[0]


def test_a_verifier_when_no_objection() -> None:
    r = _c09([])
    assert (r.suggested, r.reason) == ("a_verifier", "Aucune objection exprimée.")
    assert r.confidence > 0.5
    # an agent finding of the same detector does not count as the callee's objection
    assert (
        _c09([F("objection.v1", role="agent", data={"handling": "ignored"})]).suggested
        == "a_verifier"
    )


def test_objection_ignored_fails_with_its_quote_as_evidence() -> None:
    handled = F(
        "objection.v1",
        role="callee",
        at=40,
        quote="c'est trop cher",
        data={"handling": "acknowledged_and_answered"},
    )
    ignored = F(
        "objection.v1",
        role="callee",
        at=80,
        quote="j'ai pas le temps",
        data={"handling": "ignored"},
    )
    ok = _c09([handled])
    assert ok.suggested == "acquis"
    assert [e.quote for e in ok.evidence] == ["c'est trop cher"]
    assert (
        ok.reason
        == "Objections traitées : aucune objection ignorée et objection traitée (« c'est trop cher »)."
    )
    bad = _c09([handled, ignored])
    assert bad.suggested == "non_acquis"
    assert bad.evidence[-1].quote == "j'ai pas le temps"
    assert bad.reason.startswith(
        "Objection non traitée : « j'ai pas le temps » ; manque aucune objection ignorée"
    )


def test_crm_note_missing_is_a_verifier() -> None:
    rubric = grid(
        """
        - id: C12
          label: "CRM"
          source: crm
          a_verifier_when: {not: {context: crm_note}}
          rule: {detector: crm_consistency.v1, label: "crm:consistent"}
          confidence: {a_verifier: {base: 1.0, span: 0.0}}
        """
    )
    found = [F("crm_consistency.v1", role=None, label="crm:consistent")]
    (r,), _ = score(found, {}, rubric, has_crm_note=False, has_script=False)
    assert (r.suggested, r.confidence) == ("a_verifier", 1.0)
    (r,), _ = score(found, {}, rubric, has_crm_note=True, has_script=False)
    assert r.suggested == "acquis"
    (r,), _ = score([], {}, rubric, has_crm_note=True, has_script=False)
    assert r.suggested == "non_acquis"


# --------------------------------------------------------------------------- confidence
def test_confidence_grows_with_evidence_strength() -> None:
    rule = "{detector: goal_statement.v1, min_score: 0.5}"
    strong = one(rule, [F("goal_statement.v1", score=0.95)])
    weak = one(rule, [F("goal_statement.v1", score=0.55)])
    assert strong.suggested == weak.suggested == "acquis"
    assert 0.0 <= weak.confidence < strong.confidence <= 1.0


def test_non_acquis_is_less_sure_when_something_nearly_qualified() -> None:
    rule = "{detector: goal_statement.v1, min_score: 0.6}"
    nothing = one(rule, [])
    near = one(rule, [F("goal_statement.v1", score=0.55, quote="je vous appelle")])
    assert nothing.suggested == near.suggested == "non_acquis"
    assert near.confidence < nothing.confidence
    assert [e.quote for e in near.evidence] == ["je vous appelle"]  # the closest evidence


def test_confidence_of_features_grows_with_distance_from_the_band_edge() -> None:
    band = "{feature: agent.speech_rate_wpm, between: [130, 190], tolerance: 20}"
    centre = one(band, [], {"agent.speech_rate_wpm": 160})
    edge = one(band, [], {"agent.speech_rate_wpm": 186})
    just_out = one(band, [], {"agent.speech_rate_wpm": 195})
    far_out = one(band, [], {"agent.speech_rate_wpm": 260})
    assert centre.confidence > edge.confidence
    assert far_out.confidence > just_out.confidence
    assert (edge.suggested, just_out.suggested) == ("acquis", "non_acquis")


def test_confidence_settings_of_the_rubric_apply() -> None:
    low = one(
        "{detector: goal_statement.v1}",
        [F("goal_statement.v1", score=1.0)],
        extra="  confidence: {acquis: {base: 0.3, span: 0.1}}",
    )
    assert low.confidence == pytest.approx(0.4)


def test_uncertain_margin_turns_borderline_into_a_verifier() -> None:
    band = "{feature: agent.speech_rate_wpm, between: [130, 190], tolerance: 20}"
    extra = "  uncertain_margin: 0.2"
    assert one(band, [], {"agent.speech_rate_wpm": 188}, extra=extra).suggested == "a_verifier"
    assert one(band, [], {"agent.speech_rate_wpm": 160}, extra=extra).suggested == "acquis"


def test_asr_discount_lowers_only_absence_based_non_acquis_on_asr_input() -> None:
    body = (
        "id: t\nversion: 1\npass_ratio: 0.5\n"
        "asr_discount: {feature: agent.asr_confidence_mean, weight: 1.0}\n"
        "criteria:\n"
        "  - {id: C03, label: x, source: call, rule: {detector: goal_statement.v1}}\n"
        + textwrap.indent(textwrap.dedent(C09).strip("\n"), "  ")
        + "\n"
    )
    rubric = parse_rubric(body, source="t.yaml", detectors=DETS, features=None)
    asr = {"agent.asr_confidence_mean": 0.8}
    ignored = F("objection.v1", role="callee", data={"handling": "ignored"})

    def run(findings: list[Finding], feats: dict[str, float]) -> tuple[CriterionResult, ...]:
        return score(findings, feats, rubric, has_crm_note=False, has_script=False)[0]

    typed_c03, typed_c09 = run([ignored], {})
    asr_c03, asr_c09 = run([ignored], asr)
    # nothing found: less sure on speech recognition output than on a typed transcript
    assert typed_c03.suggested == asr_c03.suggested == "non_acquis"
    assert asr_c03.confidence == pytest.approx(typed_c03.confidence * 0.8)
    # an objection that is there and ignored: positive evidence, no discount
    assert typed_c09.suggested == asr_c09.suggested == "non_acquis"
    assert asr_c09.confidence == pytest.approx(typed_c09.confidence)
    # acquis is not discounted
    ok_typed, _ = run([F("goal_statement.v1")], {})
    ok_asr, _ = run([F("goal_statement.v1")], asr)
    assert ok_typed.confidence == pytest.approx(ok_asr.confidence)


# --------------------------------------------------------------------------- evidence, reasons
def test_evidence_is_sorted_by_time_and_capped() -> None:
    found = [F("question.v1", at=t, quote=f"q{t}", score=0.5 + t / 100) for t in (30, 10, 20, 40)]
    r = one("{detector: question.v1, min: 2}", found, extra="  max_evidence: 3")
    # the three best-scored findings, shown in the order of the call
    assert [e.quote for e in r.evidence] == ["q20", "q30", "q40"]


def test_reason_is_one_french_line_with_found_and_missing() -> None:
    rubric = grid(
        """
        - id: C03
          label: "Objectif"
          source: call
          rule:
            all:
              - {detector: goal_statement.v1, role: agent, name: "l'objectif annoncé"}
              - {detector: consent_request.v1, role: agent, name: "l'accord sollicité"}
          reasons:
            acquis: "Objectif et accord : {quote}."
            non_acquis: "Manque {missing} (relevé : {found})."
        """
    )
    goal = F("goal_statement.v1", quote="Je vous appelle au sujet\\nde votre contrat", at=3)
    (r,), _ = score([goal], {}, rubric, has_crm_note=False, has_script=False)
    assert r.reason == "Manque l'accord sollicité (relevé : l'objectif annoncé)."
    assert r.evidence[0].start == 3


# --------------------------------------------------------------------------- manual, score
MANUAL = """
- id: C13
  label: "Typologies"
  source: interview
  manual: true
- id: C14
  label: "Discours à proscrire"
  source: interview
  manual: true
  supporting: {detector: phrases_to_avoid.v1, role: agent}
  reasons:
    a_verifier: "À évaluer en entretien ; {count} formulation(s) à proscrire ({labels})."
"""


def test_manual_criteria() -> None:
    rubric = grid(MANUAL)
    used = [
        F("phrases_to_avoid.v1", label="negative", quote="pas de souci", at=12),
        F("phrases_to_avoid.v1", label="imposing", quote="il faut que vous", at=50),
        F("phrases_to_avoid.v1", role="callee", label="negative", quote="pas de problème"),
    ]
    (c13, c14), total = score(used, {}, rubric, has_crm_note=False, has_script=False)
    for r in (c13, c14):
        assert (r.suggested, r.confidence, r.manual) == ("a_verifier", 0.0, True)
    assert c13.reason == "À évaluer par le jury lors de l'entretien technique."
    assert c13.evidence == ()
    assert (
        c14.reason
        == "À évaluer en entretien ; 2 formulation(s) à proscrire (negative et imposing)."
    )
    assert [e.quote for e in c14.evidence] == ["pas de souci", "il faut que vous"]
    (_, c14), _ = score([], {}, rubric, has_crm_note=False, has_script=False)
    assert c14.reason == "À évaluer par le jury lors de l'entretien technique."
    assert total.a_verifier == 2 and total.acquis == 0


def _fifteen(acquis: int) -> tuple[tuple[CriterionResult, ...], Any]:
    crit = "\n".join(
        f"- {{id: C{i:02d}, label: c{i}, source: call, rule: {{detector: question.v1, label: q{i}}}}}"
        for i in range(1, 16)
    )
    findings = [F("question.v1", label=f"q{i}") for i in range(1, acquis + 1)]
    return score(findings, {}, grid(crit), has_crm_note=False, has_script=False)


def test_eleven_of_fifteen_passes() -> None:
    results, s = _fifteen(11)
    assert [r.suggested for r in results].count("acquis") == 11
    assert (s.acquis, s.total, s.needed, s.passed, s.missing) == (11, 15, 11, True, 0)
    assert s.ratio == pytest.approx(0.733)
    assert s.pass_ratio == pytest.approx(0.7)


def test_ten_of_fifteen_fails_and_says_what_is_missing() -> None:
    _, s = _fifteen(10)
    assert (s.acquis, s.needed, s.passed, s.missing) == (10, 11, False, 1)
    _, s = _fifteen(4)
    assert (s.passed, s.missing, s.a_verifier) == (False, 7, 0)
    _, s = _fifteen(15)
    assert (s.ratio, s.missing) == (1.0, 0)


def test_tally_counts_a_verifier_and_rounds_the_needed_count_up() -> None:
    def res(state: str) -> CriterionResult:
        return CriterionResult("X", "x", "call", state, 0.5, "r")  # type: ignore[arg-type]

    s = tally([res("acquis")] * 7 + [res("a_verifier")] * 2 + [res("non_acquis")], 0.7)
    assert (s.total, s.needed, s.passed, s.missing, s.a_verifier) == (10, 7, True, 0, 2)
    assert tally([res("acquis")] * 2, 0.7).needed == 2  # ceil(1.4)


def test_score_is_pure_and_keeps_the_rubric_order() -> None:
    rubric = grid(MANUAL + C09)
    findings = (F("objection.v1", role="callee", data={"handling": "ignored"}),)
    first = score(findings, {"agent.x": 1.0}, rubric, has_crm_note=False, has_script=False)
    second = score(findings, {"agent.x": 1.0}, rubric, has_crm_note=False, has_script=False)
    assert first == second
    assert [r.id for r in first[0]] == ["C13", "C14", "C09"]
    assert findings[0].data == {"handling": "ignored"}


# --------------------------------------------------------------------------- real detectors
GOOD_CALL = [
    ("callee", "Allô oui ?"),
    ("agent", "Bonjour Madame Morel, Julie Caron, conseillère chez Vitalis Assurances."),
    ("callee", "Ah bonjour."),
    (
        "agent",
        "Je vous appelle au sujet de votre contrat habitation qui arrive à échéance. "
        "Est-ce que vous avez quelques minutes à m'accorder ?",
    ),
    ("callee", "Oui, allez-y, j'ai un petit moment."),
    ("agent", "Merci. Vous habitez toujours au 12 rue des Lilas à Rennes ?"),
    ("callee", "Non, on a déménagé en mars, on est à Cesson maintenant, dans une maison."),
    ("agent", "Une maison, d'accord. Elle fait quelle surface à peu près ?"),
    ("callee", "Cent vingt mètres carrés, avec un jardin."),
    ("agent", "Et qu'est-ce qui compte le plus pour vous dans votre assurance ?"),
    ("callee", "Surtout être bien couverts en cas de dégât des eaux, on en a eu un l'an dernier."),
    (
        "agent",
        "Si je comprends bien, vous avez emménagé en mars dans une maison de cent vingt "
        "mètres carrés à Cesson, et vous voulez être bien couverts contre les dégâts "
        "des eaux. C'est bien ça ?",
    ),
    ("callee", "Oui, c'est exactement ça. Mais c'est trop cher pour moi, votre formule."),
    (
        "agent",
        "Je comprends votre inquiétude. La formule confort coûte quatre euros de plus par "
        "mois et elle couvre justement les dégâts des eaux sans franchise. "
        "Qu'est-ce qui vous fait hésiter ?",
    ),
    ("callee", "Non, ça me va si c'est quatre euros."),
    (
        "agent",
        "Je vous propose donc de mettre à jour votre adresse et de passer à la formule "
        "confort à partir du premier juin. Je vous envoie le contrat par mail aujourd'hui.",
    ),
    ("callee", "D'accord."),
    (
        "agent",
        "Je récapitule : nouvelle adresse à Cesson, formule confort au premier juin, "
        "contrat envoyé par mail aujourd'hui. C'est bien d'accord pour vous ?",
    ),
    ("callee", "Oui, c'est d'accord."),
    ("agent", "Merci beaucoup pour votre temps, Madame Morel. Très bonne journée, au revoir."),
    ("callee", "Au revoir."),
]

BAD_CALL = [
    ("callee", "Allô ?"),
    ("agent", "ouais bonjour c'est pour votre contrat"),
    ("callee", "C'est qui ?"),
    ("agent", "ben on a des offres en ce moment"),
    ("callee", "Ça ne m'intéresse pas."),
    ("agent", "vous devez quand même écouter, c'est une super offre"),
    ("callee", "Non merci."),
]


def _utterances(turns: list[tuple[str, str]]) -> tuple[Any, ...]:
    from call_eval.types import Utterance

    out, t = [], 0.5
    for role, text in turns:
        dur = 0.35 * len(text.split()) + 0.4
        out.append(Utterance(speaker=role, start=t, end=t + dur, text=text, role=role))  # type: ignore[arg-type]
        t += dur + 0.5
    return tuple(out)


def _analyse(turns: list[tuple[str, str]], crm: str | None = None) -> dict[str, CriterionResult]:
    from call_eval.detectors import CallContext, registry, run_detectors

    rubric = load_rubric()
    missing = [n for n in rubric.detector_names() if n not in registry()]
    if missing:
        pytest.skip(f"detectors not registered yet: {missing}")
    ctx = CallContext(utterances=_utterances(turns), crm_note=crm)
    findings = run_detectors(
        ctx, names=rubric.detector_names(), overrides=rubric.detector_overrides()
    )
    results, _ = score(findings, {}, rubric, has_crm_note=crm is not None, has_script=False)
    return {r.id: r for r in results}


def test_real_detectors_on_a_good_hand_written_call() -> None:
    r = _analyse(GOOD_CALL)
    for cid in ("C01", "C03", "C04", "C05", "C06", "C07", "C08", "C09", "C10", "C11"):
        assert r[cid].suggested == "acquis", (cid, r[cid].reason)
        assert r[cid].evidence, cid
        assert 0.0 < r[cid].confidence <= 1.0
    assert r["C02"].suggested == "a_verifier"  # no audio features on a transcript
    assert r["C12"].suggested == "a_verifier"  # no CRM note
    assert [r[c].manual for c in ("C13", "C14", "C15")] == [True, True, True]


def test_real_detectors_on_a_poor_hand_written_call() -> None:
    r = _analyse(BAD_CALL)
    for cid in ("C01", "C03", "C04", "C05", "C06", "C07", "C08", "C10", "C11"):
        assert r[cid].suggested == "non_acquis", (cid, r[cid].reason)
        assert r[cid].reason.startswith(
            ("Présentation", "Manque", "Questionnaire", "Écoute", "Trop peu", "Besoins", "Aucune")
        )
    assert r["C09"].suggested == "non_acquis", r["C09"].reason  # « ça ne m'intéresse pas » ignored
    assert r["C14"].evidence  # « ouais », « vous devez », « super » are phrases to avoid
