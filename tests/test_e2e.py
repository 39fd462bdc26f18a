"""End to end: the real embedded ASR model (faster-whisper base) on generated French speech.

Bounds are checked against the fixture generator's reference (exact turn times and texts).
Synthetic Pico voices are transcribed at about 6–12 % WER by the base model; the bounds
leave room for that but fail on a broken stage (wrong language, lost words, swapped roles,
speakers mixed up).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from call_eval.metrics import diarization_error_rate, role_accuracy, wer
from call_eval.pipeline import AnalysisOptions, analyze_file

pytestmark = pytest.mark.e2e


def _reference(ref: dict) -> tuple[str, list[tuple[float, float, str]]]:
    turns = sorted(ref["turns"], key=lambda t: t["start"])
    return " ".join(t["text"] for t in turns), [(t["start"], t["end"], t["speaker"]) for t in turns]


@pytest.fixture(scope="module")
def stereo_analysis(synth_call):
    call = synth_call("stereo")
    return call, analyze_file(call["path"], AnalysisOptions())


@pytest.fixture(scope="module")
def mono_analysis(synth_call):
    call = synth_call("mono")
    return call, analyze_file(call["path"], AnalysisOptions())


def test_stereo_call_end_to_end(stereo_analysis):
    call, analysis = stereo_analysis
    text, turns = _reference(call["reference"])
    data = analysis.to_dict()
    assert data["diarization"]["backend"] == "channel"
    assert data["models"]["asr"]["name"] == "base"
    hyp = " ".join(u["text"] for u in data["utterances"])
    assert wer(text, hyp) <= 0.20
    hyp_turns = [tuple(t) for t in data["diarization"]["turns"]]
    assert diarization_error_rate(turns, hyp_turns) <= 0.05
    # the agent is on the left channel and must be found from the content alone
    assert data["roles"]["agent"] == "left" and data["roles"]["method"] == "inferred"
    assert role_accuracy(turns, analysis.utterances) >= 0.95
    words = [w for u in data["utterances"] for w in u["words"]]
    assert words and all(
        0 <= w["start"] <= w["end"] <= data["call"]["duration"] + 0.5 for w in words
    )
    assert all(0.0 <= w["probability"] <= 1.0 for w in words)
    assert [c["id"] for c in data["criteria"]] == [f"C{i:02d}" for i in range(1, 16)]


def test_mono_call_end_to_end(mono_analysis):
    call, analysis = mono_analysis
    text, turns = _reference(call["reference"])
    data = analysis.to_dict()
    assert data["diarization"]["backend"] == "embedded"
    assert len(data["diarization"]["speakers"]) == 2
    hyp = " ".join(u["text"] for u in data["utterances"])
    assert wer(text, hyp) <= 0.20
    hyp_turns = [tuple(t) for t in data["diarization"]["turns"]]
    assert diarization_error_rate(turns, hyp_turns) <= 0.15
    assert role_accuracy(turns, analysis.utterances) >= 0.85


def test_repeatable_transcription(stereo_analysis):
    """Temperature 0 without fallback: a second run gives the same words at the same times."""
    from call_eval.audio import load_audio
    from call_eval.transcribe import transcribe

    call, analysis = stereo_analysis
    again, _ = transcribe(load_audio(call["path"]))
    first = sorted((round(w.start, 2), w.text) for u in analysis.utterances for w in u.words)
    second = sorted((round(w.start, 2), w.text) for w in again.words)
    assert first == second and len(first) > 20


def test_cli_json_contract(synth_call, tmp_path):
    call = synth_call("stereo")
    out = tmp_path / "analysis.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "call_eval.cli",
            "analyze",
            str(call["path"]),
            "--format",
            "json",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["schema_version"] == "1.0"
    for key in (
        "call",
        "models",
        "rubric",
        "roles",
        "utterances",
        "features",
        "criteria",
        "score",
        "timings",
    ):
        assert key in data
    u = data["utterances"][0]
    assert set(u) >= {"speaker", "role", "start", "end", "text", "words"}
    assert u["role"] in ("agent", "callee")


def test_cli_bad_input_is_one_line_error(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("pas du son", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "call_eval.cli", "analyze", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("Erreur :") and len(proc.stderr.strip().splitlines()) == 1
