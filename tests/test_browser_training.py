"""« Mes entraînements » in headless Chromium: a trainee signs in, lands on their practice
call (suggestions already shown), reads the comparison, then the advice; an evidence time
plays the call from there. Screenshots go to the test's temporary folder and, when
``CALL_EVAL_SHOTS`` names a folder, there too.

Needs Debian's ``chromium`` and ``chromium-driver`` (see tests/test_browser.py).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from exam_fixtures import PASSWORD, sample_analysis, tone_wav
from test_browser import _free_port, _idle, _wait, browser, run_streamlit, sign_in

from call_eval import store
from call_eval.auth import SYSTEM

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the fixture, shared with test_browser.py


def _phrase_finding() -> dict:
    quote = "Pas de souci, je vous rappelle jeudi."
    return {
        "detector": "phrases_to_avoid.v1",
        "role": "agent",
        "score": 0.9,
        "reason": "Formulation à éviter : « pas de souci ».",
        "label": "negative",
        "evidence": [
            {"role": "agent", "start": 84.5, "end": 86.0, "quote": quote, "speaker": "left"}
        ],
        "data": {
            "phrase": "pas de problème / pas de souci",
            "category": "negative",
            "count": 1,
            "effect": "évoque un problème là où il n'y en a pas ; préférez « avec plaisir »",
        },
    }


def _import(db, tmp_path: Path, trainee, pitch: float, edit=None) -> int:
    analysis = sample_analysis()
    audio = tone_wav(tmp_path / f"entrainement_{pitch:.0f}.wav", pitch=pitch,
                     seconds=analysis["call"]["duration"])  # fmt: skip
    analysis["call"]["sha256"] = store.file_sha256(audio)
    analysis["call"]["source"] = f"entrainement_{pitch:.0f}.wav"
    if edit is not None:
        edit(analysis)
    result = store.import_analysis(
        db, analysis, audio, actor=SYSTEM, purpose=store.PRACTICE, owner_user_id=trainee.id
    )
    return result.recording.id


def _first_try(analysis: dict) -> None:
    """An earlier, weaker attempt: too fast, quieter, two more criteria missed."""
    analysis["features"]["agent"]["speech_rate_wpm"] = 214.0
    analysis["features"]["agent"]["level_vs_callee_db"] = -7.5
    for criterion in analysis["criteria"]:
        if criterion["id"] in ("C02", "C05"):
            criterion["suggested"] = "non_acquis"
    analysis["score"]["acquis"] = 7


def _with_phrase(analysis: dict) -> None:
    analysis["findings"] = [_phrase_finding()]


@pytest.fixture()
def stored(tmp_path: Path) -> dict:
    data_dir = tmp_path / "data"
    db = store.open_db(data_dir=data_dir)
    trainee = store.create_user(
        db, SYSTEM, username="sam.stagiaire", display_name="Sam Stagiaire", roles=["trainee"],
        password=PASSWORD, must_change_password=False,
    ).user  # fmt: skip
    first = _import(db, tmp_path, trainee, 300.0, _first_try)
    store.reveal_suggestions(db, trainee, first)
    rid = _import(db, tmp_path, trainee, 330.0, _with_phrase)
    for criterion, tick in (("C01", "acquis"), ("C02", "acquis"), ("C08", "acquis"),
                            ("C09", "non_acquis"), ("C11", "acquis")):  # fmt: skip
        store.set_self_tick(db, trainee, rid, criterion, tick)
    store.reveal_suggestions(db, trainee, rid)
    pending = _import(db, tmp_path, trainee, 360.0)  # the latest: not compared yet
    store.set_self_tick(db, trainee, pending, "C01", "acquis")
    store.set_self_tick(db, trainee, pending, "C02", "non_acquis")
    db.dispose()
    return {"data_dir": data_dir, "recording_id": rid, "pending_id": pending}


@pytest.fixture()
def server(stored: dict, tmp_path: Path) -> Iterator[str]:
    from call_eval.ui.launch import streamlit_command

    argv, env = streamlit_command(
        port=_free_port(), headless=True, address="127.0.0.1", data_dir=stored["data_dir"]
    )
    env.pop("CALL_EVAL_DB_URL", None)
    env.pop("CALL_EVAL_OPEN", None)
    with run_streamlit(argv, env, tmp_path) as base:
        yield base


def _scroll(driver, y: int) -> None:
    """Scroll the app's main area (the window itself does not scroll)."""
    driver.execute_script(
        "const m = document.querySelector('[data-testid=\"stMain\"]') || "
        "document.querySelector('[data-testid=\"stAppViewContainer\"]');"
        f"if (m) m.scrollTo(0, {y}); window.scrollTo(0, {y});"
    )
    time.sleep(0.6)


