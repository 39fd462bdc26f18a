"""Trainee feedback: advice from the data file tied to the moment in the call, strengths,
phrases to avoid, self-assessment and progress.

The first tests build an analysis by hand (an inline rubric, findings and features written
here, scored with the real scoring) and an advice file with marker texts, so that what is
checked is how feedback picks the advice and the moment. The last ones run the real
pipeline on call_eval/data/calibration_example calls with the shipped rubrics/advice_fr.yaml.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from call_eval.calibration import EXAMPLE_SET, fmt_time, load_calibration_set
from call_eval.errors import ConfigError, RubricError
from call_eval.feedback import (
    build_feedback,
    check_advice,
    check_advice_text,
    compare_self_assessment,
    load_advice,
    progress_table,
    render_feedback_markdown,
    self_assessment_summary,
)
from call_eval.rubric import Rubric, parse_rubric
from call_eval.scoring import score
from call_eval.settings import rubrics_dir
from call_eval.types import Evidence, Finding

SET = EXAMPLE_SET

RUBRIC = """
id: test-grid
version: 1
pass_ratio: 0.7
criteria:
  - id: C02
    label: "débit et volume"
    source: call
    rule:
      all:
        - {feature: agent.speech_rate_wpm, between: [120, 200], tolerance: 20, unit: "mots/min", name: "débit"}
        - {feature: agent.level_vs_callee_db, min: -12, tolerance: 4, unit: "dB", optional: true, name: "niveau"}
  - id: C03
    label: "objectif et accord"
    source: call
    rule:
      all:
        - {detector: goal_statement.v1, role: agent, name: "l'objectif"}
        - {detector: consent_request.v1, role: agent, name: "l'accord"}
  - id: C14
    label: "discours à proscrire"
    source: interview
    manual: true
"""

ADVICE = """
version: 1
rubric: test-grid
criteria:
  C02:
    title: "Voix"
    praise: "ÉLOGE-VOIX"
    advice: "CONSEIL-VOIX-GÉNÉRAL"
    elements:
      - when: {feature: agent.speech_rate_wpm, direction: high}
        missing: "MANQUE-LENTEUR"
        advice: "CONSEIL-RALENTIR"
        example: "EXEMPLE-PAUSE"
        moment: fastest
      - when: {feature: agent.speech_rate_wpm, direction: low}
        missing: "MANQUE-RYTHME"
        advice: "CONSEIL-ACCÉLÉRER"
  C03:
    title: "Objectif et accord"
    praise: "ÉLOGE-OBJECTIF"
    missing: "MANQUE-GÉNÉRAL"
    advice: "CONSEIL-GÉNÉRAL"
    example: "EXEMPLE-GÉNÉRAL"
    at: start
    elements:
      - when: {detector: goal_statement.v1}
        missing: "MANQUE-OBJECTIF"
        advice: "CONSEIL-OBJECTIF"
        example: "EXEMPLE-OBJECTIF"
      - when: {detector: consent_request.v1}
        missing: "MANQUE-ACCORD"
        advice: "CONSEIL-ACCORD"
        example: "EXEMPLE-ACCORD"
  C14:
    title: "Entretien"
    advice: "CONSEIL-ENTRETIEN"
phrases:
  categories:
    negative: {title: "TITRE-NÉGATIF", better: "MIEUX-NÉGATIF"}
  phrases:
    "pas de problème / pas de souci": {better: "MIEUX-AVEC-PLAISIR"}
