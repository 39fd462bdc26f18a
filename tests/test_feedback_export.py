"""The trainee's feedback exported: PDF (report.feedback_pdf), Markdown with the
self-assessment and progress (report.feedback_markdown), and ``call-eval feedback``.

tests/data/analysis_sample.json is a stored analysis without ``findings`` (general advice,
moments anchored in the call); a second analysis, with findings and phrases to avoid, is
made by ``call-eval analyze --transcript`` on the weak calibration call (cal-02).
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from call_eval import report
from call_eval.calibration import EXAMPLE_SET, fmt_time, load_calibration_set
from call_eval.cli import main
from call_eval.feedback import (
    AdvicePoint,
    Feedback,
    Improvement,
    Moment,
    build_feedback,
    compare_self_assessment,
    progress_table,
)

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "analysis_sample.json"
SECTIONS = ("Vos points forts", "À travailler", "Formulations à éviter", "Votre voix")


def _flat(text: str) -> str:
    return " ".join(text.split())


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text, whitespace flattened (pypdf, else pdftotext)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        exe = shutil.which("pdftotext")
        if exe is None:
            pytest.skip("neither pypdf nor pdftotext to read the PDF back")
        src = tmp_path / "read.pdf"
        src.write_bytes(pdf)
        out = subprocess.run(
            [exe, "-enc", "UTF-8", str(src), "-"], capture_output=True, check=True, text=True
        )
        return _flat(out.stdout)
    reader = PdfReader(io.BytesIO(pdf))
    return _flat("\n".join(page.extract_text() for page in reader.pages))


@pytest.fixture()
def sample() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def weak_analysis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``call-eval analyze --format json`` of the weak calibration call (with findings)."""
    call = next(c for c in load_calibration_set(EXAMPLE_SET) if c.call_id == "cal-02")
    folder = tmp_path_factory.mktemp("weak")
    transcript = folder / "cal-02.json"
    transcript.write_text(
        json.dumps({"utterances": [u.to_dict() for u in call.utterances]}, ensure_ascii=False),
        encoding="utf-8",
    )
    out = folder / "analysis.json"
    assert (
        main(["analyze", "--transcript", str(transcript), "--format", "json", "--out", str(out)])
        == 0
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["findings"], "the analysis JSON carries the detectors' findings"
    return out


# --------------------------------------------------------------------------- PDF
def test_pdf_has_sections_moment_quote_and_advice_example(
    sample: dict[str, Any], tmp_path: Path
) -> None:
    fb = build_feedback(sample)
    pdf = report.feedback_pdf(fb, sample, trainee="Éloïse Lefèvre")
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf, tmp_path)
    assert "Retour sur votre appel d'entraînement" in text
    for expected in (*SECTIONS, "Éloïse Lefèvre", "appel_mutuelle_horizon.wav", "9/15", "11/15"):
        assert expected in text, expected
    # C08 is not met: what was missing, the moment « à m:ss, vous : “…” », advice, example
    (imp,) = fb.improvements
    (point,) = imp.points
    assert point.moment is not None and point.moment.quote
    assert point.moment.quote in " ".join(u["text"] for u in sample["utterances"])
    assert f"à {fmt_time(point.moment.start)}, vous : “{_flat(point.moment.quote)}”" in text
    assert _flat(point.missing) in text
    assert _flat(point.advice) in text
    assert point.example and f"Par exemple : {_flat(point.example)}" in text
    # strengths quote the call too; measures with their band and verdict
    assert _flat(fb.strengths[0].praise) in text
    assert _flat(fb.strengths[0].evidence[0].quote) in text
    assert fb.measures and "dans le repère" in text
    assert "Aucune formulation à éviter" in text  # the sample has none


def test_pdf_with_findings_quotes_moments_and_phrases(weak_analysis: Path, tmp_path: Path) -> None:
    analysis = json.loads(weak_analysis.read_text(encoding="utf-8"))
    fb = build_feedback(analysis)
    text = _pdf_text(report.feedback_pdf(fb, analysis), tmp_path)
    assert len(fb.improvements) > 3
    for imp in fb.improvements:
        assert f"{imp.criterion} — {imp.title}" in text
        for p in imp.points:
            assert _flat(p.advice) in text
            if p.moment:
                assert _flat(p.moment.quote) in text
                assert f"à {fmt_time(p.moment.start)}" in text
    assert fb.phrases, "the weak call uses phrases to avoid"
    for ph in fb.phrases:
        assert f"« {ph.phrase} »" in text
        assert _flat(ph.evidence[0].quote) in text
        assert _flat(ph.why) in text
        if ph.better:
            assert _flat(ph.better) in text
    assert "Aucune mesure de la voix" in text  # a transcript: no audio measures


