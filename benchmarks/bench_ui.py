"""Page interaction times of the review app with a stored analysis (prints figures).

Synthesises the analysis of a long call (10 min by default: ~200 utterances with words,
features series, 15 criteria with evidence), stores it with a recording of that length,
then times, through streamlit.testing (server-side script time, what a click waits for
before the browser redraws):

- opening the review page from the list (navigation), a rerun of the review page;
- a tick, a comment, "Reprendre les suggestions", a click on a piece of evidence;
- the list of calls with many recordings.

With ``--browser`` it also times the real app in headless Chromium: click on a tick →
saved in the database and the page idle again (round trip as a juror sees it).

    .venv/bin/python benchmarks/bench_ui.py [--minutes 10] [--repeat 5] [--browser]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "tests" / "data" / "analysis_sample.json"

AGENT_LINES = [
    "Je comprends tout à fait, et c'est justement pour cela que je vous appelle aujourd'hui.",
    "Pouvez-vous me dire comment vous faites actuellement pour ce besoin ?",
    "Si je comprends bien, vous souhaitez surtout réduire vos dépenses, c'est bien ça ?",
    "Je vous propose un rendez-vous avec notre conseiller la semaine prochaine.",
    "D'accord, je note ces informations dans votre dossier.",
    "Qu'est-ce qui serait le plus important pour vous dans cette offre ?",
]
CALLEE_LINES = [
    "Oui.",
    "Hm hm.",
    "D'accord.",
    "Oui, d'accord.",
    "Alors, pour l'instant on fait comme ça depuis plusieurs années, mais ce n'est pas idéal.",
    "Je ne sais pas trop, il faudrait que j'en parle à mon conjoint.",
    "C'est un peu cher quand même, non ?",
    "Mardi, ça pourrait aller, plutôt en fin de journée.",
]


def long_analysis(minutes: float, seed: int = 1) -> dict:
    """A schema-1.0 analysis of a call of ``minutes``, built from the hand-written sample."""
    rng = random.Random(seed)
    base = json.loads(SAMPLE.read_text(encoding="utf-8"))
    duration = minutes * 60.0
    utterances, t, role = [], 0.5, "callee"
    while t < duration - 3:
        text = rng.choice(AGENT_LINES if role == "agent" else CALLEE_LINES)
        words = text.split()
        length = min(duration - 0.5, t + len(words) * rng.uniform(0.32, 0.42))
        step = (length - t) / len(words)
        utterances.append(
            {
                "speaker": "left" if role == "agent" else "right",
                "role": role,
                "start": round(t, 2),
                "end": round(length, 2),
                "text": text,
                "words": [
                    {
                        "start": round(t + i * step, 3),
                        "end": round(t + (i + 0.85) * step, 3),
                        "text": w,
                        "probability": round(rng.uniform(0.7, 1.0), 3),
                    }
                    for i, w in enumerate(words)
                ],
            }
        )
        t = length + rng.uniform(0.15, 0.8)
        role = "callee" if role == "agent" else "agent"
    agent = [i for i, u in enumerate(utterances) if u["role"] == "agent"]
    for criterion in base["criteria"]:
        if criterion["manual"] or criterion["source"] != "call":
            continue
        picks = sorted(rng.sample(agent, 3))
        criterion["evidence"] = [
            {
                "speaker": "left",
                "role": "agent",
                "start": utterances[i]["start"],
                "end": utterances[i]["end"],
                "quote": utterances[i]["text"],
            }
            for i in picks
        ]
    series = base["features"]["series"]
    for r in ("agent", "callee"):
        series["level"][r] = [
            {
                "start": u["start"],
                "end": u["end"],
                "t": round((u["start"] + u["end"]) / 2, 2),
                "dbfs": round(-21 + 2 * math.sin(u["start"] / 30), 1),
            }
            for u in utterances
            if u["role"] == r
        ]
        series["rate"][r] = {
            "window": [
                {"t": float(x), "wpm": round(150 + 15 * math.sin(x / 40), 1)}
                for x in range(5, int(duration), 5)
            ],
            "per_utterance": [
                {"utterance": i, "start": u["start"], "end": u["end"], "wpm": 150.0}
                for i, u in enumerate(utterances)
                if u["role"] == r
            ],
        }
    base["utterances"] = utterances
    base["call"].update(duration=round(duration, 2), source=f"appel_long_{minutes:g}min.wav")
    base["call"]["sha256"] = f"{seed:064x}"
    base["call"]["id"] = base["call"]["sha256"][:16]
    return base


def write_wav(path: Path, seconds: float, rate: int = 16000, channels: int = 2) -> Path:
    """A stereo 16-bit wav of the given length (the heaviest common upload)."""
    frame = int(0.5 * 32767 * 0.1).to_bytes(2, "little", signed=True) * channels
    silence = b"\x00\x00" * channels
    block = (frame * 800 + silence * 800) * 10  # 1 s at 16 kHz
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        for _ in range(int(seconds)):
            w.writeframes(block[: rate * 2 * channels])
    return path


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def report(name: str, values: list[float]) -> None:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(math.ceil(0.9 * len(values))) - 1)]
    print(
        f"{name:<46} median {statistics.median(values):7.1f} ms   p90 {p90:7.1f} ms   "
        f"max {values[-1]:7.1f} ms   (n={len(values)})"
    )


def bench_apptest(
    data_dir: Path, recording_id: int, evaluation_id: int, repeat: int, token: str
) -> None:
    from streamlit.testing.v1 import AppTest

    def app() -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["auth_token"] = token  # signed in as the juror (the cookie's token)
        at.run()
        return at

    t0 = time.perf_counter()
    at = app()
    print(
        f"{'first load of the app (cold, list page)':<46} {1000 * (time.perf_counter() - t0):7.1f} ms"
    )
    nav = []
    for _ in range(repeat):
        at = app()
        t0 = time.perf_counter()
        at.button(key=f"review-{recording_id}").click().run()
        nav.append((time.perf_counter() - t0) * 1000)
        assert not at.exception, at.exception
    report("navigation list → review (10-min call)", nav)
    report("rerun of the review page", timed(lambda: at.run(), repeat))
    ids = [f"C{i:02d}" for i in range(1, 16)]
    t0 = time.perf_counter()
    at.button(key="accept").click().run()
    print(f"{'« Reprendre les suggestions »':<46} {1000 * (time.perf_counter() - t0):7.1f} ms")
    ticks = []
    for i in range(repeat):
        key = f"tick-{evaluation_id}-{ids[i % 15]}"
        value = "acquis" if i % 2 == 0 else "non_acquis"
        t0 = time.perf_counter()
        at.segmented_control(key=key).set_value(value).run()
        ticks.append((time.perf_counter() - t0) * 1000)
    report("tick (saved + page redrawn)", ticks)
    comments = []
    for i in range(repeat):
        t0 = time.perf_counter()
        at.text_input(key=f"comment-{evaluation_id}-C0{1 + i % 9}").input(f"note {i}").run()
        comments.append((time.perf_counter() - t0) * 1000)
    report("comment (saved + page redrawn)", comments)
    seeks = []
    for i in range(repeat):
        t0 = time.perf_counter()
        at.button(key=f"ev-{evaluation_id}-C0{3 + i % 7}-0").click().run()
        seeks.append((time.perf_counter() - t0) * 1000)
    report("click on evidence (seek + transcript page)", seeks)
    lists = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fresh = app()
        lists.append((time.perf_counter() - t0) * 1000)
        assert not fresh.exception
    report("list page (new session)", lists)


def bench_fragment(db, evaluation_id: int, juror, repeat: int) -> None:
    """What a tick costs in the real app: store write + the grid fragment's store read."""
    from call_eval import store

    def tick(i: int) -> None:
        store.set_tick(db, juror, evaluation_id, f"C{1 + i % 15:02d}", "acquis")
        store.get_evaluation(db, juror, evaluation_id)

    values = []
    for i in range(repeat * 4):
        t0 = time.perf_counter()
        tick(i)
        values.append((time.perf_counter() - t0) * 1000)
    report("store: save a tick + reload the evaluation", values)


