"""Rubric loading and validation: the certification grid file and the error messages."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from call_eval import settings
from call_eval.errors import RubricError
from call_eval.rubric import (
    AllOf,
    AnyOf,
    DetectorCondition,
    FeatureCondition,
    Not,
    check_rubric,
    load_rubric,
    parse_rubric,
)

GRID_LABELS = [
    "Le candidat se présente de manière claire, précise et concise.",
    "Le candidat s'exprime avec un débit intelligible et un volume audible.",
    "Le candidat annonce l'objectif de son appel et sollicite l'accord de l'appelé pour le "
    "poursuivre.",
    "Le candidat déroule le script de questionnaire et l'adapte en fonction des informations "
    "communiquées par l'appelé.",
    "Le candidat reformule les informations obtenues et sollicite le feedback régulier de "
    "l'appelé (écoute active).",
    "Le candidat sollicite et recueille les informations en lien avec l'objectif de l'appel.",
    "Le candidat identifie les besoins/attentes/motivations du client.",
    "Le candidat facilite l'explicitation des freins, hésitations et objections de l'appelé.",
    "Le candidat répond et traite les objections de l'appelé.",
    "Le candidat énonce sa proposition d'action (Rendez-vous/Commande/Mise à jour de ses "
    "informations/Rappel).",
    "Le candidat contractualise avec l'appelé son accord sur la proposition d'action et prend "
    "congé.",
    "Le candidat trace l'entretien dans la base de données CRM.",
    "Le candidat identifie et distingue les différentes typologies de campagnes d'appels.",
    "Le candidat décrit les attitudes verbales et les discours à proscrire dans un entretien en "
    "ligne et en explique les effets contre-productifs.",
    "Le candidat situe son action dans un processus prenant en compte des acteurs fournisseurs "
    "en amont et clients en aval de sa campagne d'appels.",
]

DETS = {"greeting.v1": None, "objection.v1": None, "goal_statement.v1": None}


def _yaml(body: str) -> str:
    return textwrap.dedent(body).lstrip("\n")


def _parse(body: str, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("detectors", DETS)
    kw.setdefault("features", None)
    return parse_rubric(_yaml(body), source="grille.yaml", **kw)


def _problems(body: str, **kw) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(RubricError) as info:
        _parse(body, **kw)
    return str(info.value)


MINIMAL = """
id: test-grid
version: 3
language: fr
pass_ratio: 0.7
criteria:
  - id: C01
    label: "Salue l'appelé."
    source: call
    rule: {detector: greeting.v1, role: agent}
