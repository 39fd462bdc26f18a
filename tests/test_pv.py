"""Session documents: the minutes (procès-verbal) and the jury's individual result sheet as
PDF (text extracted with pypdf, pages rendered), and the results CSV for the office."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from exam_fixtures import Exam, build_exam, import_call, quick_hashing, score_all

from call_eval import report, store


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    quick_hashing(monkeypatch)


@pytest.fixture()
def db(tmp_path) -> store.Database:
    database = store.open_db(data_dir=tmp_path / "data")
    yield database
    database.dispose()


@pytest.fixture()
def decided(db, tmp_path) -> Exam:
    """Jeanne Martin certified 13/15; Zoé Leroy not certified 6/15; Yann Morel absent."""
    exam = build_exam(db, tmp_path, session_date=date(2027, 3, 12))
    score_all(db, exam.juror_a, exam.recording.id)
    score_all(db, exam.juror_b, exam.recording.id, {"C02": "non_acquis"})
    store.adopt_unanimous(db, exam.juror_a, exam.candidate.id)
    store.set_final_tick(db, exam.juror_a, exam.candidate.id, "C02", "acquis")
    store.set_final_comment(db, exam.juror_a, exam.candidate.id, "C08",
                            "N'a pas invité l'appelé à exprimer ses réserves")  # fmt: skip
    for cid in ("C13", "C14", "C15"):
        store.set_final_tick(db, exam.juror_a, exam.candidate.id, cid,
                             "non_acquis" if cid == "C15" else "acquis")  # fmt: skip
    store.record_decision(db, exam.juror_a, exam.candidate.id)
    zoe = import_call(db, tmp_path, "Zoé Leroy", pitch=660.0)
    sc = store.register_candidate(db, exam.manager, exam.session.id, "Zoé Leroy",
                                  recording_id=zoe.recording.id)  # fmt: skip
    rows = store.get_deliberation(db, exam.manager, sc.id).rows
    for i, row in enumerate(rows):
        store.set_final_tick(db, exam.manager, sc.id, row.criterion_id,
                             "acquis" if i < 6 else "non_acquis")  # fmt: skip
    store.record_decision(db, exam.manager, sc.id)
    yann = store.register_candidate(db, exam.manager, exam.session.id, "Yann Morel")
    store.mark_absent(db, exam.manager, yann.id)
    return exam


def _text(pdf: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _minutes_pdf(db, exam: Exam) -> bytes:
    return report.session_minutes_pdf(
        report.build_session_minutes(store.minutes_export(db, exam.manager, exam.session.id))
    )


def test_minutes_list_each_decision_the_jury_and_the_signatures(db, decided) -> None:
    text = _text(_minutes_pdf(db, decided))
    for expected in (
        "Procès-verbal de session d'examen",
        "Assurer les services client en appels sortants",
        "12/03/2027",
        "Lyon — centre FILEA",
        "Mise en situation professionnelle",
        "09:00, salle A12",
        "Entretien technique",
        "Paul Durand",
        "Représentant de FILEA",
        "Anne Roux",
        "Professionnel",
        "Jeanne Martin",
        "13 / 15 (87 %)",
        "CERTIFIÉ",
        "Zoé Leroy",
        "6 / 15 (40 %)",
        "NON CERTIFIÉ",
        "Yann Morel",
        "Absent",
        "Candidats inscrits : 3 — certifiés : 1 — non certifiés : 1 — absents : 1",
        "au moins 70 % des critères",
        "Contreseing — responsable de session",
        "Claire Morel",
        "atteste du bon déroulement matériel des épreuves",
        "Document provisoire",
    ):
        assert expected in text, expected
    # one signature block per juror, and the manager's
    assert text.count("Signature :") == 3
    assert text.count("Membre du jury — ") == 2


def test_closed_session_minutes_are_final_and_carry_the_observations(db, decided) -> None:
    store.update_juror(db, decided.manager, decided.juror_b.juror_id, organisation="Acme",
                       years_experience=2, left_trade_on=None,
                       briefing_on=date(2027, 1, 15))  # fmt: skip
    store.log_dysfunction(db, decided.manager, decided.session.id, observed_on="2027-03-12",
                          category="materiel", description="Casque défaillant")  # fmt: skip
    store.close_session(db, decided.manager, decided.session.id)
    text = _text(_minutes_pdf(db, decided))
    assert "Document provisoire" not in text
    assert "Observations" in text
    assert "Anne Roux : Moins de 3 ans d'expérience dans le métier (2 ans)." in text
    assert "1 dysfonctionnement(s) consigné(s) dans la fiche de suivi (1 non traité(s))" in text


def test_the_jury_result_sheet(db, decided) -> None:
    export = store.jury_sheet_export(db, decided.manager, decided.candidate.id)
    sheet = report.build_result_sheet(export)
    assert sheet["official"] and sheet["decision"] == "certifié"
    assert sheet["total"]["acquis"] == 13 and sheet["validated"]
    text = _text(report.result_sheet_pdf(sheet))
    for expected in (
        "Fiche individuelle de résultat",
        "Jeanne Martin",
        "Session du 12/03/2027 — Lyon — centre FILEA",
        "Première présentation",
        "Paul Durand (Représentant de FILEA); Anne Roux (Professionnel)",
        "Claire Morel",
        "Critères acquis : 13 / 15 (87 %)",
        "CERTIFIÉ",
        "N'a pas invité l'appelé à exprimer ses réserves",
        "Membre du jury — Représentant de FILEA",
        "Membre du jury — Professionnel",
        "Contreseing du responsable de session",
        "Date de la délibération",
    ):
        assert expected in text, expected
    assert "Document provisoire" not in text
    for i in range(1, 16):
        assert f"C{i:02d}" in text
    # Before the decision: provisional, and the jury's sheet says so.
    zoe_pending = store.register_candidate(db, decided.manager, decided.session.id, "Ali Kaci")
    pending = report.build_result_sheet(
        store.jury_sheet_export(db, decided.manager, zoe_pending.id)
    )
    assert "le jury n'a pas encore arrêté sa décision" in _text(report.result_sheet_pdf(pending))


def test_results_csv_for_the_office(db, decided) -> None:
    data = report.results_csv(store.results_rows(db, decided.manager, decided.session.id))
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    by_name = {r["candidat"]: r for r in rows}
    assert set(by_name) == {"Jeanne Martin", "Zoé Leroy", "Yann Morel"}
    assert by_name["Jeanne Martin"]["decision"] == "Certifié"
    assert by_name["Jeanne Martin"]["pourcentage"] == "87"
    assert by_name["Jeanne Martin"]["C15"] == "NA" and by_name["Jeanne Martin"]["C13"] == "A"
    assert by_name["Zoé Leroy"]["decision"] == "Non certifié"
    assert by_name["Yann Morel"]["statut"] == "absent"
    assert by_name["Yann Morel"]["criteres_acquis"] == ""
    assert list(rows[0])[:3] == ["session_date", "lieu", "candidat"]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_minutes_render_as_a4_pages(db, decided, tmp_path: Path) -> None:
    from PIL import Image

    pdf_path = tmp_path / "pv.pdf"
    pdf_path.write_bytes(_minutes_pdf(db, decided))
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf_path), str(tmp_path / "pv")],
                   check=True)  # fmt: skip
    pages = sorted(tmp_path.glob("pv*.png"))
    assert pages
    with Image.open(pages[0]) as image:
        width, height = image.size
        assert height / width == pytest.approx(297 / 210, rel=0.02)
        histogram = image.convert("L").histogram()
        assert sum(histogram[:128]) > 0.01 * width * height