def test_self_assessment_and_progress_sections(
    sample: dict[str, Any], weak_analysis: Path, tmp_path: Path
) -> None:
    ticks = {"C08": "acquis", "C01": "non_acquis", "C02": "acquis"}
    rows = compare_self_assessment(ticks, sample)
    gaps = {r.criterion: r.gap for r in rows}
    assert (gaps["C08"], gaps["C01"], gaps["C02"]) == ("surestimé", "sous-estimé", "")
    weak = json.loads(weak_analysis.read_text(encoding="utf-8"))
    progress = progress_table([weak, sample], dates=["2026-04-02", "2026-03-01"])
    fb = build_feedback(sample)

    text = _pdf_text(
        report.feedback_pdf(fb, sample, self_assessment=rows, progress=progress), tmp_path
    )
    for expected in (
        "Votre auto-évaluation",
        "Surestimé",
        "Sous-estimé",
        "D'accord",
        "1 en accord avec l'outil, 1 surestimé(s)",
        "Progression",
        "Critères acquis",
        "01/03/2026",
        "9/15",
        "156",  # the sample's speaking rate
    ):
        assert expected in text, expected
    assert text.index("01/03/2026") < text.index("02/04/2026")  # oldest attempt first

    md = report.feedback_markdown(
        fb, sample, self_assessment=rows, progress=progress, trainee="Éloïse Lefèvre"
    )
    assert md.startswith("# Retour sur votre appel d'entraînement\n")
    assert "Stagiaire : Éloïse Lefèvre." in md
    assert "## Votre auto-évaluation" in md and "## Progression" in md
    assert "| C08 — Faire exprimer les freins | Acquis | Non acquis | Surestimé |" in md
    assert "| C01 — Se présenter | Non acquis | Acquis | Sous-estimé |" in md
    assert "| 1 | 01/03/2026 | 9/15 ✗ | 156 | −1,8 |" in md
    # without the options: exactly the feedback module's Markdown
    from call_eval.feedback import render_feedback_markdown

    assert report.feedback_markdown(fb, sample) == render_feedback_markdown(fb, sample)


def test_empty_sections_and_long_texts(tmp_path: Path) -> None:
    empty = Feedback(
        call_id="x",
        source="",
        analyzed_at=None,
        score={},
        improvements=(),
        strengths=(),
        to_check=(),
        phrases=(),
    )
    pdf = report.feedback_pdf(empty, None, self_assessment=[], progress=[])
    text = _pdf_text(pdf, tmp_path)
    for expected in (
        *SECTIONS,
        "Aucun point fort",
        "Aucun critère à travailler",
        "Aucune formulation à éviter",
        "Aucune mesure de la voix",
        "Aucun critère à comparer",
        "Aucune tentative",
    ):
        assert expected in text, expected
    md = report.feedback_markdown(empty, self_assessment=[], progress=[])
    assert "Aucun critère à comparer." in md and "Aucune tentative enregistrée." in md

    # very long texts (and a word longer than a line) wrap instead of overflowing
    long_quote = "euh " * 150 + "x" * 300
    long = Feedback(
        call_id="y",
        source="/un/chemin/" + "tres_long_" * 30 + ".wav",
        analyzed_at="2026-03-02T10:00:00+00:00",
        score={"acquis": 3, "total": 15, "needed": 11, "pass_ratio": 0.7, "passed": False},
        improvements=(
            Improvement(
                criterion="C03",
                title="Objectif " * 20,
                label="libellé " * 40,
                reason="raison",
                points=(
                    AdvicePoint(
                        missing="l'accord " * 30,
                        advice="Conseil très long. " * 60,
                        example="Avez-vous deux minutes ? " * 20,
                        moment=Moment(754.0, 760.0, long_quote, "agent", "preuve"),
                    ),
                ),
            ),
        ),
        strengths=(),
        to_check=(),
        phrases=(),
    )
    pdf = report.feedback_pdf(long, None, trainee="Marie-Éloïse " * 10)
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf, tmp_path)
    assert "à 12:34, vous" in text and "3/15" in text
    assert "Conseil très long." in text


