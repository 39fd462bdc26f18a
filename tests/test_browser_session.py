"""A whole exam session in the real app, in headless Chromium.

The session manager signs in, creates the session, seats two jurors (their accounts are
created on the way; the one-time passwords are read off the page), registers the candidate
of the demo call; each juror signs in, chooses their password, scores the call
independently and validates; a juror opens the deliberation, sees where they disagree,
records the jury's final ticks and the decision; the manager downloads the minutes (PDF),
closes the session and downloads the final minutes.

The demo call is the stored sample analysis (no speech recognition runs here). Screenshots
are saved under the test's temporary folder (``CALL_EVAL_SCREENSHOTS`` copies them to
another folder too).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from exam_fixtures import PASSWORD, tone_wav
from test_browser import _free_port, _wait, chrome, run_streamlit, sign_in

from call_eval import store
from call_eval.auth import SYSTEM

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = Path(__file__).parent / "data" / "analysis_sample.json"


@pytest.fixture()
def stored(tmp_path: Path) -> dict:
    """A fresh store: the session manager's account and the demo call, analysed."""
    data_dir = tmp_path / "data"
    db = store.open_db(data_dir=data_dir)
    store.create_user(
        db, SYSTEM, username="claire.morel", display_name="Claire Morel", roles=["manager"],
        password=PASSWORD, must_change_password=False,
    )  # fmt: skip
    analysis = json.loads(SAMPLE.read_text(encoding="utf-8"))
    audio = tone_wav(tmp_path / "appel_demo.wav", seconds=20.0)
    result = store.import_analysis(db, analysis, audio, candidate="Sophie Bernard")
    db.dispose()
    return {"data_dir": data_dir, "url": db.url, "recording": result.recording}


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
def browser(tmp_path: Path) -> Iterator[object]:
    downloads = tmp_path / "telechargements"
    downloads.mkdir()
    with chrome(downloads, window="1500,1300") as driver:
        yield driver


