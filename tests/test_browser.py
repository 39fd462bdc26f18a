"""The real app in headless Chromium: sign in as a juror, land on the sample call's review,
tick, reload (the sign-in survives: cookie), check.

Needs Debian's ``chromium`` and ``chromium-driver`` (or CHROMIUM / CHROMEDRIVER pointing at
them). Screenshots are saved under the test's temporary folder (the path is printed).
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import time
import urllib.request
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from exam_fixtures import PASSWORD

from call_eval import store
from call_eval.auth import SYSTEM

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = Path(__file__).parent / "data" / "analysis_sample.json"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


@contextmanager
def run_streamlit(argv: list[str], env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Serve the app on its port; yield its base URL once healthy; stop it afterwards."""
    port = argv[argv.index("--server.port") + 1]
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(
        [*argv, "--server.fileWatcherType", "none"], cwd=ROOT, env=env, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("streamlit did not start: " + (tmp_path / "streamlit.log").read_text())
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tone_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    n = int(rate * seconds)
    frames = bytes(int(128 + 50 * math.sin(2 * math.pi * 330 * i / rate)) for i in range(n))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


@pytest.fixture()
def stored(tmp_path: Path) -> dict:
    data_dir = tmp_path / "data"
    db = store.open_db(data_dir=data_dir)
    analysis = json.loads(SAMPLE.read_text(encoding="utf-8"))
    audio = _tone_wav(tmp_path / "appel.wav", analysis["call"]["duration"])
    result = store.import_analysis(db, analysis, audio, candidate="Jeanne Martin")
    manager = store.create_user(
        db, SYSTEM, username="claire.morel", display_name="Claire Morel", roles=["manager"],
        password=PASSWORD, must_change_password=False,
    ).user  # fmt: skip
    juror = store.create_user(
        db, SYSTEM, username="paul.durand", display_name="Paul Durand", roles=["juror"],
        password=PASSWORD, must_change_password=False,
    ).user  # fmt: skip
    session = store.create_session(db, manager, session_date="2027-03-12", place="Lyon")
    store.add_jury_member(db, manager, session.id, juror.juror_id, "professionnel")
    store.register_candidate(
        db, manager, session.id, "Jeanne Martin", recording_id=result.recording.id
    )
    evaluation = store.open_evaluation(db, juror, result.recording.id)
    db.dispose()
    return {
        "data_dir": data_dir,
        "url": db.url,
        "recording": result.recording,
        "evaluation_id": evaluation.id,
        "juror": juror,
    }


@pytest.fixture()
def server(stored: dict, tmp_path: Path) -> Iterator[str]:
    from call_eval.ui.launch import streamlit_command

    port = _free_port()
    argv, env = streamlit_command(
        port=port,
        open_ref=stored["recording"].call_id,
        headless=True,
        address="127.0.0.1",
        data_dir=stored["data_dir"],
    )
    env.pop("CALL_EVAL_DB_URL", None)
    with run_streamlit(argv, env, tmp_path) as base:
        yield base


@contextmanager
def chrome(downloads: Path | None = None, window: str = "1500,1200") -> Iterator[object]:
    """Headless Chromium (French, audio allowed to play); ``downloads``: where files go."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(
            "chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={window}",
        "--lang=fr-FR",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(arg)
    if downloads is not None:
        options.add_experimental_option(
            "prefs",
            {
                "download.default_directory": str(downloads),
                "download.prompt_for_download": False,
                "profile.default_content_setting_values.automatic_downloads": 1,
            },
        )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    if downloads is not None:
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
        driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture()
def browser() -> Iterator[object]:
    with chrome() as driver:
        yield driver


def _wait(driver, condition, timeout: float = 30.0, what: str = "condition"):
    """Wait until ``condition(driver)`` is truthy. Streamlit redraws elements on every
    rerun, so an element read while the page reruns may go stale: try again then."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(
        driver, timeout, ignored_exceptions=(StaleElementReferenceException,)
    ).until(lambda d: condition(d), message=what)


def _idle(driver) -> None:
    """Wait until the script run is over and the page has settled."""
    script = (
        "const a = document.querySelector('[data-testid=\"stApp\"]');"
        "return a && a.getAttribute('data-test-script-state');"
    )
    time.sleep(0.4)
    _wait(driver, lambda d: d.execute_script(script) == "notRunning", what="script idle")
    time.sleep(0.6)


def sign_in(driver, base: str, username: str, password: str) -> None:
    """Fill the « Connexion » form and submit it."""
    from selenium.webdriver.common.by import By

    driver.get(base + "/")
    field = _wait(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, "input[aria-label='Identifiant']"),
        what="sign-in form",
    )
    _idle(driver)
    field.send_keys(username)
    driver.find_element(By.CSS_SELECTOR, "input[aria-label='Mot de passe']").send_keys(password)
    button = next(
        b for b in driver.find_elements(By.CSS_SELECTOR, "button") if "Se connecter" in b.text
    )
    button.click()


def _tick_buttons(driver, key: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, f".st-key-{key} button")


def _selected(driver, key: str) -> str | None:
    for button in _tick_buttons(driver, key):
        if button.get_attribute("aria-checked") == "true":
            return button.text.strip()
    return None


def test_review_tick_persists_across_reload(server, stored, browser, tmp_path) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(server + "/")
    _wait(
        driver,
        lambda d: any("Connexion" in h.text for h in d.find_elements(By.CSS_SELECTOR, "h1")),
        what="sign-in page first",
    )
    sign_in(driver, server, "paul.durand", PASSWORD)
    _wait(
        driver,
        lambda d: any(
            "Revue — Jeanne Martin" in h.text for h in d.find_elements(By.CSS_SELECTOR, "h1")
        ),
        what="review page opened by CALL_EVAL_OPEN",
    )
    _idle(driver)
    assert "/revue" in driver.current_url and "appel=" in driver.current_url
    key = f"tick-{stored['evaluation_id']}-C04"
    assert _selected(driver, key) is None

    acquis = next(b for b in _tick_buttons(driver, key) if b.text.strip() == "Acquis")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", acquis)
    acquis.click()
    db = store.open_db(stored["url"], stored["data_dir"])
    try:
        deadline = time.monotonic() + 15
        juror = stored["juror"]
        while store.get_evaluation(db, juror, stored["evaluation_id"]).mark("C04").tick != "acquis":
            assert time.monotonic() < deadline, "the tick was not saved"
            time.sleep(0.2)
    finally:
        db.dispose()
    _idle(driver)
    driver.save_screenshot(str(tmp_path / "revue_apres_coche.png"))

    driver.refresh()
    _wait(driver, lambda d: _selected(d, key) is not None, what="tick shown after reload")
    _idle(driver)
    assert _selected(driver, key) == "Acquis"
    assert _selected(driver, f"tick-{stored['evaluation_id']}-C05") is None
    driver.execute_script("window.scrollTo(0, 0);")
    driver.save_screenshot(str(tmp_path / "revue_apres_rechargement.png"))

    # Clicking a piece of evidence plays the recording from that moment.
    evidence = driver.find_element(
        By.CSS_SELECTOR, f".st-key-ev-{stored['evaluation_id']}-C09-0 button"
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", evidence)
    evidence.click()
    position = (
        "const a = document.querySelector('.st-key-player audio'); return a && a.currentTime;"
    )
    _wait(driver, lambda d: (d.execute_script(position) or 0) >= 60.0, what="audio seeked")
    assert driver.execute_script(position) < 75
    assert (tmp_path / "revue_apres_rechargement.png").stat().st_size > 10_000
