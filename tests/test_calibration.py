"""Calibration: metrics against hand-computed values, calibration files, re-scoring.

The metric tests use small tables computed by hand (in comments). The calibration-set
tests use call_eval/data/calibration_example (three short calls of our own writing, with the ticks
of one reference juror and of two or three jurors) and the real detectors; they check what
the report says against the suggestions and ticks, not against detector output written in
advance. Re-scoring under a stricter rubric uses C02, which reads audio features only.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from call_eval.calibration import (
    EXAMPLE_SET,
    CalibrationCall,
    CalibrationError,
    Rescorer,
    agreement,
    calibrate,
    calibrate_command,
    cohen_kappa,
    confusion_matrix,
    features_flat_from_dict,
    findings_from_dicts,
    fleiss_kappa,
    fleiss_parts,
    load_calibration_set,
    majority,
    precision_recall_f1,
    rating_table,
    rescore_analysis,
    utterances_from_dicts,
)
from call_eval.errors import ConfigError
from call_eval.rubric import load_rubric
from call_eval.settings import default_rubric_path

DATA = Path(__file__).parent / "data"
SET = EXAMPLE_SET
A, NA, AV = "acquis", "non_acquis", "a_verifier"


def pairs_from(table: dict[tuple[str, str], int]) -> list[tuple[str, str]]:
    return [pair for pair, n in table.items() for _ in range(n)]


# --------------------------------------------------------------------------- metrics
def test_cohen_kappa_binary_textbook() -> None:
    # 50 items. juror acquis & tool acquis 20, juror acquis & tool non 5,
    # juror non & tool acquis 10, both non 15.
    # po = (20 + 15) / 50 = 0.70
    # juror: acquis 25, non 25 ; tool: acquis 30, non 20
    # pe = (25×30 + 25×20) / 50² = 1250 / 2500 = 0.50
    # kappa = (0.70 − 0.50) / (1 − 0.50) = 0.40
    pairs = pairs_from({(A, A): 20, (A, NA): 5, (NA, A): 10, (NA, NA): 15})
    assert agreement(pairs) == pytest.approx(0.70)
    assert cohen_kappa(pairs) == pytest.approx(0.40)
    # precision = TP / suggested acquis = 20/30 ; recall = TP / juror acquis = 20/25
    # F1 = 2 TP / (2 TP + FP + FN) = 40 / (40 + 10 + 5) = 0.72727…
    p, r, f1 = precision_recall_f1(pairs)
    assert p == pytest.approx(20 / 30)
    assert r == pytest.approx(0.8)
    assert f1 == pytest.approx(40 / 55)


def test_cohen_kappa_three_states_by_hand() -> None:
    # rows juror, columns suggestion:
    #            A  NA  AV   | row
    #   A        4   1   1   |  6
    #   NA       0   3   0   |  3
    #   AV       0   0   1   |  1
    #   column   4   4   2   | 10
    # po = (4 + 3 + 1) / 10 = 0.8
    # pe = (6×4 + 3×4 + 1×2) / 100 = 0.38
    # kappa = (0.8 − 0.38) / (1 − 0.38) = 0.42 / 0.62 = 0.677419…
    pairs = pairs_from({(A, A): 4, (A, NA): 1, (A, AV): 1, (NA, NA): 3, (AV, AV): 1})
    assert cohen_kappa(pairs) == pytest.approx(0.42 / 0.62)
    m = confusion_matrix(pairs)
    assert m[A] == {A: 4, NA: 1, AV: 1}
    assert m[NA] == {A: 0, NA: 3, AV: 0}
    assert m[AV] == {A: 0, NA: 0, AV: 1}
    p, r, f1 = precision_recall_f1(pairs)
    assert (p, r) == (pytest.approx(1.0), pytest.approx(4 / 6))
    assert f1 == pytest.approx(0.8)


def test_kappa_undefined_and_degenerate_cases() -> None:
    assert cohen_kappa([]) is None
    assert agreement([]) is None
    # both raters always "acquis": pe = 1, kappa undefined (not 1, not 0)
    assert cohen_kappa([(A, A)] * 4) is None
    # the tool always undecided: po = 0, pe = 0 → kappa 0
    assert cohen_kappa([(A, AV), (NA, AV)]) == pytest.approx(0.0)
    # no acquis suggested: precision undefined, recall 0
    p, r, f1 = precision_recall_f1([(A, NA), (NA, NA)])
    assert p is None and r == 0.0 and f1 is None
    # systematic disagreement gives a negative kappa: po 0, pe 0.5 → −1
    assert cohen_kappa([(A, NA), (NA, A)]) == pytest.approx(-1.0)


def test_fleiss_kappa_textbook_example() -> None:
    # Fleiss (1971) as reproduced in many textbooks: 10 subjects, 14 raters, 5 categories.
    # p_j = 0.143 0.200 0.279 0.150 0.229 ; P̄ = 0.378 ; P̄e = 0.213 ; kappa = 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    p_bar, pe_bar, n = fleiss_parts(table)  # type: ignore[misc]
    assert n == 10
    assert p_bar == pytest.approx(0.378, abs=5e-4)
    assert pe_bar == pytest.approx(0.213, abs=5e-4)
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_kappa_varying_raters_by_hand() -> None:
    # three calls, categories (A, NA, AV): [2,0,0], [1,1,0], [2,1,0]
    # P_1 = (4 − 2) / (2×1) = 1 ; P_2 = (1 + 1 − 2) / 2 = 0 ; P_3 = (4 + 1 − 3) / (3×2) = 1/3
    # P̄ = 4/9 ; p_A = 5/7, p_NA = 2/7 → P̄e = 29/49 ; kappa = (4/9 − 29/49) / (20/49)
    table = rating_table([[A, A], [NA, A], [A, A, NA]])
    assert table == [[2, 0, 0], [1, 1, 0], [2, 1, 0]]
    expected = (4 / 9 - 29 / 49) / (20 / 49)
    assert fleiss_kappa(table) == pytest.approx(expected)
    assert expected == pytest.approx(-0.3611, abs=1e-4)
    # a subject rated once carries no agreement information: left out
    assert fleiss_kappa([*table, [1, 0, 0]]) == pytest.approx(expected)
    # unanimous on one category everywhere: undefined
    assert fleiss_kappa([[3, 0, 0], [2, 0, 0]]) is None
    assert fleiss_kappa([[1, 0, 0]]) is None
    with pytest.raises(ValueError):
        rating_table([["acquise"]])


def test_majority() -> None:
    assert majority([A, A, NA]) == A
    assert majority([A, NA]) is None
    assert majority([]) is None


# --------------------------------------------------------------------------- records
def test_features_flat_from_dict_matches_callfeatures_flat() -> None:
    from call_eval.features import CallFeatures, SpeakerFeatures

    def speaker(role: str, base: float) -> SpeakerFeatures:
        values: dict[str, Any] = {}
        for i, f in enumerate(fields(SpeakerFeatures)):
            t = str(f.type)
            if f.name == "role":
                values[f.name] = role
            elif f.name == "source":
                values[f.name] = "mix"
            elif f.name == "fillers":
                values[f.name] = (("euh", 2),)
            elif f.name == "quiet_stretches":
                values[f.name] = ({"start": 1.0, "end": 2.0},)
            elif t.startswith("int"):
                values[f.name] = i
            elif f.name == "pitch_sd_st":
                values[f.name] = None  # unmeasured: absent from both
            else:
                values[f.name] = base + i / 7
        return SpeakerFeatures(**values)

    feats = CallFeatures(
        agent=speaker("agent", 1.0),
        callee=speaker("callee", 2.0),
        duration_s=60.0,
        turns=12,
        overlap_s=0.4,
        overlaps=(),
        interruptions=1,
        longest_silence_s=None,
        silence_share=0.1,
        gap_median_s=0.3,
        gap_max_s=1.2,
        longest_silences=(),
        stereo=True,
    )
    stored = json.loads(json.dumps(feats.to_dict()))
    assert features_flat_from_dict(stored) == feats.flat()
    assert "agent.level_vs_callee_db" in feats.flat()
    # an already flat mapping is kept
    assert features_flat_from_dict({"agent.speech_rate_wpm": 150}) == {
        "agent.speech_rate_wpm": 150.0
    }


def test_sample_analysis_features() -> None:
    sample = json.loads((DATA / "analysis_sample.json").read_text(encoding="utf-8"))
    flat = features_flat_from_dict(sample["features"])
    agent = sample["features"]["agent"]
    assert flat["agent.speech_rate_wpm"] == agent["speech_rate_wpm"]
    assert flat["agent.level_vs_callee_db"] == agent["level_vs_callee_db"]
    assert flat["call.turns"] == sample["features"]["call"]["turns"]
    assert "call.stereo" not in flat and "agent.fillers" not in flat
    utts = utterances_from_dicts(sample["utterances"])
    assert len(utts) == len(sample["utterances"])
    assert utts[0].role == sample["utterances"][0]["role"]
    assert len(utts[0].words) == len(sample["utterances"][0]["words"])


# --------------------------------------------------------------------------- files
def test_load_calibration_set() -> None:
    calls = load_calibration_set(SET)
    assert [c.call_id for c in calls] == ["cal-01", "cal-02", "cal-03"]
    c1 = calls[0]
    assert c1.labels["C05"] == A and c1.label_why["C05"].startswith("« Si je comprends")
    assert c1.juror_labels["M. Diallo"]["C05"] == NA
    assert c1.juror_why["M. Diallo"]["C05"].startswith("Une seule reformulation")
    assert len(c1.script_questions) == 3 and c1.crm_note
    assert c1.utterances[1].role == "agent"
    assert all(u.end > u.start for u in c1.utterances)
    assert all(b.start >= a.end for a, b in zip(c1.utterances, c1.utterances[1:], strict=False))
    # cal-03 has jurors only: the reference is their majority
    c3 = calls[2]
    assert c3.labels == {}
    ref = c3.reference()
    assert ref["C03"] == NA  # non, non, acquis
    assert ref["C08"] == A  # acquis, acquis, non
    assert "C02" not in ref
    # a single file and a list of files work too
    assert load_calibration_set(SET / "cal-02.yaml")[0].call_id == "cal-02"
    assert len(load_calibration_set([SET / "cal-01.yaml", SET / "cal-03.yaml"])) == 2


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


TURNS = """turns:
  - {speaker: agent, text: "Bonjour, Marc Petit de Vélo Plus."}
  - {speaker: callee, text: "Bonjour."}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (TURNS + "labels: {C01: acquise}\n", ["x.yaml", "labels.C01", "acquise", "non_acquis"]),
        (
            TURNS + "labels: {C01: {why: oui}}\n",
            ["x.yaml", "labels.C01", "« state » manquant"],
        ),
        ("labels: {C01: acquis}\n", ["x.yaml", "aucune transcription", "turns"]),
        (
            "turns:\n  - {speaker: client, text: Bonjour}\nlabels: {C01: acquis}\n",
            ["x.yaml", "turns[1]", "'client'", "agent, callee"],
        ),
        ("turns:\n  - {speaker: agent}\nlabels: {C01: acquis}\n", ["turns[1]", "« text »"]),
        (TURNS, ["x.yaml", "aucune coche de juré", "labels"]),
        (TURNS + "jurors: {A: [acquis]}\n", ["x.yaml", "jurors.A", "dictionnaire"]),
        (TURNS + "jurors: {A: {C01: plutot}}\n", ["jurors.A.C01", "'plutot'"]),
        ("- just\n- a list\n", ["x.yaml", "dictionnaire YAML"]),
        ("turns: [\n  {speaker: agent\n", ["x.yaml", "ligne", "YAML invalide"]),
        (TURNS + "labels: {C01: acquis}\nscript: {questions: 3}\n", ["script", "questions"]),
        (TURNS + "labels: {C01: acquis}\nanalysis: nowhere.json\n", ["analyse introuvable"]),
        (
            "turns:\n  - {speaker: callee, text: Allô}\nlabels: {C01: acquis}\n",
            ["x.yaml", "aucun énoncé du candidat"],
        ),
    ],
)
def test_malformed_calibration_files(tmp_path: Path, text: str, expected: list[str]) -> None:
    write(tmp_path, "x.yaml", text)
    with pytest.raises(CalibrationError) as err:
        load_calibration_set(tmp_path)
    for part in expected:
        assert part in str(err.value), str(err.value)