# --------------------------------------------------------------------------- helpers
class Walk:
    """Small verbs over the Streamlit page (labels and keys, as a user sees them)."""

    def __init__(self, driver, base: str, shots: Path) -> None:
        self.d = driver
        self.base = base
        self.shots = shots
        self.copy_to = os.environ.get("CALL_EVAL_SCREENSHOTS")

    def by(self, css: str):
        from selenium.webdriver.common.by import By

        return self.d.find_elements(By.CSS_SELECTOR, css)

    def idle(self) -> None:
        """Wait until the script run is over (shorter pauses than test_browser's)."""
        script = (
            "const a = document.querySelector('[data-testid=\"stApp\"]');"
            "return a && a.getAttribute('data-test-script-state');"
        )
        time.sleep(0.2)
        _wait(self.d, lambda d: d.execute_script(script) == "notRunning", what="script idle")
        time.sleep(0.25)

    def heading(self, text: str, timeout: float = 30) -> None:
        _wait(self.d, lambda d: any(text in h.text for h in self.by("h1")), timeout,
              what=f"heading « {text} »")  # fmt: skip
        self.idle()

    def click(self, element) -> None:
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        time.sleep(0.15)
        element.click()

    def button(self, label: str, within: str = "", exact: bool = True):
        def find(_):
            for b in self.by(f"{within} button"):
                text = b.text.strip()
                if b.is_displayed() and (text == label if exact else label in text):
                    return b
            return None

        return _wait(self.d, find, what=f"button « {label} »")

    def press(self, label: str, within: str = "", exact: bool = True) -> None:
        self.click(self.button(label, within, exact))
        self.idle()

    def fill(self, label: str, value: str, *, enter: bool = False) -> None:
        from selenium.webdriver.common.keys import Keys

        field = _wait(
            self.d,
            lambda _: next(
                (f for f in self.by(f"input[aria-label=\"{label}\"], textarea[aria-label=\"{label}\"]")
                 if f.is_displayed()), None),
            what=f"field « {label} »",
        )  # fmt: skip
        self.click(field)
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(value)
        if enter:
            field.send_keys(Keys.ENTER)
        else:
            field.send_keys(Keys.TAB)
        time.sleep(0.2)

    def date(self, label: str, digits: str) -> None:
        """Type a date into a date field as a user does (day, month, year digits)."""
        from selenium.webdriver.common.keys import Keys

        field = _wait(
            self.d,
            lambda _: next(iter(self.by(f"[role='spinbutton'][aria-label=\"day, {label}\"]")),
                           None),
            what=f"date « {label} »",
        )  # fmt: skip
        self.click(field)
        field.send_keys(digits)
        time.sleep(0.2)
        field.send_keys(Keys.ESCAPE)  # close the calendar the click opened
        time.sleep(0.2)

    def tab(self, label: str) -> None:
        tab = _wait(
            self.d,
            lambda _: next((t for t in self.by("[role='tab']") if t.text.startswith(label)),
                           None),
            what=f"tab « {label} »",
        )  # fmt: skip
        self.click(tab)
        self.idle()

    def choose(self, label: str, option: str) -> None:
        box = _wait(
            self.d,
            lambda _: next((b for b in self.by(f"input[role='combobox'][aria-label=\"{label}\"]")
                            if b.is_displayed()), None),
            what=f"select « {label} »",
        )  # fmt: skip
        self.click(box)
        item = _wait(
            self.d,
            lambda _: next((o for o in self.by("[role='option']") if option in o.text), None),
            what=f"option « {option} »",
        )  # fmt: skip
        item.click()
        time.sleep(0.3)

    def radio(self, label: str) -> None:
        from selenium.webdriver.common.by import By

        target = _wait(
            self.d,
            lambda d: next(
                (r for r in d.find_elements(By.XPATH, "//*[@role='radiogroup']//label")
                 if r.text.strip() == label and r.is_displayed()), None),
            what=f"radio « {label} »",
        )  # fmt: skip
        self.click(target)

    def segment(self, key: str, label: str) -> None:
        button = _wait(
            self.d,
            lambda _: next((b for b in self.by(f".st-key-{key} button") if b.text.strip() == label),
                           None),
            what=f"{key} → {label}",
        )  # fmt: skip
        self.click(button)
        self.idle()

    def text(self) -> str:
        return self.d.find_element("css selector", "[data-testid='stApp']").text

    def wait_text(self, text: str, timeout: float = 30) -> None:
        _wait(self.d, lambda _: text in self.text(), timeout, what=f"« {text} » on the page")
        self.idle()

    def shot(self, name: str, top: bool = True) -> Path:
        if top:
            self.d.execute_script(
                "const m = document.querySelector('[data-testid=\"stMain\"]');"
                "if (m) m.scrollTo(0, 0); window.scrollTo(0, 0);"
            )
            time.sleep(0.3)
        path = self.shots / f"{name}.png"
        self.d.save_screenshot(str(path))
        if self.copy_to:
            Path(self.copy_to).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(self.copy_to) / path.name)
        return path

    def sign_in(self, username: str, password: str) -> None:
        sign_in(self.d, self.base, username, password)
        _wait(self.d, lambda _: not any(h.text == "Connexion" for h in self.by("h1")),
              what="signed in")  # fmt: skip
        self.idle()

    def sign_out(self) -> None:
        self.press("Se déconnecter", within="[data-testid='stSidebar']", exact=False)
        self.heading("Connexion")

    def download(self, label: str, suffix: str, before: set[str]) -> Path:
        self.press(label, exact=False)
        folder: Path = self.d.downloads

        def done(_):
            new = [p for p in folder.iterdir() if p.name not in before and p.suffix == suffix]
            return new[0] if new and new[0].stat().st_size > 0 else None

        return _wait(self.d, done, 30, what=f"download {label}")


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _score(w: Walk, db_url: str, data_dir: Path, username: str, changes: dict[str, str]) -> int:
    """As the signed-in juror: open the review, take the suggestions, tick the rest, validate."""
    w.heading("Appels")
    rid = w.by("[class*='st-key-review-'] button")
    assert rid, "the juror sees the call to score"
    w.click(rid[0])
    w.heading("Revue — Sophie Bernard")
    db = store.open_db(db_url, data_dir)
    try:
        user = next(u for u in store.list_users(db, SYSTEM) if u.username == username)
        listing = store.list_recordings(db, user)
        evaluation = store.find_evaluation(db, user, listing[0].recording.id)
    finally:
        db.dispose()
    assert evaluation is not None
    w.press("Reprendre les suggestions", exact=False)
    w.wait_text("Suggestions reprises")
    for cid in ("C04", "C12", "C13", "C14", "C15"):
        if cid not in changes:
            w.segment(f"tick-{evaluation.id}-{cid}", "Acquis")
    for cid, label in changes.items():
        w.segment(f"tick-{evaluation.id}-{cid}", label)
    w.wait_text("critères acquis sur 15")  # every criterion ticked: the verdict shows
    w.press("Valider l'évaluation", exact=False)
    w.wait_text("la grille est verrouillée")
    return evaluation.id