CLICK_AND_WAIT = """
const button = arguments[0], done = arguments[arguments.length - 1];
const metric = () => document.querySelector('.st-key-score-panel [data-testid="stMetricValue"]').textContent;
const state = () => document.querySelector('[data-testid="stApp"]').getAttribute('data-test-script-state');
const before = metric(), t0 = performance.now();
let total = null;
button.click();
const timer = setInterval(() => {
  const now = performance.now() - t0;
  if (total === null && metric() !== before) total = now;
  if ((total !== null && state() === 'notRunning') || now > 10000) {
    clearInterval(timer);
    done(JSON.stringify({total: total ?? now, idle: now}));
  }
}, 2);
"""


def bench_browser(data_dir: Path, evaluation_id: int, db, repeat: int, juror, token: str) -> None:
    import socket
    import subprocess
    import urllib.request

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    from call_eval import store

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, CALL_EVAL_DATA_DIR=str(data_dir))
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
         str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1500,1100",
    ):
        options.add_argument(arg)
    driver = None
    idle = (
        "const a = document.querySelector('[data-testid=\"stApp\"]');"
        "return a && a.getAttribute('data-test-script-state');"
    )
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health")
                break
            except OSError:
                time.sleep(0.2)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        driver.set_script_timeout(30)
        recording = store.get_evaluation(db, juror, evaluation_id).recording_id
        driver.get(f"http://127.0.0.1:{port}/_stcore/health")
        driver.add_cookie({"name": "call_eval_session", "value": token, "path": "/"})
        t0 = time.perf_counter()
        driver.get(f"http://127.0.0.1:{port}/revue?appel={recording}")
        while not driver.find_elements(By.CSS_SELECTOR, f".st-key-tick-{evaluation_id}-C01 button"):
            time.sleep(0.02)
        while driver.execute_script(idle) != "notRunning":
            time.sleep(0.02)
        print(
            f"{'browser: open the review page (10-min call)':<46} {1000 * (time.perf_counter() - t0):7.1f} ms"
        )
        shown, idle_times = [], []
        for i in range(repeat):
            cid = f"C{1 + (i * 2) % 15:02d}"
            current = store.get_evaluation(db, juror, evaluation_id).mark(cid).tick
            target = "Non acquis" if current == "acquis" else "Acquis"
            button = next(
                b
                for b in driver.find_elements(
                    By.CSS_SELECTOR, f".st-key-tick-{evaluation_id}-{cid} button"
                )
                if b.text.strip() == target
            )
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
            time.sleep(0.5)
            result = json.loads(driver.execute_async_script(CLICK_AND_WAIT, button))
            shown.append(result["total"])
            idle_times.append(result["idle"])
            print(
                f"   tick {cid}: total updated after {result['total']:6.1f} ms, idle after {result['idle']:6.1f} ms"
            )
        report("browser: click a tick → running total updated", shown)
        report("browser: click a tick → page idle again", idle_times)
    finally:
        if driver is not None:
            driver.quit()
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--calls", type=int, default=40, help="recordings in the list")
    parser.add_argument("--browser", action="store_true", help="also time headless Chromium")
    args = parser.parse_args()

    import logging

    logging.disable(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="bench_ui_"))
    data_dir = tmp / "data"
    os.environ["CALL_EVAL_DATA_DIR"] = str(data_dir)
    os.environ.pop("CALL_EVAL_DB_URL", None)
    os.environ.pop("CALL_EVAL_OPEN", None)
    from call_eval import store

    db = store.open_db(data_dir=data_dir)
    analysis = long_analysis(args.minutes)
    audio = write_wav(tmp / "appel_long.wav", args.minutes * 60)
    size = len(json.dumps(analysis)) / 1e6
    print(
        f"call: {args.minutes:g} min, {len(analysis['utterances'])} utterances, "
        f"{sum(len(u['words']) for u in analysis['utterances'])} words, analysis JSON "
        f"{size:.2f} MB, audio {audio.stat().st_size / 1e6:.1f} MB (wav 16 kHz stereo)"
    )
    result = store.import_analysis(db, analysis, audio, candidate="Camille Long")
    for i in range(args.calls - 1):  # a realistic list
        other = json.loads(SAMPLE.read_text(encoding="utf-8"))
        other["call"]["sha256"] = f"{i + 100:064x}"
        store.import_analysis(db, other, None, candidate=f"Candidat {i:02d}")
    from datetime import date

    from call_eval.auth import SYSTEM

    def account(username: str, name: str, role: str):
        return store.create_user(
            db, SYSTEM, username=username, display_name=name, roles=[role],
            password="banc d'essai du juré", must_change_password=False,
        ).user  # fmt: skip

    manager = account("responsable.banc", "Responsable du banc", "manager")
    juror = account("jure.banc", "Juré Banc d'essai", "juror")
    session = store.create_session(db, manager, session_date=date.today(), place="Banc d'essai")
    store.add_jury_member(db, manager, session.id, juror.juror_id, "professionnel")
    store.register_candidate(
        db, manager, session.id, "Camille Long", recording_id=result.recording.id
    )
    evaluation = store.open_evaluation(db, juror, result.recording.id)
    token = store.start_session(db, juror).token
    print(f"data: {data_dir} ({args.calls} recordings)\n")
    bench_apptest(data_dir, result.recording.id, evaluation.id, args.repeat, token)
    bench_fragment(db, evaluation.id, juror, args.repeat)
    if args.browser:
        bench_browser(data_dir, evaluation.id, db, args.repeat, juror, token)
    print("\ntarget: < 300 ms per interaction")


if __name__ == "__main__":
    main()