def _shot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    driver.save_screenshot(str(path))
    folder = os.environ.get("CALL_EVAL_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / name)
    return path


def _tab(driver, label: str) -> None:
    from selenium.webdriver.common.by import By

    tab = next(
        t for t in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stTab']") if label in t.text
    )
    _scroll(driver, 0)
    tab.click()
    time.sleep(0.8)


def test_trainee_self_assesses_then_reads_comparison_and_advice(
    server, stored, browser, tmp_path
) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    sign_in(driver, server, "sam.stagiaire", PASSWORD)
    _wait(
        driver,
        lambda d: any(
            "Mes entraînements" in h.text for h in d.find_elements(By.CSS_SELECTOR, "h1")
        ),
        what="the trainee's landing page",
    )
    # The latest attempt, not compared yet: the grid, no suggestion.
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".st-key-reveal"), what="grid")
    _idle(driver)
    main = driver.find_element(By.CSS_SELECTOR, "[data-testid='stMain']").text
    assert "Voir les suggestions de l'outil" in main and "2 / 12 critères cochés" in main
    for hidden in ("Surestimé", "confiance", "Aucune question invitant"):
        assert hidden not in main, hidden
    _shot(driver, tmp_path, "entrainement_auto_evaluation.png")

    driver.get(f"{server}/entrainements?appel={stored['recording_id']}")
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".st-key-cmp-C08"), what="rows")
    _idle(driver)
    row = driver.find_element(By.CSS_SELECTOR, ".st-key-cmp-C08").text
    assert "Surestimé" in row and "Aucune question invitant" in row
    assert "Sous-estimé" in driver.find_element(By.CSS_SELECTOR, ".st-key-cmp-C09").text
    _shot(driver, tmp_path, "entrainement_comparaison.png")
    driver.execute_script(
        "document.querySelector('.st-key-cmp-C08').scrollIntoView({block: 'center'});"
    )
    time.sleep(0.6)
    _shot(driver, tmp_path, "entrainement_comparaison_ecarts.png")

    # A piece of evidence plays the call from its moment.
    evidence = driver.find_element(
        By.CSS_SELECTOR, f".st-key-seek-ev-{stored['recording_id']}-C09-0 button"
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", evidence)
    evidence.click()
    position = (
        "const a = document.querySelector('.st-key-train-player audio'); return a && a.currentTime;"
    )
    _wait(driver, lambda d: (d.execute_script(position) or 0) >= 60.0, what="audio seeked")
    assert driver.execute_script(position) < 75
    _idle(driver)

    _tab(driver, "Conseils")
    _wait(
        driver,
        lambda d: any(
            "Qu'est-ce qui vous fait hésiter" in e.text
            for e in d.find_elements(By.CSS_SELECTOR, ".st-key-imp-C08")
        ),
        what="advice shown",
    )
    text = driver.find_element(By.CSS_SELECTOR, "[data-testid='stMain']").text
    for expected in ("À travailler", "Vos points forts", "Formulations à éviter", "Votre voix",
                     "Dites plutôt", "Télécharger le retour (PDF)"):  # fmt: skip
        assert expected in text, expected
    # The moment of a piece of advice plays too, and the tab stays open.
    moment = driver.find_element(
        By.CSS_SELECTOR, f".st-key-seek-mo-{stored['recording_id']}-C08-0 button"
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", moment)
    moment.click()
    _wait(driver, lambda d: (d.execute_script(position) or 0) >= 82.0, what="advice seeked")
    _idle(driver)
    selected = driver.find_element(By.CSS_SELECTOR, "[data-testid='stTab'][aria-selected='true']")
    assert "Conseils" in selected.text
    _scroll(driver, 0)
    shot = _shot(driver, tmp_path, "entrainement_conseils.png")
    assert shot.stat().st_size > 10_000
    _scroll(driver, 900)
    _shot(driver, tmp_path, "entrainement_conseils_suite.png")

    _tab(driver, "Progression")
    _wait(
        driver,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stPlotlyChart']")) >= 3,
        what="progress charts",
    )
    time.sleep(1.0)
    _scroll(driver, 600)
    _shot(driver, tmp_path, "entrainement_progression.png")