def test_missing_set_duplicate_ids_and_bad_records(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="introuvable"):
        load_calibration_set(tmp_path / "nowhere")
    with pytest.raises(CalibrationError, match="aucun fichier d'appel"):
        load_calibration_set(tmp_path)
    write(tmp_path, "a.yaml", "id: same\n" + TURNS + "labels: {C01: acquis}\n")
    write(tmp_path, "b.yaml", "id: same\n" + TURNS + "labels: {C01: acquis}\n")
    with pytest.raises(CalibrationError, match="« same » en double"):
        load_calibration_set(tmp_path)
    with pytest.raises(CalibrationError, match="aucune transcription"):
        CalibrationCall(call_id="db-1", labels={"C01": A})
    with pytest.raises(CalibrationError, match="'oui'"):
        CalibrationCall.from_analysis(
            {"utterances": [{"role": "agent", "text": "Bonjour", "start": 0, "end": 1}]},
            labels={"C01": "oui"},
        )


# --------------------------------------------------------------------------- calibrate
@pytest.fixture(scope="module")
def calls() -> list[CalibrationCall]:
    return load_calibration_set(SET)


@pytest.fixture(scope="module")
def rescorer(calls: list[CalibrationCall]) -> Rescorer:
    return Rescorer(calls)


def test_calibrate_report_is_consistent_with_suggestions(
    rescorer: Rescorer, calls: list[CalibrationCall]
) -> None:
    report = rescorer.calibrate(None)
    rubric = load_rubric(None)
    manual = {c.id for c in rubric.criteria if c.manual}
    compared = [m.id for m in report.criteria]
    assert not set(compared) & manual
    assert compared == [c.id for c in rubric.criteria if c.id in compared]  # grid order
    pairs_all = []
    for m in report.criteria:
        pairs = [
            (c.reference()[m.id], report.suggestions[c.call_id][m.id])
            for c in calls
            if m.id in c.reference()
        ]
        pairs_all += pairs
        assert m.n == len(pairs)
        assert m.agreement == pytest.approx(agreement(pairs))
        k = cohen_kappa(pairs)
        assert (m.kappa is None and k is None) or m.kappa == pytest.approx(k)
        assert sum(sum(row.values()) for row in m.confusion.values()) == m.n
    assert report.overall.n == len(pairs_all) == 12 + 12 + 5
    assert report.overall.agree == sum(a == b for a, b in pairs_all)
    # every disagreement is listed with the tool's reason and the juror's why
    wrong = {
        (c.call_id, cid)
        for c in calls
        for cid, state in c.reference().items()
        if cid in compared and report.suggestions[c.call_id][cid] != state
    }
    assert {(d.call_id, d.criterion) for d in report.disagreements} == wrong
    for d in report.disagreements:
        assert d.reason
        call = next(c for c in calls if c.call_id == d.call_id)
        assert d.juror_why == call.why(d.criterion)
        assert d.suggested == report.result(d.call_id, d.criterion).suggested  # type: ignore[union-attr]
    # C02 reads audio features: on transcripts it is undecided for every call
    assert report.metrics("C02").confusion[A][AV] == 2  # type: ignore[union-attr]
    md = report.to_markdown()
    assert "# Calibration de la grille « cp-ffp-appels-sortants »" in md
    assert "## Accord par critère" in md and "## Désaccords" in md
    assert "Débit et volume normaux." in md  # a juror's why beside the tool's reason
    data = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert data["overall"]["n"] == report.overall.n


