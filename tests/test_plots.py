"""Figures: the expected traces, from live objects and from an analysis' JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from call_eval.features import compute_features
from call_eval.plots import level_over_time, rate_over_time, speaker_timeline
from call_eval.types import Audio, Utterance, Word

go = pytest.importorskip("plotly.graph_objects")

SR = 16000


def _noise(dbfs: float, seconds: float, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(int(seconds * SR))
    return x / np.sqrt(np.mean(x**2)) * 10 ** (dbfs / 20)


def _utt(role: str, start: float, end: float) -> Utterance:
    n = max(1, int((end - start) * 3))
    step = (end - start) / n
    words = tuple(Word(start + k * step, start + (k + 1) * step, " mot", 0.9) for k in range(n))
    return Utterance(role, start, end, "mot " * n, words, role)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def call() -> tuple[list[Utterance], object]:
    utts = [
        _utt("agent", 0.5, 12.0),
        _utt("callee", 11.2, 15.0),  # interrupts the agent (0.8 s)
        _utt("agent", 15.5, 30.0),
        _utt("callee", 20.0, 20.5),  # backchannel
    ]
    x = np.zeros(int(31 * SR))
    for k, u in enumerate(utts):
        a = int(u.start * SR)
        level = -20.0 if u.role == "agent" else -26.0
        x[a : a + int((u.end - u.start) * SR)] += _noise(level, u.end - u.start, k)
    x += _noise(-80.0, 31.0, 99)
    audio = Audio(x[None, :].astype(np.float32), SR, 31.0, None, "wav", SR, 1, "0" * 64)
    return utts, compute_features(audio, utts)


def _names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data]


def test_speaker_timeline_has_both_speakers_overlaps_and_the_interruption(call) -> None:
    utts, feats = call
    fig = speaker_timeline(utts, features=feats)
    assert isinstance(fig, go.Figure)
    assert _names(fig) == ["Candidat", "Appelé", "Chevauchements", "Interruptions"]
    agent = fig.data[0]
    assert list(agent.base) == [0.5, 15.5] and list(agent.x) == pytest.approx([11.5, 14.5])
    overlaps = fig.data[2]
    assert len(overlaps.base) == 2  # the interruption and the backchannel
    cut = fig.data[3]
    assert (
        list(cut.x) == pytest.approx([11.2]) and "coupe la parole au candidat" in cut.hovertext[0]
    )
    assert fig.layout.xaxis.title.text == "Temps (s)"


def test_speaker_timeline_without_features_computes_the_overlaps(call) -> None:
    utts, _ = call
    fig = speaker_timeline(utts)
    assert _names(fig) == ["Candidat", "Appelé", "Chevauchements", "Interruptions"]


def test_speaker_timeline_from_analysis_json(call) -> None:
    utts, feats = call
    data = json.loads(
        json.dumps({"utterances": [u.to_dict() for u in utts], "features": feats.to_dict()})
    )
    fig = speaker_timeline(data["utterances"], features=data["features"])
    assert _names(fig) == ["Candidat", "Appelé", "Chevauchements", "Interruptions"]


def test_level_over_time_has_one_line_per_speaker(call) -> None:
    _, feats = call
    fig = level_over_time(feats)
    assert _names(fig) == ["Candidat", "Appelé"]
    agent_levels = np.array(fig.data[0].y, dtype=float)
    callee_levels = np.array(fig.data[1].y, dtype=float)
    assert np.median(agent_levels) == pytest.approx(-20.0, abs=1.5)
    assert np.median(callee_levels) == pytest.approx(-26.0, abs=1.5)
    assert fig.layout.yaxis.title.text == "Niveau actif (dBFS)"
    assert "Niveau" in fig.layout.title.text


def test_rate_over_time_draws_the_band(call) -> None:
    _, feats = call
    fig = rate_over_time(feats.to_dict(), band=(130.0, 190.0))
    assert _names(fig) == ["Débit (fenêtre glissante de 10 s)", "Débit par tour"]
    bands = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(bands) == 1 and (bands[0].y0, bands[0].y1) == (130.0, 190.0)
    assert fig.layout.yaxis.title.text == "Débit (mots/min)"
    assert all(170 <= y <= 190 for y in fig.data[0].y)  # 3 words/s spread over each turn