# --------------------------------------------------------------------------- the walk
def test_a_whole_session_in_the_browser(server, stored, browser, tmp_path) -> None:
    w = Walk(browser, server, tmp_path)
    try:
        _walk(w, stored, browser, tmp_path)
    except Exception:
        w.shot("echec", top=False)  # what the page showed when it stopped
        raise


def _walk(w: Walk, stored: dict, browser, tmp_path: Path) -> None:

    # 1. The manager creates the session.
    w.sign_in("claire.morel", PASSWORD)
    w.heading("Sessions d'examen")
    w.date("Date de la session", "12032027")
    w.fill("Lieu", "Lyon — centre FILEA")
    w.fill("Intitulé (facultatif)", "Promotion relation client, printemps 2027")
    heures = [f for f in w.by("input[aria-label='Heure']") if f.is_displayed()]
    salles = [f for f in w.by("input[aria-label='Salle']") if f.is_displayed()]
    for field, value in zip([*heures, *salles], ["09:00", "11:00", "A12", "A14"], strict=True):
        w.click(field)
        field.send_keys(value)
    w.press("Créer la session")
    w.heading("Session du 12/03/2027 — Lyon — centre FILEA")

    # 2. The jury: a FILEA representative and a professional, with their accounts.
    w.tab("Jury")
    passwords = {}
    for name, quality, org, years, briefing, username in (
        ("Paul Durand", "Représentant de FILEA", "FILEA Lyon", "8", "15022027", "paul.durand"),
        ("Anne Roux", "Professionnel", "Assurances Horizon", "2", "", "anne.roux"),
    ):
        w.fill("Nom du juré (prénom et nom)", name)
        w.radio(quality)
        w.fill("Organisation (entreprise, service)", org)
        w.fill("Années d'expérience dans le métier visé", years)
        if briefing:
            w.date("Session d'information de 2 heures suivie le", briefing)
        w.fill("Identifiant (ex. prenom.nom)", username)
        w.press("Ajouter au jury")
        code = _wait(browser, lambda _: next(iter(w.by(".st-key-new-account pre")), None),
                     what="one-time password")  # fmt: skip
        passwords[username] = code.text.strip()
        assert len(passwords[username]) == 19
        assert "onglet=Jury" in browser.current_url  # the page stays on the jury tab
    w.wait_text("Moins de 3 ans d'expérience")  # Anne Roux: warned, not blocked
    assert "non suivie" in w.text()
    w.shot("01_jury_avec_avertissements")

    # 3. The candidate of the demo call.
    w.tab("Candidats")
    w.choose("Appel de la mise en situation", "Sophie Bernard")
    w.press("Inscrire")
    w.wait_text("Sophie Bernard inscrit(e)")
    w.shot("02_candidats")
    w.sign_out()

    # 4. Each juror chooses a password, scores independently, validates.
    changes = {"paul.durand": {}, "anne.roux": {"C02": "Non acquis", "C14": "Non acquis"}}
    for username in ("paul.durand", "anne.roux"):
        w.sign_in(username, passwords[username])
        w.heading("Choisissez votre mot de passe")
        w.fill("Mot de passe actuel (provisoire)", passwords[username])
        w.fill("Nouveau mot de passe", f"phrase secrète du juré {len(username)}")
        w.fill("Confirmez le nouveau mot de passe", f"phrase secrète du juré {len(username)}")
        w.press("Enregistrer le mot de passe")
        _score(w, stored["url"], stored["data_dir"], username, changes[username])
        if username == "paul.durand":
            w.shot("03_revue_validee")
            w.sign_out()

    # 5. Deliberation (as Anne Roux, juror): disagreements, final ticks, decision.
    w.press("Délibération du jury", exact=False)
    w.heading("Délibération — Sophie Bernard")
    w.wait_text("2 désaccord(s)")
    assert "C02, C14" in w.text()
    w.shot("04_deliberation_desaccords")
    w.press("Reprendre les coches unanimes", exact=False)
    w.wait_text("Coches unanimes reprises pour 13 critère(s)")
    db = store.open_db(stored["url"], stored["data_dir"])
    try:
        [session] = store.list_sessions(db, SYSTEM)
        file = store.session_file(db, SYSTEM, session.id)
        sc_id = file.candidates[0].id
    finally:
        db.dispose()
    w.segment(f"final-{sc_id}-C02", "Acquis")
    w.segment(f"final-{sc_id}-C14", "Non acquis")
    w.press("Enregistrer la décision du jury", exact=False)
    w.wait_text("Décision du jury : CERTIFIÉ")
    w.shot("05_decision")
    w.sign_out()

    # 6. The manager: minutes (provisional), closing, final minutes.
    w.sign_in("claire.morel", PASSWORD)
    w.heading("Sessions d'examen")
    w.press("Ouvrir", exact=False)
    w.heading("Session du 12/03/2027")
    w.tab("Documents")
    before = {p.name for p in browser.downloads.iterdir()}
    provisional = w.download("Procès-verbal (PDF)", ".pdf", before)
    text = _pdf_text(provisional)
    assert "Document provisoire" in text and "Sophie Bernard" in text and "CERTIFIÉ" in text
    assert "Paul Durand" in text and "Anne Roux" in text and "Claire Morel" in text
    w.click(_wait(browser, lambda _: next(
        (c for c in w.by("label") if "Je confirme la clôture" in c.text), None)))  # fmt: skip
    w.idle()
    w.press("Clore la session", exact=False)
    w.wait_text("le procès-verbal est définitif")
    w.tab("Documents")
    w.shot("06_documents_session_close")
    shutil.move(provisional, tmp_path / "proces_verbal_provisoire.pdf")
    final = w.download("Procès-verbal (PDF)", ".pdf", set())
    final_text = _pdf_text(final)
    assert "Document provisoire" not in final_text
    assert "13 / 15 (87 %)" in final_text and "Anne Roux : Moins de 3 ans" in final_text
    shutil.copy(final, tmp_path / "proces_verbal.pdf")

    # 7. The annual review, from the menu: the session's figures.
    link = _wait(browser, lambda _: next(
        (a for a in w.by("[data-testid='stSidebar'] a") if "Bilan annuel" in a.text), None))  # fmt: skip
    w.click(link)
    w.heading("Bilan annuel")
    w.wait_text("Taux de réussite")
    assert "Page not found" not in w.text()
    w.shot("08_bilan_annuel")
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "70", str(final), str(tmp_path / "07_pv")],
                       check=True)  # fmt: skip
        if w.copy_to:
            for page in tmp_path.glob("07_pv*.png"):
                shutil.copy(page, Path(w.copy_to) / page.name)