"""


# --------------------------------------------------------------------------- the grid file
def test_default_rubric_is_the_certification_grid() -> None:
    rubric = load_rubric()
    assert rubric.path == str(settings.default_rubric_path())
    assert [c.id for c in rubric.criteria] == [f"C{i:02d}" for i in range(1, 16)]
    assert [c.label for c in rubric.criteria] == GRID_LABELS
    assert rubric.pass_ratio == pytest.approx(0.70)
    assert rubric.needed == 11
    assert [c.id for c in rubric.criteria if c.manual] == ["C13", "C14", "C15"]
    assert {c.source for c in rubric.criteria if c.manual} == {"interview"}
    assert rubric.criterion("C12").source == "crm"
    assert rubric.criterion("C09").a_verifier_when is not None
    assert rubric.criterion("C12").a_verifier_when is not None
    assert rubric.criterion("C14").supporting is not None
    data = Path(rubric.path).read_bytes()
    assert rubric.sha256 == hashlib.sha256(data).hexdigest()
    assert rubric.describe() == {
        "id": "cp-ffp-appels-sortants",
        "version": rubric.version,
        "path": "rubrics/cp_ffp_appels_sortants.yaml",
        "sha256": rubric.sha256,
    }


def test_default_rubric_checks_clean_against_the_real_registry() -> None:
    assert check_rubric(settings.default_rubric_path()) == []


def test_default_rubric_bands_for_speech_rate_are_wide() -> None:
    rule = load_rubric().criterion("C02").rule
    assert isinstance(rule, AllOf)
    rate = next(c for c in rule.items if isinstance(c, FeatureCondition) and "wpm" in c.feature)
    assert rate.low is not None and rate.high is not None
    assert rate.low <= 130 and rate.high >= 190


# --------------------------------------------------------------------------- parsing
def test_minimal_rubric_parses_into_frozen_conditions() -> None:
    rubric = _parse(MINIMAL)
    assert (rubric.id, rubric.version, rubric.language) == ("test-grid", 3, "fr")
    cond = rubric.criteria[0].rule
    assert isinstance(cond, DetectorCondition)
    assert (cond.detector, cond.role, cond.min, cond.max, cond.min_score) == (
        "greeting.v1",
        "agent",
        1,
        None,
        0.5,
    )
    with pytest.raises(AttributeError):
        cond.min = 3  # type: ignore[misc]
    assert rubric.needed == 1
    assert rubric.detector_names() == ("greeting.v1",)


def test_combinators_where_and_features_are_built() -> None:
    rubric = _parse(
        """
        id: g
        version: 1
        pass_ratio: 0.5
        detectors:
          objection.v1: {threshold: 0.4}
        criteria:
          - id: X
            label: "x"
            source: call
            rule:
              any:
                - not: {detector: objection.v1, role: callee, where: {data.handling: [ignored]}}
                - all:
                    - {feature: agent.speech_rate_wpm, between: [130, 190], optional: true}
                    - {feature: agent.level_vs_callee_db, min: -12}
                    - {detector: goal_statement.v1, label: "goal:*", where: {data.n: {min: 2}}}
        """
    )
    rule = rubric.criteria[0].rule
    assert isinstance(rule, AnyOf)
    assert isinstance(rule.items[0], Not)
    inner = rule.items[1]
    assert isinstance(inner, AllOf)
    rate, level, goal = inner.items
    assert isinstance(rate, FeatureCondition) and (rate.low, rate.high) == (130, 190)
    assert rate.optional and rate.tolerance == pytest.approx(6.0)  # 10 % of the band
    assert isinstance(level, FeatureCondition) and (level.low, level.high) == (-12, None)
    assert isinstance(goal, DetectorCondition) and goal.labels == ("goal:*",)
    assert goal.where[0].path == ("n",) and goal.where[0].op == "min"
    assert rubric.detector_overrides() == {"objection.v1": {"threshold": 0.4}}
    assert rubric.feature_names() == ("agent.level_vs_callee_db", "agent.speech_rate_wpm")
    assert rubric.detector_names() == ("goal_statement.v1", "objection.v1")


# --------------------------------------------------------------------------- errors
def test_unknown_detector_names_file_line_criterion_field_and_valid_values() -> None:
    msg = _problems(MINIMAL.replace("greeting.v1", "greting.v1"))
    assert msg.startswith("grille.yaml:9: critère C01, champ « rule.detector »")
    assert "greting.v1" in msg
    assert "greeting.v1" in msg and "objection.v1" in msg  # the valid names are listed


def test_unknown_feature_is_reported_with_the_valid_names() -> None:
    body = MINIMAL.replace(
        "rule: {detector: greeting.v1, role: agent}",
        "rule: {feature: agent.speed, min: 1}",
    )
    msg = _problems(body, features=frozenset({"agent.speech_rate_wpm", "call.duration_s"}))
    assert "critère C01" in msg and "rule.feature" in msg
    assert "agent.speech_rate_wpm" in msg and "call.duration_s" in msg
    # without a published list, only the naming pattern is checked
    assert _parse(body).criteria[0].rule.feature == "agent.speed"  # type: ignore[union-attr]
    assert "nom de mesure invalide" in _problems(body.replace("agent.speed", "speed"))


@pytest.mark.parametrize(
    ("old", "new", "field", "needle"),
    [
        ("role: agent", "role: candidat", "rule.role", "agent, callee, any"),
        ("source: call", "source: phone", "source", "call, crm, interview"),
        ("role: agent}", "role: agent, min_score: 2}", "rule.min_score", "entre 0 et 1"),
        ("role: agent}", "role: agent, min: 3, max: 1}", "rule.min", "dépasse max"),
        ("role: agent}", "role: agent, colour: red}", "rule.colour", "Clés valides"),
        ("role: agent}", "role: agent, where: {handling: x}}", "rule.where.handling", "data."),
        (
            "role: agent}",
            "role: agent, where: {data.n: {above: 1}}}",
            "rule.where.data.n.above",
            "Opérateurs valides",
        ),
        ('label: "Salue l\'appelé."', "label: ''", "label", "libellé manquant"),
    ],
)
def test_field_errors_name_the_criterion_and_field(
    old: str, new: str, field: str, needle: str
) -> None:
    assert old in MINIMAL
    msg = _problems(MINIMAL.replace(old, new))
    assert msg.startswith("grille.yaml:")
    assert f"critère C01, champ « {field} »" in msg
    assert needle in msg


def test_feature_band_errors() -> None:
    body = MINIMAL.replace(
        "rule: {detector: greeting.v1, role: agent}",
        "rule: {feature: agent.level_dbfs, between: [10, 2]}",
    )
    assert "champ « rule.between »" in _problems(body)
    body = MINIMAL.replace(
        "rule: {detector: greeting.v1, role: agent}", "rule: {feature: agent.level_dbfs}"
    )
    assert "between, min ou max" in _problems(body)


def test_top_level_errors() -> None:
    assert "champ « pass_ratio »" in _problems(MINIMAL.replace("0.7", "70"))
    assert "champ « version »" in _problems(MINIMAL.replace("version: 3", "version: v3"))
    msg = _problems(MINIMAL.replace("id: test-grid", "id: Test Grid"))
    assert msg.startswith("grille.yaml:1: champ « id »")


def test_asr_discount_is_checked() -> None:
    ok = _parse(MINIMAL + "asr_discount: {feature: agent.asr_confidence_mean, weight: 0.5}\n")
    assert ok.asr_discount is not None
    assert ok.asr_discount.factor({"agent.asr_confidence_mean": 0.8}) == pytest.approx(0.9)
    assert ok.asr_discount.factor({}) == 1.0
    msg = _problems(MINIMAL + "asr_discount: {feature: agent.asr_confidence_mean, weight: 3}\n")
    assert "champ « asr_discount »" in msg


def test_rule_required_unless_manual() -> None:
    body = MINIMAL.replace("    rule: {detector: greeting.v1, role: agent}\n", "")
    assert "critère C01, champ « rule »" in _problems(body)
    manual = body.replace("source: call", "source: interview\n    manual: true")
    crit = _parse(manual).criteria[0]
    assert crit.manual and crit.rule is None
    assert "entretien technique" in crit.reasons["a_verifier"]


def test_reason_templates_are_checked() -> None:
    body = MINIMAL + '    reasons: {acquis: "Bravo {name}."}\n'
    msg = _problems(body)
    assert "champ « reasons.acquis »" in msg and "{found}" in msg
    body = MINIMAL + '    reasons: {parfait: "x"}\n'
    assert "champ « reasons.parfait »" in _problems(body)


def test_confidence_settings_are_checked() -> None:
    body = MINIMAL + "    confidence: {acquis: {base: 0.8, span: 0.5}}\n"
    assert "champ « confidence.acquis »" in _problems(body)
    ok = _parse(MINIMAL + "    confidence: {acquis: {base: 0.7, span: 0.2}}\n")
    spec = ok.criteria[0].confidence["acquis"]
    assert spec.at(0.0) == pytest.approx(0.7) and spec.at(1.0) == pytest.approx(0.9)


def test_duplicates_are_reported() -> None:
    extra = (
        '  - id: C01\n    label: "Encore."\n    source: call\n    rule: {detector: greeting.v1}\n'
    )
    msg = _problems(MINIMAL + extra)
    assert "critère C01, champ « id »" in msg and "double" in msg
    dup_key = MINIMAL.replace("version: 3\n", "version: 3\nversion: 4\n")
    assert "clé en double" in _problems(dup_key)


def test_yaml_syntax_error_gives_the_line() -> None:
    msg = _problems(MINIMAL.replace("source: call", "source: [call"))
    assert msg.startswith("grille.yaml:") and "YAML" in msg


def test_load_reports_first_problem_and_check_lists_them_all(tmp_path: Path) -> None:
    bad = tmp_path / "grille.yaml"
    bad.write_text(
        _yaml(MINIMAL).replace("role: agent}", "role: boss, min_score: 7}"), encoding="utf-8"
    )
    problems = check_rubric(bad)
    assert any("champ « rule.role »" in p for p in problems)
    assert any("champ « rule.min_score »" in p for p in problems)
    assert all(p.startswith(f"{bad}:9: critère C01") for p in problems)
    with pytest.raises(RubricError) as info:
        load_rubric(bad)
    assert str(info.value).startswith(problems[0])
    assert f"+{len(problems) - 1} autre(s) problème(s)" in str(info.value)
    assert "\n" not in str(info.value)


def test_describe_keeps_an_outside_path_absolute(tmp_path: Path) -> None:
    grid = tmp_path / "grille.yaml"
    grid.write_text(_yaml(MINIMAL).replace("greeting.v1", "self_presentation.v1"))
    rubric = load_rubric(grid)
    assert rubric.describe()["path"] == str(grid)
    assert rubric.describe()["version"] == 3


def test_missing_file() -> None:
    with pytest.raises(RubricError, match="grille introuvable"):
        load_rubric("/nonexistent/grille.yaml")
    assert "grille introuvable" in check_rubric("/nonexistent/grille.yaml")[0]


def test_detector_override_params_are_checked_against_the_lexicon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lexicon").mkdir()
    (tmp_path / "lexicon" / "fam.yaml").write_text("threshold: 0.5\nphrases: [a]\n")
    monkeypatch.setenv("CALL_EVAL_RUBRICS_DIR", str(tmp_path))
    dets = {"greeting.v1": SimpleNamespace(lexicon="fam")}
    ok = _parse(MINIMAL + "detectors:\n  greeting.v1: {threshold: 0.6}\n", detectors=dets)
    assert ok.detector_overrides() == {"greeting.v1": {"threshold": 0.6}}
    msg = _problems(MINIMAL + "detectors:\n  greeting.v1: {treshold: 0.6}\n", detectors=dets)
    assert "champ « detectors.greeting.v1.treshold »" in msg
    assert "phrases, threshold" in msg
    msg = _problems(MINIMAL + "detectors:\n  nope.v1: {}\n", detectors=dets)
    assert "champ « detectors.nope.v1 »" in msg and "greeting.v1" in msg
