"""Form editing of a rubric and of the advice texts: values written in place, comments kept."""

from __future__ import annotations

import difflib
import textwrap
from pathlib import Path

import pytest
import yaml

from call_eval.detectors.base import load_lexicon, merge_params
from call_eval.errors import RubricError
from call_eval.feedback import check_advice_text, parse_advice
from call_eval.rubric import DetectorCondition, FeatureCondition, parse_rubric
from call_eval.rubric_edit import (
    Parameter,
    advice_fields,
    apply_advice_edits,
    apply_edits,
    bump_version,
    editable_parameters,
    validate,
    validate_advice,
)

RUBRICS = Path(__file__).resolve().parents[1] / "rubrics"
RUBRIC_TEXT = (RUBRICS / "cp_ffp_appels_sortants.yaml").read_text(encoding="utf-8")
ADVICE_TEXT = (RUBRICS / "advice_fr.yaml").read_text(encoding="utf-8")

C02_RATE_MIN = "criteria.C02.rule.all[0].min"
C02_RATE_MAX = "criteria.C02.rule.all[0].max"
GREETING = "detectors.courtesy.v1.courtesy.rules.greeting"
PRICE = "detectors.objection.v1.objection.rules.price"

MINI = textwrap.dedent(
    """\
    # une grille minimale
    id: mini
    version: 3
    language: fr
    pass_ratio: 0.5   # la moitié
    criteria:
      - id: C01
        label: "Salue l'appelé."
        source: call
        threshold: 0.6
        uncertain_margin: 0.1
        rule: {all: [{detector: objection.v1, role: callee, min: 1},
                     {feature: agent.speech_rate_wpm, min: 120, max: 210}]}
      - id: C02
        label: "Parle fort."
        source: call
        rule:
          feature: agent.level_vs_callee_db
          between:
            - -12   # bas
            - 3     # haut
    """
)


def _params(text: str) -> dict[str, Parameter]:
    return {p.key: p for p in editable_parameters(text)}


def _comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip().startswith("#")]