@pytest.mark.skipif(not Path("/usr/bin/pdftoppm").exists(), reason="pdftoppm not installed")
def test_first_page_renders(sample: dict[str, Any], tmp_path: Path) -> None:
    src = tmp_path / "retour.pdf"
    src.write_bytes(report.feedback_pdf(build_feedback(sample), sample, trainee="Jean"))
    subprocess.run(
        [
            "/usr/bin/pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            str(src),
            str(tmp_path / "p"),
        ],
        check=True,
        capture_output=True,
    )
    (png,) = tmp_path.glob("p*.png")
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000


# --------------------------------------------------------------------------- CLI
def test_cli_feedback_markdown_and_pdf(weak_analysis: Path, tmp_path: Path, capsys) -> None:
    ticks = tmp_path / "moi.yaml"
    ticks.write_text("C01: acquis\nC03: non acquis\nC09: acquis\nC04:\n", encoding="utf-8")
    md_out = tmp_path / "retour.md"
    args = ["feedback", str(weak_analysis), "--self", str(ticks), "--trainee", "Léa Martin"]
    assert main([*args, "--out", str(md_out)]) == 0
    md = md_out.read_text(encoding="utf-8")
    for expected in (
        "# Retour sur votre appel d'entraînement",
        "Stagiaire : Léa Martin.",
        "## Vos points forts",
        "## À travailler",
        "## Formulations à éviter",
        "## Votre auto-évaluation",
        "| Surestimé |",  # C01: ticked acquis, the weak call does not introduce itself well
        "| D'accord |",
    ):
        assert expected in md, expected

    # md on stdout when no --out
    assert main(["feedback", str(weak_analysis)]) == 0
    assert "## À travailler" in capsys.readouterr().out

    pdf_out = tmp_path / "retour.pdf"
    assert main([*args, "--format", "pdf", "--out", str(pdf_out)]) == 0
    pdf = pdf_out.read_bytes()
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf, tmp_path)
    assert "Léa Martin" in text and "Votre auto-évaluation" in text and "Surestimé" in text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("C01: acquis\nC08: peut-être\n", "Valeurs valides : acquis, non_acquis"),
        ("C01: true\n", "Valeurs valides : acquis, non_acquis"),
        ("- C01\n- C02\n", "l'auto-évaluation doit être un dictionnaire"),
        ("C01: [acquis\n", "YAML invalide"),
        ("C99: acquis\n", "Critère(s) inconnu(s)"),
    ],
)
def test_cli_bad_self_assessment(
    sample: dict[str, Any], tmp_path: Path, capsys, content: str, expected: str
) -> None:
    analysis = tmp_path / "a.json"
    analysis.write_text(json.dumps(sample, ensure_ascii=False), encoding="utf-8")
    ticks = tmp_path / "moi.yaml"
    ticks.write_text(content, encoding="utf-8")
    code = main(["feedback", str(analysis), "--self", str(ticks)])
    captured = capsys.readouterr()
    assert code != 0
    assert captured.out == ""
    err = captured.err.strip()
    assert err.startswith("Erreur : ") and expected in err
    assert len(err.splitlines()) == 1 and "Traceback" not in captured.err


def test_cli_feedback_input_errors(sample: dict[str, Any], tmp_path: Path, capsys) -> None:
    analysis = tmp_path / "a.json"
    analysis.write_text(json.dumps(sample, ensure_ascii=False), encoding="utf-8")
    cases = [
        (["feedback", str(analysis), "--format", "pdf"], "ajoutez --out"),
        (["feedback", str(tmp_path / "absent.json")], "fichier d'analyse introuvable"),
        (["feedback", str(DATA / "short_call.yaml")], "ce n'est pas une analyse"),
    ]
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    cases.append((["feedback", str(broken)], "JSON invalide"))
    for argv, expected in cases:
        assert main(argv) != 0
        captured = capsys.readouterr()
        assert expected in captured.err and "Traceback" not in captured.err, argv
        assert captured.out == ""