def test_jurors_agreement_is_fleiss_by_hand(rescorer: Rescorer) -> None:
    report = rescorer.calibrate(None)
    assert report.jurors == ("Mme Aubert", "M. Diallo", "Mme Petit")
    c08 = next(j for j in report.juror_criteria if j.id == "C08")
    # C08 ticks: cal-01 (A, A), cal-02 (NA, A), cal-03 (A, A, NA): computed by hand in
    # test_fleiss_kappa_varying_raters_by_hand: P̄ = 4/9, kappa = (4/9 − 29/49) / (20/49)
    assert c08.subjects == 3
    assert c08.observed == pytest.approx(4 / 9)
    assert c08.fleiss_kappa == pytest.approx((4 / 9 - 29 / 49) / (20 / 49))
    c01 = next(j for j in report.juror_criteria if j.id == "C01")
    assert c01.observed == 1.0
    dis = {(d.call_id, d.criterion) for d in report.juror_disagreements}
    assert dis == {("cal-01", "C05"), ("cal-02", "C08"), ("cal-03", "C03"), ("cal-03", "C08")}
    d = next(d for d in report.juror_disagreements if d.call_id == "cal-01")
    assert d.whys == {"M. Diallo": "Une seule reformulation, en début d'appel."}
    petit = next(p for p in report.per_juror if p.juror == "Mme Petit")
    assert petit.n == 5
    assert "kappa de Fleiss" in report.to_markdown()


