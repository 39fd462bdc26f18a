"""The « Calibration des grilles » page in headless Chromium: a trainer signs in, lands on
the report for the stored set (exam calls whose jurors validated their grids), changes
C02's speaking-rate band in the form, saves a new version and compares the two versions.

Screenshots are saved under the test's temporary folder (``CALL_EVAL_SCREENSHOTS`` copies
them to another folder too).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from exam_fixtures import PASSWORD, build_exam, quick_hashing, score_all
from test_browser import _free_port, _wait, chrome, run_streamlit, sign_in

from call_eval import store

pytestmark = pytest.mark.browser


@pytest.fixture()
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    quick_hashing(monkeypatch)
    data_dir = tmp_path / "data"
    db = store.open_db(data_dir=data_dir)
    exam = build_exam(db, tmp_path)
    score_all(db, exam.juror_a, exam.recording.id, {"C05": "non_acquis"})
    score_all(db, exam.juror_b, exam.recording.id, {"C08": "acquis"})
    score_all(db, exam.outsider, exam.other_recording.id, {"C01": "non_acquis"})
    db.dispose()
    return {"data_dir": data_dir, "url": db.url}


@pytest.fixture()
def server(stored: dict, tmp_path: Path) -> Iterator[str]:
    from call_eval.ui.launch import streamlit_command

    port = _free_port()
    argv, env = streamlit_command(
        port=port, headless=True, address="127.0.0.1", data_dir=stored["data_dir"]
    )
    env.pop("CALL_EVAL_DB_URL", None)
    env.pop("CALL_EVAL_OPEN", None)
    with run_streamlit(argv, env, tmp_path) as base:
        yield base


@pytest.fixture()
def browser() -> Iterator[object]:
    with chrome(window="1500,1300") as driver:
        yield driver


def _idle(driver) -> None:
    script = (
        "const a = document.querySelector('[data-testid=\"stApp\"]');"
        "return a && a.getAttribute('data-test-script-state');"
    )
    time.sleep(0.3)
    _wait(driver, lambda d: d.execute_script(script) == "notRunning", 60, what="script idle")
    time.sleep(0.4)


def _shot(driver, tmp_path: Path, name: str, full: bool = False) -> Path:
    """A screenshot (``full``: the whole page height, by resizing the window)."""
    size = driver.get_window_size()
    if full:
        height = driver.execute_script(
            "const m = document.querySelector('[data-testid=\"stMain\"]');"
            "return Math.max(document.body.scrollHeight, m ? m.scrollHeight : 0);"
        )
        driver.set_window_size(size["width"], min(max(height + 120, size["height"]), 6000))
        time.sleep(0.6)
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    if full:
        driver.set_window_size(size["width"], size["height"])
    copy_to = os.environ.get("CALL_EVAL_SCREENSHOTS")
    if copy_to:
        Path(copy_to).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(copy_to) / path.name)
    logging.getLogger(__name__).info("screenshot: %s", path)
    return path


def _find(driver, css: str, predicate, what: str, timeout: float = 30.0):
    """The first element matching ``css`` and ``predicate`` (waiting for it; elements
    replaced by a rerun while being read are looked up again)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    def look(d):
        try:
            return next((e for e in d.find_elements(By.CSS_SELECTOR, css) if predicate(e)), None)
        except StaleElementReferenceException:
            return None

    return _wait(driver, look, timeout, what=what)


def _tab(driver, label: str) -> None:

    tab = _find(driver, "[role='tab']", lambda t: label in t.text, f"tab « {label} »")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", tab)
    tab.click()
    _idle(driver)


def test_trainer_calibrates_edits_and_compares(server, stored, browser, tmp_path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser
    sign_in(driver, server, "fanny.formatrice", PASSWORD)
    _find(driver, "h1", lambda h: "Calibration des grilles" in h.text, "the landing page")
    _find(driver, "[data-testid='stMetricValue']", lambda m: True, "report metrics", 60)
    _idle(driver)
    page = driver.find_element(By.CSS_SELECTOR, "[data-testid='stMain']").text
    assert "2 appels, dont 1 noté(s) par plusieurs jurés" in page
    assert "Accord par critère" in page and "Désaccords" in page
    assert "Accord entre jurés" in page
    assert _shot(driver, tmp_path, "calibration_rapport", full=True).stat().st_size > 20_000

    _tab(driver, "Modifier la grille")
    expander = _find(
        driver,
        "[data-testid='stExpander'] summary",
        lambda e: "C02 —" in e.text,
        "C02's expander",
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", expander)
    expander.click()
    time.sleep(0.5)
    field = _find(
        driver,
        "input[type='number']",
        lambda i: i.get_attribute("aria-label") == "débit de parole (mots/min) : maximum",
        "the speaking-rate maximum",
    )
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("125", Keys.ENTER)
    _wait(
        driver,
        lambda d: "Modifications non enregistrées" in d.page_source,
        what="pending changes",
    )
    _idle(driver)
    note = driver.find_element(By.CSS_SELECTOR, "input[aria-label='Note de version']")
    note.send_keys("Bande de débit resserrée", Keys.ENTER)
    _idle(driver)
    _shot(driver, tmp_path, "calibration_modifier")
    save = _find(
        driver, "button", lambda b: "Enregistrer une nouvelle version" in b.text, "save button"
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", save)
    save.click()
    _wait(driver, lambda d: "Version 2 de la grille" in d.page_source, what="saved")
    _idle(driver)
    db = store.open_db(stored["url"], stored["data_dir"])
    try:
        from call_eval.auth import SYSTEM

        versions = store.list_rubric_versions(db, SYSTEM)
        assert [v.version for v in versions] == [2, 1]
        assert "between: [120, 125]" in versions[0].text
    finally:
        db.dispose()

    _tab(driver, "Comparer deux versions")
    _wait(driver, lambda d: "Suggestions qui changent" in d.page_source, 60, what="comparison")
    _idle(driver)
    page = driver.find_element(By.CSS_SELECTOR, "[data-testid='stMain']").text
    assert "s'en écartent" in page
    _shot(driver, tmp_path, "calibration_comparer", full=True)
