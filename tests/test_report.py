"""Reports: the Markdown view of an analysis and the result sheet (JSON and PDF)."""

from __future__ import annotations

import copy
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from call_eval import report

SAMPLE = Path(__file__).parent / "data" / "analysis_sample.json"


@pytest.fixture()
def analysis() -> dict:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def _export(ticks: dict[str, str | None], *, status: str = "valide", comments=None) -> dict:
    """The shape of store.evaluation_export, built from the sample's criteria."""
    criteria = json.loads(SAMPLE.read_text(encoding="utf-8"))["criteria"]
    comments = comments or {}
    return {
        "candidate": {"id": 1, "name": "Éloïse Lefèvre"},
        "recording": {
            "id": 1,
            "call_id": "5809cc4771d1723d",
            "sha256": "5809cc4771d1723d" + "0" * 48,
            "filename": "appel_mutuelle_horizon.wav",
            "duration": 92.5,
            "uploaded_at": "2026-11-30T08:00:00+00:00",
        },
        "analysis": {
            "analyzed_at": "2026-11-30T09:15:00+00:00",
            "rubric": {"id": "cp-ffp-appels-sortants", "version": 1},
        },
        "evaluation": {
            "id": 1,
            "status": status,
            "validated_at": "2026-11-30T10:30:00+00:00" if status == "valide" else None,
            "updated_at": "2026-11-30T10:29:00+00:00",
            "pass_ratio": 0.7,
        },
        "juror": {"id": 1, "name": "Gérard Noël"},
        "criteria": [
            {
                "id": c["id"],
                "label": c["label"],
                "source": c["source"],
                "manual": c["manual"],
                "suggested": c["suggested"],
                "tick": ticks.get(c["id"]),
                "comment": comments.get(c["id"], ""),
            }
            for c in criteria
        ],
    }


def _ticks(acquis: int) -> dict[str, str]:
    ids = [f"C{i:02d}" for i in range(1, 16)]
    return {cid: ("acquis" if i < acquis else "non_acquis") for i, cid in enumerate(ids)}


# --------------------------------------------------------------------------- Markdown
def test_markdown_has_call_roles_utterances_criteria_and_score(analysis: dict) -> None:
    md = report.render_markdown(analysis)
    assert "# Analyse de l'appel « appel_mutuelle_horizon.wav »" in md
    assert "1 min 32 s" in md and "2 canaux" in md and "16 kHz" in md
    assert "cp-ffp-appels-sortants (version 1)" in md
    assert "Candidat (agent) : **left**" in md and "confiance 93 %" in md
    for reason in analysis["roles"]["reasons"]:
        assert reason in md
    assert "| 00:01 | 00:07 | Candidat | Bonjour Monsieur Garnier" in md
    assert "| 00:00 | 00:01 | Appelé | Allô, oui ? |" in md
    c09 = next(line for line in md.splitlines() if line.startswith("| **C09**"))
    assert "Acquis" in c09 and "69 %" in c09 and "01:00–01:08" in c09
    c13 = next(line for line in md.splitlines() if line.startswith("| **C13**"))
    assert "À vérifier (manuel)" in c13
    assert "**9 / 15** critères suggérés acquis (60 %)" in md
    assert "seuil 70 % soit 11 critères : **non atteint**, il en manque 2" in md


def test_markdown_escapes_table_pipes(analysis: dict) -> None:
    analysis["utterances"][0]["text"] = "oui | non"
    md = report.render_markdown(analysis)
    assert "oui \\| non" in md


def test_features_table_shows_the_rubric_bands(analysis: dict, tmp_path: Path) -> None:
    rubric = tmp_path / "grille.yaml"
    rubric.write_text(
        "id: test\nversion: 3\ncriteria:\n"
        "  - id: C02\n    rule:\n      all:\n"
        "        - {feature: agent.speech_rate_wpm, between: [130, 190], unit: mots/min}\n"
        "        - {feature: agent.level_vs_callee_db, min: -12}\n",
        encoding="utf-8",
    )
    analysis["rubric"]["path"] = str(rubric)
    md = report.render_markdown(analysis)
    assert "| Candidat | Débit (mots/min) | 156 | 130 à 190 mots/min |" in md
    assert "| Candidat | Niveau par rapport à l'appelé (dB) | −1,8 | ≥ −12 |" in md
    assert "| Appelé | Débit (mots/min) | 142 | — |" in md
    assert report.feature_band(analysis, "agent.speech_rate_wpm") == (130.0, 190.0)
    assert report.feature_band(analysis, "agent.level_vs_callee_db") is None