def rate_band() -> tuple[float, float]:
    """C02's speaking-rate band in the default grid (read, not assumed)."""
    from call_eval.rubric import FeatureCondition

    rule = load_rubric(None).criterion("C02").rule
    leaf = next(
        c
        for c in getattr(rule, "items", (rule,))
        if isinstance(c, FeatureCondition) and c.feature == "agent.speech_rate_wpm"
    )
    assert leaf.low is not None and leaf.high is not None
    return leaf.low, leaf.high


def bump_version(text: str) -> str:
    return re.sub(
        r"^version: (\d+)$", lambda m: f"version: {int(m.group(1)) + 1}", text, count=1, flags=re.M
    )


def strict_rubric(tmp_path: Path) -> Path:
    """The default grid, next version, with C02's speaking-rate band ending 10 words/min
    below the rate of VOICE (so that VOICE's rate is too fast there)."""
    text = default_rubric_path().read_text(encoding="utf-8")
    pattern = r"(feature: agent\.speech_rate_wpm\s*\n\s*between: \[)([\d.]+), ([\d.]+)\]"
    assert len(re.findall(pattern, text)) == 1
    high = VOICE["agent.speech_rate_wpm"] - 10
    text = re.sub(pattern, lambda m: f"{m.group(1)}{m.group(2)}, {high:g}]", text)
    return write(tmp_path, "strict.yaml", bump_version(text))


