"""The README's main job: analyse the bundled demo call, store it, open the app on it.

The demo call (``call_eval/data/demo``) is a two-voice French call made by the project's
own generator (``python -m call_eval.synth``), stereo with the candidate on the left, with
its call script and the CRM note the candidate typed. A second run reuses the stored
analysis (same file, models, rubric and options).
"""

from __future__ import annotations

import logging
import subprocess
import sys

from . import settings

log = logging.getLogger(__name__)

DEMO_AUDIO = "demo_call_stereo.ogg"
DEMO_CANDIDATE = "Candidat démo (Sophie Lambert)"


def run_demo(*, open_ui: bool = True, port: int = 8501, fmt: str = "md") -> int:
    import json

    from . import store
    from .inputs import load_crm_note, load_script
    from .pipeline import AnalysisOptions, analyze_file
    from .report import render_markdown

    demo = settings.demo_dir()
    audio = demo / DEMO_AUDIO
    options = AnalysisOptions(
        script_questions=load_script(demo / "demo_call.script.txt"),
        crm_note=load_crm_note(demo / "demo_call.crm.txt"),
    )
    db = store.open_db()
    key = store.analysis_key(store.file_sha256(audio), store.reuse_options(options))
    stored = store.find_analysis(db, key)
    if stored is not None:
        log.info("analyse déjà enregistrée pour %s : réutilisée", audio.name)
        data = stored.result
        recording_id = stored.recording_id
    else:
        log.info("analyse de l'appel de démonstration %s (≈ 1 min sur 2 cœurs)…", audio.name)
        data = analyze_file(audio, options, lambda stage, f: f == 0.0 and log.info("… %s", stage)).to_dict()
        result = store.import_analysis(
            db,
            data,
            audio,
            candidate=DEMO_CANDIDATE,
            script_questions=options.script_questions,
            crm_note=options.crm_note,
            options=options,
        )
        recording_id = result.recording.id
    text = json.dumps(data, ensure_ascii=False, indent=2) if fmt == "json" else render_markdown(data)
    sys.stdout.write(text.rstrip("\n") + "\n")
    sys.stdout.flush()
    if not open_ui:
        return 0
    from .store.demo_session import demo_credentials_text, ensure_demo_session

    creds = ensure_demo_session(db, recording_id)
    sys.stdout.write(demo_credentials_text(creds, f"http://localhost:{port}"))
    sys.stdout.flush()
    from .ui.launch import streamlit_command

    argv, env = streamlit_command(open_ref=recording_id, port=port, headless=True)
    log.info("Application : http://localhost:%d (Ctrl+C pour arrêter)", port)
    try:
        return subprocess.run(argv, env=env, check=False).returncode
    except KeyboardInterrupt:
        return 0