def test_transcript_analysis_has_no_feature_section(analysis: dict) -> None:
    analysis["features"] = None
    analysis["models"]["asr"] = None
    analysis["call"]["input"] = "transcript"
    md = report.render_markdown(analysis)
    assert "## Mesures audio" not in md
    assert "transcription fournie" in md


# --------------------------------------------------------------------------- sheet
@pytest.mark.parametrize(
    ("acquis", "decision"), [(11, "certifié"), (10, "non certifié"), (15, "certifié")]
)
def test_decision_is_certified_from_70_percent(acquis: int, decision: str) -> None:
    sheet = report.build_result_sheet(_export(_ticks(acquis)))
    assert sheet["decision"] == decision
    assert sheet["total"]["acquis"] == acquis and sheet["total"]["needed"] == 11


def test_incomplete_sheet_is_provisional() -> None:
    ticks = _ticks(12)
    ticks["C14"] = None
    sheet = report.build_result_sheet(_export(ticks, status="en_revue"))
    assert sheet["decision"] == "incomplet" and sheet["status"] == "provisoire"
    assert sheet["total"]["unticked"] == 1
    json.dumps(sheet)


def _pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_sheet_content(tmp_path: Path) -> None:
    comments = {"C08": "N'a pas invité l'appelé à exprimer ses réserves", "C01": "Très clair"}
    sheet = report.build_result_sheet(_export(_ticks(12), comments=comments))
    pdf = report.result_sheet_pdf(sheet)
    assert pdf.startswith(b"%PDF")
    text = " ".join(_pdf_text(pdf).split())
    for expected in (
        "Fiche individuelle de résultat",
        "Éloïse Lefèvre",
        "Gérard Noël",
        "appel_mutuelle_horizon.wav",
        "Critères acquis : 12 / 15 (80 %)",
        "CERTIFIÉ",
        "Très clair",
        "N'a pas invité l'appelé à exprimer ses réserves",
        "Entretien technique",
        "Signature",
        "Le candidat se présente de manière claire",
    ):
        assert expected in text, expected
    for i in range(1, 16):
        assert f"C{i:02d}" in text
    assert "Document provisoire" not in text


def test_pdf_marks_a_provisional_sheet() -> None:
    ticks = _ticks(8)
    ticks["C03"] = None
    sheet = report.build_result_sheet(_export(ticks, status="en_revue"))
    text = " ".join(_pdf_text(report.result_sheet_pdf(sheet)).split())
    assert "Document provisoire" in text
    assert "Non coché" in text
    assert "DÉCISION EN ATTENTE" in text


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pdf_renders_as_an_a4_image(tmp_path: Path) -> None:
    from PIL import Image

    sheet = report.build_result_sheet(_export(_ticks(9), comments={"C02": "Débit élevé"}))
    pdf_path = tmp_path / "fiche.pdf"
    pdf_path.write_bytes(report.result_sheet_pdf(sheet))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", str(pdf_path), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages
    with Image.open(pages[0]) as image:
        width, height = image.size
        assert height / width == pytest.approx(297 / 210, rel=0.02)
        grey = image.convert("L")
        histogram = grey.histogram()
        dark = sum(histogram[:128])
        assert dark > 0.01 * width * height  # text and table lines were drawn


def test_markdown_sheet(tmp_path: Path) -> None:
    sheet = report.build_result_sheet(_export(_ticks(10)))
    md = report.result_sheet_markdown(sheet)
    assert "Décision : NON CERTIFIÉ" in md and "10 / 15" in md
    changed = copy.deepcopy(sheet)
    changed["candidate"] = "A | B"
    assert "A | B" in report.result_sheet_markdown(changed)