LOW, HIGH = rate_band()
VOICE = {
    "agent.speech_rate_wpm": round((LOW + HIGH) / 2),  # inside the default band
    "agent.articulation_rate_sps": 5.2,
    "agent.level_vs_callee_db": -2.0,
    "agent.asr_confidence_mean": 0.93,
}


def test_rescoring_under_a_stricter_rubric_changes_the_suggestion(
    tmp_path: Path, calls: list[CalibrationCall]
) -> None:
    call = replace(calls[0], features_flat=VOICE)  # juror: C02 acquis
    rescorer = Rescorer([call])
    before = rescorer.rescore(None)[0]
    strict = strict_rubric(tmp_path)
    after = rescorer.rescore(strict)[0]
    assert before.result("C02").suggested == A  # type: ignore[union-attr]
    assert after.result("C02").suggested == NA  # type: ignore[union-attr]
    rate = f"{VOICE['agent.speech_rate_wpm']:g}"
    assert rate in after.result("C02").reason  # type: ignore[union-attr]
    # only bands changed: the detectors' findings are reused, not recomputed
    assert len(before.findings) == len(after.findings)
    assert all(a is b for a, b in zip(before.findings, after.findings, strict=True))
    # the comparison shows the change, its effect, and agreement before/after
    cmp = rescorer.compare(None, strict)
    change = next(c for c in cmp.changes if c.criterion == "C02")
    assert (change.before, change.after, change.juror) == (A, NA, A)
    assert change.effect == "dégradée"
    c02 = next(d for d in cmp.criteria if d.id == "C02")
    assert (c02.agreement_before, c02.agreement_after, c02.changed) == (1.0, 0.0, 1)
    assert [c.criterion for c in cmp.changes] == ["C02"]
    md = cmp.to_markdown()
    v = load_rubric(None).version
    assert f"version {v} → « cp-ffp-appels-sortants » version {v + 1}" in md
    assert "| cal-01 | C02 | acquis | non acquis | acquis | dégradée |" in md
    assert cmp.to_dict()["rubric_b"]["version"] == v + 1