"""

UTTERANCES = [
    {"role": "callee", "speaker": "right", "start": 0.5, "end": 1.0, "text": "Allô ?"},
    {
        "role": "agent",
        "speaker": "left",
        "start": 3.0,
        "end": 6.0,
        "text": "Bonjour, Anne Roy, je vous appelle pour le bilan de votre contrat.",
    },
    {"role": "callee", "speaker": "right", "start": 6.5, "end": 7.0, "text": "Oui."},
    {
        "role": "agent",
        "speaker": "left",
        "start": 75.0,
        "end": 79.0,
        "text": "Alors voilà il y a trois formules et je vous les présente toutes très vite.",
    },
]


def rubric() -> Rubric:
    return parse_rubric(textwrap.dedent(RUBRIC), source="t.yaml", detectors=None, features=None)


@pytest.fixture
def advice_file(tmp_path: Path) -> Path:
    p = tmp_path / "advice.yaml"
    p.write_text(textwrap.dedent(ADVICE), encoding="utf-8")
    return p


def finding(detector: str, at: float, quote: str, **kw: Any) -> Finding:
    role = kw.pop("role", "agent")
    ev = Evidence(role=role, start=at, end=at + 2.0, quote=quote, speaker="left")
    return Finding(detector=detector, role=role, score=0.9, reason="…", evidence=(ev,), **kw)


def make_analysis(findings: list[Finding], rate: float | None) -> dict[str, Any]:
    rub = rubric()
    agent = {"speech_rate_wpm": rate, "level_vs_callee_db": -3.0} if rate is not None else {}
    features = {
        "agent": agent,
        "callee": {},
        "call": {},
        "series": {
            "rate": {
                "agent": {
                    "per_utterance": [
                        {"utterance": 1, "start": 3.0, "end": 6.0, "wpm": 170.0},
                        {"utterance": 3, "start": 75.0, "end": 79.0, "wpm": 262.0},
                    ]
                }
            }
        },
    }
    flat = {f"agent.{k}": float(v) for k, v in agent.items()}
    results, total = score(findings, flat, rub, has_crm_note=False, has_script=False)
    return {
        "schema_version": "1.0",
        "call": {"id": "abc", "source": "essai.ogg", "analyzed_at": "2026-03-02T10:00:00+00:00"},
        "rubric": rub.describe(),
        "options": {},
        "utterances": UTTERANCES,
        "features": features,
        "findings": [f.to_dict() for f in findings],
        "criteria": [c.to_dict() for c in results],
        "score": total.to_dict(),
    }


GOAL = finding("goal_statement.v1", 3.4, "je vous appelle pour le bilan de votre contrat")
CONSENT = finding("consent_request.v1", 8.0, "vous avez deux minutes ?")


# --------------------------------------------------------------------------- advice
def test_missing_consent_gets_consent_advice_at_the_goal_statement(advice_file: Path) -> None:
    analysis = make_analysis([GOAL], rate=160.0)
    fb = build_feedback(analysis, advice=advice_file, rubric=rubric())
    (imp,) = [i for i in fb.improvements if i.criterion == "C03"]
    (point,) = imp.points
    assert (point.missing, point.advice, point.example) == (
        "MANQUE-ACCORD",
        "CONSEIL-ACCORD",
        "EXEMPLE-ACCORD",
    )
    # the closest evidence of the criterion: the goal statement, with its time
    assert point.moment is not None
    assert point.moment.quote == GOAL.evidence[0].quote
    assert point.moment.start == GOAL.evidence[0].start
    assert point.moment.kind == "constat proche"
    md = render_feedback_markdown(fb, analysis)
    assert "CONSEIL-ACCORD" in md and "EXEMPLE-ACCORD" in md
    assert f"{fmt_time(GOAL.evidence[0].start)}, vous) : « {GOAL.evidence[0].quote} »" in md
    assert "CONSEIL-OBJECTIF" not in md
    # C02 in the band: a strength, with the data file's praise
    assert [s.criterion for s in fb.strengths] == ["C02"]
    assert "ÉLOGE-VOIX" in md


def test_missing_goal_gets_goal_advice_at_the_start(advice_file: Path) -> None:
    analysis = make_analysis([CONSENT], rate=160.0)
    fb = build_feedback(analysis, advice=advice_file, rubric=rubric())
    (imp,) = [i for i in fb.improvements if i.criterion == "C03"]
    assert [p.advice for p in imp.points] == ["CONSEIL-OBJECTIF"]
    moment = imp.points[0].moment
    assert moment is not None and moment.quote == CONSENT.evidence[0].quote


def test_both_missing_give_two_points_anchored_at_the_start(advice_file: Path) -> None:
    analysis = make_analysis([], rate=160.0)
    fb = build_feedback(analysis, advice=advice_file, rubric=rubric())
    (imp,) = [i for i in fb.improvements if i.criterion == "C03"]
    assert [p.missing for p in imp.points] == ["MANQUE-OBJECTIF", "MANQUE-ACCORD"]
    for p in imp.points:  # nothing found: the agent's first turn (``at: start``)
        assert p.moment is not None and p.moment.kind == "repère"
        assert p.moment.quote == UTTERANCES[1]["text"]


def test_too_fast_gets_the_fastest_turn_and_the_measure(advice_file: Path) -> None:
    analysis = make_analysis([GOAL, CONSENT], rate=240.0)
    fb = build_feedback(analysis, advice=advice_file, rubric=rubric())
    (imp,) = fb.improvements
    assert imp.criterion == "C02"
    (point,) = imp.points
    assert point.advice == "CONSEIL-RALENTIR"
    assert point.moment is not None and point.moment.kind == "mesure"
    assert point.moment.start == 75.0
    assert UTTERANCES[3]["text"] in point.moment.quote and "262" in point.moment.quote
    assert "240" in point.detail and "200" in point.detail
    slow = build_feedback(make_analysis([GOAL, CONSENT], 90.0), advice=advice_file, rubric=rubric())
    assert [p.advice for p in slow.improvements[0].points] == ["CONSEIL-ACCÉLÉRER"]
    m = next(m for m in slow.measures if m.feature == "agent.speech_rate_wpm")
    assert [x.feature for x in slow.measures] == [
        "agent.speech_rate_wpm",
        "agent.level_vs_callee_db",
    ]
    assert (m.feature, m.value, m.low, m.high, m.ok) == (
        "agent.speech_rate_wpm",
        90.0,
        120,
        200,
        False,
    )


def test_without_findings_or_rubric_general_advice(advice_file: Path) -> None:
    analysis = make_analysis([GOAL], rate=160.0)
    del analysis["findings"]
    fb = build_feedback(analysis, advice=advice_file, rubric=rubric())
    (imp,) = [i for i in fb.improvements if i.criterion == "C03"]
    assert [p.advice for p in imp.points] == ["CONSEIL-GÉNÉRAL"]
    assert any("constats" in n for n in fb.notes)
    analysis = make_analysis([GOAL], rate=160.0)
    analysis["rubric"] = {"id": "grille-inconnue", "version": 1, "path": "/nowhere.yaml"}
    fb = build_feedback(analysis, advice=advice_file)
    assert any("Grille" in n for n in fb.notes)
    (imp,) = [i for i in fb.improvements if i.criterion == "C03"]
    assert imp.points[0].advice == "CONSEIL-GÉNÉRAL"


def test_phrases_to_avoid_with_why_and_better_wording(advice_file: Path) -> None:
    effect = "évoque un problème là où il n'y en a pas ; préférez « avec plaisir »"
    phrase = finding(
        "phrases_to_avoid.v1",
        20.0,
        "pas de souci",
        label="negative",
        data={
            "phrase": "pas de problème / pas de souci",
            "category": "negative",
            "count": 2,
            "effect": effect,
        },
    )
    analysis = make_analysis([GOAL, CONSENT, phrase], rate=160.0)
    fb = build_feedback(analysis, advice=advice_file, rubric=rubric())
    (p,) = fb.phrases
    assert (p.category, p.title, p.count) == ("negative", "TITRE-NÉGATIF", 2)
    assert p.why == "évoque un problème là où il n'y en a pas"
    assert p.tip == "préférez « avec plaisir »"
    assert p.better == "MIEUX-AVEC-PLAISIR"
    md = render_feedback_markdown(fb, analysis)
    assert "0:20 : « pas de souci »" in md and "MIEUX-AVEC-PLAISIR" in md
    # the manual criterion is listed to prepare for the interview, with its advice
    assert [t.criterion for t in fb.to_check] == ["C14"]
    assert "CONSEIL-ENTRETIEN" in md
    json.dumps(fb.to_dict(), ensure_ascii=False)


def test_advice_file_validation(tmp_path: Path) -> None:
    assert check_advice(rubrics_dir() / "advice_fr.yaml") == []
    book = load_advice()
    assert {f"C{i:02d}" for i in range(1, 16)} <= set(book.criteria)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        textwrap.dedent(
            """
            criteria:
              C03:
                advice: "ok"
                conseil: "typo"
                at: milieu
                elements:
                  - when: {detector: inconnu.v1}
                    advice: "x"
                  - when: {feature: agent.speech_rate_wpm, direction: up}
                    advice: "y"
                  - when: {detector: goal_statement.v1, feature: agent.x}
                    advice: "z"
              C04: {title: "sans conseil"}
            """
        ),
        encoding="utf-8",
    )
    problems = "\n".join(check_advice(bad))
    for part in (
        "clé inconnue « conseil »",
        "at : valeur 'milieu' invalide",
        "détecteur inconnu 'inconnu.v1'",
        "direction : valeur 'up' invalide",
        "exactement une des clés",
        "C04.advice : conseil manquant",
    ):
        assert part in problems, problems
    with pytest.raises(RubricError, match="autre"):
        load_advice(bad)
    # text edited in the app
    shipped = (rubrics_dir() / "advice_fr.yaml").read_text(encoding="utf-8")
    assert check_advice_text(shipped) == []
    assert "ligne" in check_advice_text("criteria: [\n  {a: b\n")[0]
    edited = shipped.replace("        moment: fastest\n", "        moment: partout\n", 1)
    assert any("partout" in p for p in check_advice_text(edited, "édition"))
    with pytest.raises(RubricError, match="introuvable"):
        load_advice(tmp_path / "none.yaml")


# --------------------------------------------------------------------------- self / progress
def test_self_assessment_rows(advice_file: Path) -> None:
    analysis = make_analysis([GOAL], rate=160.0)  # C02 acquis, C03 non acquis, C14 à vérifier
    rows = compare_self_assessment(
        {"C02": "acquis", "C03": "acquis", "C14": "à vérifier"}, analysis, advice=advice_file
    )
    by = {r.criterion: r for r in rows}
    assert (by["C02"].agree, by["C02"].gap) == (True, "")
    assert (by["C03"].self_tick, by["C03"].suggested, by["C03"].agree) == (
        "acquis",
        "non_acquis",
        False,
    )
    assert by["C03"].gap == "surestimé"
    assert by["C03"].evidence and by["C03"].evidence[0].quote == GOAL.evidence[0].quote
    assert by["C14"].agree is None and by["C03"].title == "Objectif et accord"
    summary = self_assessment_summary(rows)
    assert summary == {"ticked": 3, "compared": 2, "agree": 1, "surestimé": 1, "sous-estimé": 0}
    untouched = compare_self_assessment({}, analysis, advice=advice_file)
    assert all(r.self_tick is None and r.agree is None for r in untouched)
    with pytest.raises(ConfigError, match="Valeurs valides"):
        compare_self_assessment({"C03": "bof"}, analysis, advice=advice_file)
    with pytest.raises(ConfigError, match="C99"):
        compare_self_assessment({"C99": "acquis"}, analysis, advice=advice_file)


def test_progress_table_orders_attempts_and_reads_measures() -> None:
    first = make_analysis([], rate=230.0)
    second = make_analysis([GOAL, CONSENT], rate=170.0)
    second["call"] = {**second["call"], "id": "def", "analyzed_at": "2026-03-09T10:00:00+00:00"}
    text_only = make_analysis([GOAL], rate=None)
    text_only["call"] = {**text_only["call"], "id": "ghi", "analyzed_at": "2026-03-05T09:00:00"}
    rows = progress_table([second, first, text_only])
    assert [r.call_id for r in rows] == ["abc", "ghi", "def"]
    assert [r.attempt for r in rows] == [1, 2, 3]
    assert [r.agent_wpm for r in rows] == [230.0, None, 170.0]
    assert rows[0].agent_level_vs_callee_db == -3.0
    assert [r.acquis for r in rows] == [0, 0, 2]
    assert rows[2].criteria_met == ("C02", "C03")
    dated = progress_table([first, second], dates=["2026-05-01", "2026-04-01"])
    assert [r.call_id for r in dated] == ["def", "abc"]
    with pytest.raises(ConfigError):
        progress_table([first], dates=[])


# --------------------------------------------------------------------------- real pipeline
@pytest.fixture(scope="module")
def analyses() -> dict[str, dict[str, Any]]:
    from call_eval.pipeline import AnalysisOptions, analyze_transcript

    out = {}
    for call in load_calibration_set(SET)[:2]:
        out[call.call_id] = analyze_transcript(
            {"utterances": [u.to_dict() for u in call.utterances]},
            AnalysisOptions(script_questions=call.script_questions, crm_note=call.crm_note),
        ).to_dict()
    return out


def test_feedback_on_a_weak_call_uses_the_shipped_advice(analyses: dict[str, Any]) -> None:
    analysis = analyses["cal-02"]
    book = load_advice()
    fb = build_feedback(analysis)
    md = render_feedback_markdown(fb, analysis)
    states = {c["id"]: c["suggested"] for c in analysis["criteria"]}
    assert states["C03"] == "non_acquis", "the weak call asks no consent"
    # every criterion not met is an improvement; each point's advice is from the data file
    assert {i.criterion for i in fb.improvements} == {
        k for k, v in states.items() if v == "non_acquis"
    }
    texts = {el.advice for c in book.criteria.values() for el in c.elements}
    texts |= {c.advice for c in book.criteria.values()}
    for imp in fb.improvements:
        for p in imp.points:
            assert p.advice in texts
            assert p.advice in md
    c03 = next(i for i in fb.improvements if i.criterion == "C03")
    consent = next(
        el for el in book.criteria["C03"].elements if el.when["detector"] == "consent_request.v1"
    )
    assert consent.advice in [p.advice for p in c03.points]
    # moments quote the call with their time
    moments = [p.moment for i in fb.improvements for p in i.points if p.moment]
    texts_in_call = " ".join(u["text"] for u in analysis["utterances"])
    assert moments
    for m in moments:
        assert m.quote.rstrip(".…")[:20] in texts_in_call
        assert f"({fmt_time(m.start)}" in md
    # phrases to avoid the agent used, with why and a better wording
    categories = {p.category for p in fb.phrases}
    assert "negative" in categories  # « pas de souci »
    neg = next(p for p in fb.phrases if p.category == "negative")
    assert neg.why and neg.better == book.phrases[neg.phrase]["better"]
    assert any("souci" in e.quote.lower() for e in neg.evidence)
    assert "## Formulations à éviter" in md and neg.better in md


def test_feedback_strengths_carry_evidence(analyses: dict[str, Any]) -> None:
    analysis = analyses["cal-01"]
    fb = build_feedback(analysis)
    acquis = [c for c in analysis["criteria"] if c["suggested"] == "acquis"]
    assert acquis, "the complete call meets some criteria"
    assert [s.criterion for s in fb.strengths] == [c["id"] for c in acquis]
    for s, c in zip(fb.strengths, acquis, strict=True):
        assert s.praise == load_advice().criteria[c["id"]].praise
        assert [e.quote for e in s.evidence] == [e["quote"] for e in c["evidence"][:2]]
    md = render_feedback_markdown(fb, analysis)
    assert "## Vos points forts" in md
    assert fb.strengths[0].praise in md