def _changed_lines(old: str, new: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def _feature(rubric_text: str, cid: str, index: int) -> FeatureCondition:
    rule = parse_rubric(rubric_text, features=None).criterion(cid).rule
    cond = rule.items[index]  # type: ignore[union-attr]
    assert isinstance(cond, FeatureCondition)
    return cond


# --------------------------------------------------------------------------- listing
def test_parameters_of_the_real_rubric() -> None:
    params = _params(RUBRIC_TEXT)
    lines = RUBRIC_TEXT.splitlines()

    ratio = params["pass_ratio"]
    assert (ratio.kind, ratio.value, ratio.source) == ("number", 0.7, "grille")
    assert lines[ratio.line - 1] == "pass_ratio: 0.70"  # type: ignore[operator]

    low, high = params[C02_RATE_MIN], params[C02_RATE_MAX]
    assert (low.value, high.value, low.criterion) == (120.0, 210.0, "C02")
    assert low.label == "C02 — débit de parole (mots/min) : minimum"
    assert "between: [120, 210]" in lines[low.line - 1]  # type: ignore[operator]
    assert params["criteria.C02.rule.all[2].min"].value == -12.0
    # numbers of detector conditions, where tests included; counts are whole numbers
    count = params["criteria.C04.rule.all[0].any[1].all[1].min"]
    assert (count.value, count.integer) == (4.0, True)
    assert params["criteria.C06.rule.where.data.answered_count.min"].value == 3.0
    assert params["criteria.C09.rule.all[0].not.min_score"].value == 0.6
    # every number's line holds that number
    for p in params.values():
        if p.kind == "number":
            assert p.line is not None and f"{p.value:g}".lstrip("-")[:3] in lines[p.line - 1]


def test_phrase_lists_follow_the_detectors_the_rubric_runs() -> None:
    params = editable_parameters(RUBRIC_TEXT)
    phrases = [p for p in params if p.kind == "phrases"]
    used = parse_rubric(RUBRIC_TEXT).detector_names()
    detectors = {n for n in used if any(p.key.startswith(f"detectors.{n}.") for p in phrases)}
    assert all(any(p.key.startswith(f"detectors.{n}.") for n in detectors) for p in phrases)
    assert {"courtesy.v1", "objection.v1", "self_presentation.v1"} <= detectors
    greeting = next(p for p in phrases if p.key == GREETING)
    lexicon = load_lexicon("courtesy")
    assert greeting.value == tuple(lexicon["courtesy"]["rules"]["greeting"])
    assert (greeting.source, greeting.line) == ("lexique", None)
    assert all(isinstance(x, str) for p in phrases for x in p.value)


def test_noop_apply_returns_identical_text() -> None:
    everything = {p.key: p.value for p in editable_parameters(RUBRIC_TEXT)}
    assert apply_edits(RUBRIC_TEXT, everything) == RUBRIC_TEXT
    assert apply_edits(RUBRIC_TEXT, {}) == RUBRIC_TEXT
    fields = {p.key: p.value for p in advice_fields(ADVICE_TEXT)}
    assert apply_advice_edits(ADVICE_TEXT, fields) == ADVICE_TEXT  # type: ignore[arg-type]


# --------------------------------------------------------------------------- numbers
def test_edit_band_keeps_comments_and_layout() -> None:
    new = apply_edits(RUBRIC_TEXT, {C02_RATE_MIN: 110, C02_RATE_MAX: 222.5, "pass_ratio": 0.75})
    rate = _feature(new, "C02", 0)
    assert (rate.feature, rate.low, rate.high) == ("agent.speech_rate_wpm", 110.0, 222.5)
    assert parse_rubric(new).pass_ratio == 0.75
    assert _comments(new) == _comments(RUBRIC_TEXT)
    assert _changed_lines(RUBRIC_TEXT, new) == [
        "-pass_ratio: 0.70",
        "+pass_ratio: 0.75",
        "-          between: [120, 210]",
        "+          between: [110, 222.5]",
    ]
    assert validate(new) == []
    assert _params(new)[C02_RATE_MAX].value == 222.5


def test_edit_numbers_in_flow_mappings_and_block_lists() -> None:
    params = _params(MINI)
    assert {
        "pass_ratio",
        "criteria.C01.threshold",
        "criteria.C01.uncertain_margin",
        "criteria.C01.rule.all[0].min",
        "criteria.C01.rule.all[1].min",
        "criteria.C01.rule.all[1].max",
        "criteria.C02.rule.min",
        "criteria.C02.rule.max",
    } <= set(params)
    new = apply_edits(
        MINI,
        {
            "criteria.C01.threshold": 0.55,
            "criteria.C01.rule.all[0].min": 2,
            "criteria.C01.rule.all[1].max": 190,
            "criteria.C02.rule.min": -10.5,
        },
    )
    rubric = parse_rubric(new, features=None)
    c01 = rubric.criterion("C01")
    assert c01.threshold == 0.55
    det, feat = c01.rule.items  # type: ignore[union-attr]
    assert isinstance(det, DetectorCondition) and det.min == 2
    assert isinstance(feat, FeatureCondition) and (feat.low, feat.high) == (120.0, 190.0)
    level = rubric.criterion("C02").rule
    assert isinstance(level, FeatureCondition) and (level.low, level.high) == (-10.5, 3.0)
    assert "{feature: agent.speech_rate_wpm, min: 120, max: 190}]}" in new
    assert "        - -10.5   # bas" in new.splitlines()
    assert _comments(new) == _comments(MINI)
    assert len(_changed_lines(MINI, new)) == 8  # four lines, each - and +


def test_invalid_numbers_are_refused_in_french() -> None:
    with pytest.raises(RubricError, match="attend un nombre"):
        apply_edits(RUBRIC_TEXT, {"pass_ratio": "0,75"})
    with pytest.raises(RubricError, match="nombre fini"):
        apply_edits(RUBRIC_TEXT, {"pass_ratio": float("inf")})
    with pytest.raises(RubricError, match="attend un nombre"):
        apply_edits(RUBRIC_TEXT, {"pass_ratio": True})
    with pytest.raises(RubricError, match="nombre entier"):
        apply_edits(RUBRIC_TEXT, {"criteria.C04.rule.all[0].any[1].all[1].min": 4.5})


def test_out_of_range_edit_is_written_and_reported_by_validate() -> None:
    new = apply_edits(RUBRIC_TEXT, {C02_RATE_MIN: 300})
    problems = validate(new)
    assert len(problems) == 1
    assert "C02" in problems[0] and "rule.all[0].between" in problems[0]


def test_unknown_key_lists_valid_keys() -> None:
    with pytest.raises(RubricError) as info:
        apply_edits(RUBRIC_TEXT, {"criteria.C02.rule.all[0].mini": 100})
    message = str(info.value)
    assert "paramètre inconnu « criteria.C02.rule.all[0].mini »" in message
    assert "Vouliez-vous dire" in message and C02_RATE_MIN in message
    assert "pass_ratio" in message


# --------------------------------------------------------------------------- phrase lists
def test_add_phrase_override_to_an_existing_detector_entry() -> None:
    phrases = ["bonjour", "bonsoir", "salut, toi", "on"]
    new = apply_edits(RUBRIC_TEXT, {GREETING: phrases})
    rubric = parse_rubric(new)
    assert rubric.detector_overrides()["courtesy.v1"] == {
        "courtesy": {"rules": {"greeting": phrases}}
    }
    # lists replace, mappings merge: the other courtesy rules stay the lexicon's
    merged = merge_params(load_lexicon("courtesy"), rubric.detector_overrides()["courtesy.v1"])
    assert merged["courtesy"]["rules"]["greeting"] == phrases
    assert (
        merged["courtesy"]["rules"]["thanks"]
        == load_lexicon("courtesy")["courtesy"]["rules"]["thanks"]
    )
    assert _comments(new) == _comments(RUBRIC_TEXT)
    assert _changed_lines(RUBRIC_TEXT, new) == [
        "-  courtesy.v1: {}",
        "+  courtesy.v1: {courtesy: {rules: {greeting: [bonjour, bonsoir, 'salut, toi', 'on']}}}",
    ]
    edited = _params(new)[GREETING]
    assert (edited.source, edited.value) == ("grille", tuple(phrases))
    assert edited.line is not None and "courtesy.v1:" in new.splitlines()[edited.line - 1]


def test_add_phrase_override_for_a_new_detector_then_replace_it() -> None:
    first = apply_edits(RUBRIC_TEXT, {PRICE: ["trop cher", "c'est cher « vraiment »"]})
    assert parse_rubric(first).detector_overrides()["objection.v1"] == {
        "objection": {"rules": {"price": ["trop cher", "c'est cher « vraiment »"]}}
    }
    old_lines = RUBRIC_TEXT.splitlines()
    assert [line for line in first.splitlines() if line in old_lines] == old_lines  # only added
    second = apply_edits(first, {PRICE: ["hors budget"], f"{PRICE[:-5]}time": ["pas le temps"]})
    overrides = parse_rubric(second).detector_overrides()
    assert overrides["objection.v1"] == {
        "objection": {"rules": {"price": ["hors budget"], "time": ["pas le temps"]}}
    }
    assert "trop cher" not in second
    assert second.count("objection.v1:") == first.count("objection.v1:")
    assert validate(second) == []


def test_replace_block_list_override_and_create_missing_section() -> None:
    with_section = MINI.replace(
        "pass_ratio: 0.5   # la moitié\n",
        "pass_ratio: 0.5   # la moitié\n"
        "detectors:\n"
        "  objection.v1:\n"
        "    objection:\n"
        "      rules:\n"
        "        price:\n"
        '          - "trop cher"\n'
        "          - cher   # court\n",
    )
    new = apply_edits(with_section, {PRICE: ["onéreux", "prix: élevé"]})
    assert "          - onéreux\n          - 'prix: élevé'   # court\n" in new
    assert parse_rubric(new, features=None).detector_overrides()["objection.v1"] == {
        "objection": {"rules": {"price": ["onéreux", "prix: élevé"]}}
    }
    # no detectors: section yet: created after pass_ratio
    created = apply_edits(MINI, {PRICE: ["trop cher"]})
    lines = created.splitlines()
    at = lines.index("pass_ratio: 0.5   # la moitié")
    assert lines[at + 1 : at + 6] == [
        "detectors:",
        "  objection.v1:",
        "    objection:",
        "      rules:",
        "        price: [trop cher]",
    ]
    assert parse_rubric(created, features=None).detector_overrides() == {
        "objection.v1": {"objection": {"rules": {"price": ["trop cher"]}}}
    }


def test_phrase_lists_must_be_non_empty_lists_of_texts() -> None:
    with pytest.raises(RubricError, match="ne peut pas être vide"):
        apply_edits(RUBRIC_TEXT, {GREETING: ["  ", ""]})
    with pytest.raises(RubricError, match="liste de formulations"):
        apply_edits(RUBRIC_TEXT, {GREETING: "bonjour"})
    with pytest.raises(RubricError, match="doit être un texte"):
        apply_edits(RUBRIC_TEXT, {GREETING: ["bonjour", 3]})
    # blank items are dropped, spaces inside items kept (prefix phrases such as "mon ")
    new = apply_edits(RUBRIC_TEXT, {GREETING: ["bonjour ", "", "bonsoir"]})
    greeting = parse_rubric(new).detector_overrides()["courtesy.v1"]["courtesy"]["rules"]
    assert greeting["greeting"] == ["bonjour ", "bonsoir"]


# --------------------------------------------------------------------------- version
def test_bump_version() -> None:
    new = bump_version(RUBRIC_TEXT, 2)
    assert parse_rubric(new).version == 2
    assert _changed_lines(RUBRIC_TEXT, new) == ["-version: 1", "+version: 2"]
    assert bump_version(new, 2) == new
    added = bump_version(MINI.replace("version: 3\n", ""), 4)
    assert added.splitlines()[1:3] == ["id: mini", "version: 4"]
    with pytest.raises(RubricError, match="entier ≥ 1"):
        bump_version(RUBRIC_TEXT, 0)


def test_broken_yaml_is_refused_in_french() -> None:
    with pytest.raises(RubricError, match="YAML invalide ligne"):
        editable_parameters("id: x\ncriteria: [\n")
    assert validate("id: x\ncriteria: [\n")[0].startswith("<grille modifiée>:")


# --------------------------------------------------------------------------- advice
def test_advice_fields() -> None:
    fields = {p.key: p for p in advice_fields(ADVICE_TEXT)}
    book, problems = parse_advice(yaml.safe_load(ADVICE_TEXT))
    assert problems == [] and book is not None
    advice = fields["criteria.C01.advice"]
    assert (advice.kind, advice.criterion, advice.source) == ("text", "C01", "conseils")
    assert advice.value == book.criteria["C01"].advice
    assert ADVICE_TEXT.splitlines()[advice.line - 1].startswith("    advice: ")  # type: ignore[operator]
    assert {"criteria.C01.praise", "criteria.C01.example"} <= set(fields)
    assert fields["criteria.C13.praise"].line is None  # manual criterion: no praise written


def test_advice_edit_round_trip_with_quotes_and_colons() -> None:
    text = 'Dites « bonjour », puis "votre nom" : c\'est clair # pas un commentaire \\ fin'
    praise = "Bien vu : « préparé »."
    new = apply_advice_edits(
        ADVICE_TEXT,
        {"criteria.C01.advice": text, "criteria.C13.praise": f"  {praise}\n"},
    )
    assert check_advice_text(new) == [] and validate_advice(new) == []
    book, problems = parse_advice(yaml.safe_load(new))
    assert problems == [] and book is not None
    assert book.criteria["C01"].advice == text
    assert book.criteria["C13"].praise == praise
    assert (
        book.criteria["C01"].example
        == parse_advice(yaml.safe_load(ADVICE_TEXT))[0].criteria["C01"].example
    )  # type: ignore[union-attr]
    assert _comments(new) == _comments(ADVICE_TEXT)
    changed = _changed_lines(ADVICE_TEXT, new)
    assert len(changed) == 3  # one line replaced, one added
    assert changed[1] == (
        '+    advice: "Dites « bonjour », puis \\"votre nom\\" : c\'est clair # pas un '
        'commentaire \\\\ fin"'
    )
    lines = new.splitlines()
    at = lines.index('    title: "Typologies de campagnes (entretien)"')
    assert lines[at + 1] == '    praise: "Bien vu : « préparé »."'


def test_advice_line_breaks_stay_on_one_line_and_bad_keys_are_refused() -> None:
    new = apply_advice_edits(ADVICE_TEXT, {"criteria.C02.example": "a\nb"})
    assert len(new.splitlines()) == len(ADVICE_TEXT.splitlines())
    assert yaml.safe_load(new)["criteria"]["C02"]["example"] == "a\nb"
    with pytest.raises(RubricError, match="paramètre inconnu"):
        apply_advice_edits(ADVICE_TEXT, {"criteria.C99.advice": "x"})
    with pytest.raises(RubricError, match="attend un texte"):
        apply_advice_edits(ADVICE_TEXT, {"criteria.C01.advice": 3})  # type: ignore[dict-item]
    emptied = apply_advice_edits(ADVICE_TEXT, {"criteria.C01.advice": ""})
    assert any("C01.advice" in p for p in validate_advice(emptied))