def test_changed_detector_parameters_rerun_only_that_detector(
    tmp_path: Path, calls: list[CalibrationCall]
) -> None:
    call = calls[1]  # the weak call: several phrases to avoid, quoted more than once
    text = default_rubric_path().read_text(encoding="utf-8")
    old = "detectors:\n  courtesy.v1: {}\n"
    assert old in text
    text = text.replace(old, old + "  phrases_to_avoid.v1: {phrases_to_avoid: {max_evidence: 1}}\n")
    rubric = write(tmp_path, "one_quote.yaml", bump_version(text))
    rescorer = Rescorer([call])
    before = rescorer.rescore(None)[0].findings
    after = rescorer.rescore(rubric)[0].findings
    others_b = [f for f in before if f.detector != "phrases_to_avoid.v1"]
    others_a = [f for f in after if f.detector != "phrases_to_avoid.v1"]
    assert all(a is b for a, b in zip(others_b, others_a, strict=True))
    phrases_b = [f for f in before if f.detector == "phrases_to_avoid.v1"]
    phrases_a = [f for f in after if f.detector == "phrases_to_avoid.v1"]
    assert phrases_a and all(len(f.evidence) <= 1 for f in phrases_a)
    assert not any(a is b for a in phrases_a for b in phrases_b)


def test_rescore_analysis_keeps_the_original(tmp_path: Path, calls: list[CalibrationCall]) -> None:
    from call_eval.pipeline import AnalysisOptions, analyze_transcript

    call = calls[0]
    analysis = analyze_transcript(
        {"utterances": [u.to_dict() for u in call.utterances]},
        AnalysisOptions(script_questions=call.script_questions, crm_note=call.crm_note),
    ).to_dict()
    analysis["features"] = {
        "agent": {k.split(".", 1)[1]: v for k, v in VOICE.items()},
        "callee": {"speech_rate_wpm": 150.0},
        "call": {"turns": 23, "stereo": False},
    }
    frozen = json.dumps(analysis, sort_keys=True)
    default = rescore_analysis(analysis, None)
    strict = rescore_analysis(analysis, strict_rubric(tmp_path))
    assert json.dumps(analysis, sort_keys=True) == frozen
    state = {
        d["rubric"]["version"]: next(c for c in d["criteria"] if c["id"] == "C02")
        for d in (default, strict)
    }
    assert state[1]["suggested"] == A and state[2]["suggested"] == NA
    assert strict["rescored"]["from_rubric"]["version"] == 1
    assert strict["utterances"] == analysis["utterances"]
    assert strict["score"]["acquis"] == default["score"]["acquis"] - 1
    # the findings stored in the new analysis are those the new rubric scored
    assert findings_from_dicts(strict["findings"])[0].detector


def test_calibrate_command_and_options(calls: list[CalibrationCall], tmp_path: Path) -> None:
    md = calibrate_command(None, SET)
    assert md.startswith("# Calibration de la grille")
    data = json.loads(calibrate_command(None, SET / "cal-02.yaml", fmt="json"))
    assert data["calls"][0]["call_id"] == "cal-02"
    cmp = calibrate_command(None, SET / "cal-03.yaml", compare_path=default_rubric_path())
    assert cmp.startswith("# Comparaison de grilles") and "Aucune : les deux grilles" in cmp
    with pytest.raises(ConfigError, match="md, json"):
        calibrate_command(None, SET, fmt="pdf")
    with pytest.raises(ConfigError, match="C99"):
        calibrate(None, calls[:1], criteria=["C03", "C99"])
    only = calibrate(None, calls[:1], criteria=["C03", "C05"])
    assert [m.id for m in only.criteria] == ["C03", "C05"]
    unknown = replace(calls[0], labels={**calls[0].labels, "X9": A})
    assert any("X9" in w for w in calibrate(None, [unknown]).warnings)
    with pytest.raises(CalibrationError, match="vide"):
        Rescorer([])


def test_record_from_stored_analysis(calls: list[CalibrationCall]) -> None:
    from call_eval.pipeline import AnalysisOptions, analyze_transcript

    call = calls[2]
    analysis = analyze_transcript(
        {"utterances": [u.to_dict() for u in call.utterances]},
        AnalysisOptions(script_questions=call.script_questions),
    ).to_dict()
    record = CalibrationCall.from_analysis(
        analysis,
        juror_labels={"Mme A": {"C03": "non acquis"}, "M. B": {"C03": "à vérifier"}},
    )
    assert record.call_id == analysis["call"]["id"]
    assert record.script_questions == call.script_questions
    assert record.juror_labels["Mme A"]["C03"] == NA  # spelling normalised
    assert record.reference() == {}  # one tick each, different: no majority
    (res,) = Rescorer([record]).rescore(None)
    stored = {c["id"]: c["suggested"] for c in analysis["criteria"]}
    assert res.suggestions() == stored  # same transcript, same rubric → same suggestions
    assert math.isfinite(res.seconds)
