"""The command line: exit codes, one-line French errors, sub-commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from call_eval.calibration import EXAMPLE_SET
from call_eval.cli import main

DATA = Path(__file__).parent / "data"


def test_transcript_analysis_json(tmp_path, capsys):
    transcript = {
        "utterances": [
            {"role": "callee", "start": 0.0, "end": 0.8, "text": "Allô ?"},
            {
                "role": "agent",
                "start": 1.0,
                "end": 5.0,
                "text": "Bonjour madame Leroy, Thomas Henry, de la banque Sarral. Je vous appelle au sujet de votre assurance habitation. Vous avez deux minutes ?",
            },
            {"role": "callee", "start": 5.2, "end": 6.0, "text": "Oui, allez-y."},
            {
                "role": "agent",
                "start": 6.2,
                "end": 8.0,
                "text": "Merci. Quelle est la surface de votre logement ?",
            },
            {"role": "callee", "start": 8.2, "end": 9.5, "text": "Soixante mètres carrés."},
            {
                "role": "agent",
                "start": 9.7,
                "end": 12.0,
                "text": "Merci beaucoup, bonne journée, au revoir.",
            },
        ]
    }
    src = tmp_path / "t.json"
    src.write_text(json.dumps(transcript, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "a.json"
    assert main(["analyze", "--transcript", str(src), "--format", "json", "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["call"]["input"] == "transcript" and data["features"] is None
    assert [c["id"] for c in data["criteria"]][:3] == ["C01", "C02", "C03"]
    c03 = data["criteria"][2]
    assert c03["suggested"] == "acquis" and c03["evidence"]  # goal + consent are there, with quotes
    assert data["score"]["total"] == 15


def test_markdown_report_in_french(tmp_path, capsys):
    src = tmp_path / "t.json"
    src.write_text(
        json.dumps(
            [
                {"role": "agent", "text": "Bonjour, je vous appelle pour votre contrat."},
                {"role": "callee", "text": "Non merci."},
            ]
        ),
        encoding="utf-8",
    )
    assert main(["analyze", "--transcript", str(src)]) == 0
    out = capsys.readouterr().out
    assert "Grille" in out and "C01" in out


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["analyze", "/nonexistent/call.wav"], 3, "introuvable"),
        (["analyze"], 7, "enregistrement"),
        (["analyze", "--transcript", "/nonexistent.json"], 5, "introuvable"),
        (["analyze", "--transcript", str(DATA / "short_call.yaml")], 5, "JSON"),
    ],
)
def test_errors_are_one_line_with_exit_code(argv, code, message, capsys):
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("Erreur :") and message in err and "\n" not in err


def test_rubric_check(tmp_path, capsys):
    from call_eval import settings

    assert main(["rubric", "check", str(settings.default_rubric_path())]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: x\nversion: 1\ncriteria:\n  - id: C01\n    label: t\n    source: phone\n",
        encoding="utf-8",
    )
    assert main(["rubric", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "source" in out and "call, crm, interview" in out


def test_models_lists_embedded_asr(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "[asr] base" in out and "fr_core_news" in out


def test_calibrate_command(capsys):
    assert main(["calibrate", "--set", str(EXAMPLE_SET)]) == 0
    out = capsys.readouterr().out
    assert "Kappa" in out and "C01" in out


def test_calibrate_from_the_database_and_rubric_versions(tmp_path, monkeypatch, capsys):
    from exam_fixtures import build_exam, quick_hashing, score_all

    from call_eval import store

    quick_hashing(monkeypatch)
    monkeypatch.setenv("CALL_EVAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CALL_EVAL_DB_URL", raising=False)
    db = store.open_db()
    exam = build_exam(db, tmp_path)
    assert main(["calibrate", "--from-db"]) != 0  # nothing validated yet
    assert "Aucune grille validée" in capsys.readouterr().err
    score_all(db, exam.juror_a, exam.recording.id)
    assert main(["calibrate", "--from-db", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [c["call_id"] for c in report["calls"]] == [f"appel-{exam.recording.id}"]
    assert main(["calibrate"]) != 0 and "--from-db" in capsys.readouterr().err
    (base,) = store.list_rubric_versions(db, exam.trainer)
    v2 = store.save_rubric_version(
        db,
        exam.trainer,
        base.text.replace("pass_ratio: 0.70", "pass_ratio: 0.75"),
        based_on=base.id,
    )
    store.activate_rubric_version(db, exam.trainer, v2.id)
    assert main(["rubric", "versions"]) == 0
    out = capsys.readouterr().out
    assert f"v{v2.version}" in out and "EN SERVICE" in out
    assert main(["rubric", "versions", "--export", str(v2.version)]) == 0
    assert "pass_ratio: 0.75" in capsys.readouterr().out
    assert main(["rubric", "versions", "--export", "99"]) != 0
    assert "Versions enregistrées" in capsys.readouterr().err
