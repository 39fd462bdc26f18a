"""Role inference from content, confidence, reasons and overrides."""

from __future__ import annotations

import pytest

from call_eval.errors import ConfigError
from call_eval.roles import apply_roles, infer_roles
from call_eval.types import Diarization, SpeakerTurn, Utterance


def _call(agent: str, callee: str, lines):
    t = 0.0
    out = []
    for who, text in lines:
        spk = agent if who == "a" else callee
        out.append(Utterance(spk, t, t + 2, text))
        t += 2.5
    return tuple(out)


CALL = [
    ("c", "Allô ?"),
    ("a", "Bonjour monsieur Martin, Julie Perrin, de la mutuelle Horizon Santé."),
    ("c", "Oui bonjour."),
    ("a", "Je vous appelle au sujet de votre contrat. Vous avez deux minutes ?"),
    ("c", "Oui allez-y."),
    ("a", "Quel est votre numéro de téléphone actuel ?"),
    ("c", "C'est le 06 12 34 56 78."),
    ("a", "Je vous propose un rendez-vous jeudi à 14 h avec un conseiller."),
    ("c", "D'accord."),
]


def test_agent_found_whoever_speaks_first():
    utts = _call("SPEAKER_01", "SPEAKER_00", CALL)
    roles = infer_roles(utts)
    assert roles.agent == "SPEAKER_01" and roles.callee == "SPEAKER_00"
    assert roles.confidence > 0.9
    assert any("organisation" in r for r in roles.reasons)
    assert "raison de son appel" in " ".join(roles.reasons)


def test_asr_style_text_without_punctuation():
    lines = [(w, t.lower().replace(",", "").replace(".", "").replace("?", "")) for w, t in CALL]
    roles = infer_roles(_call("B", "A", lines))
    assert roles.agent == "B"


def test_tutoiement_and_no_presentation_still_resolves_on_questions():
    lines = [
        ("a", "salut c'est moi je t'appelle pour ton abonnement"),
        ("c", "ah oui"),
        ("a", "tu l'utilises encore ? combien de fois par semaine ?"),
        ("c", "deux fois"),
    ]
    assert infer_roles(_call("X", "Y", lines)).agent == "X"


def test_ambiguous_call_has_low_confidence():
    lines = [("a", "oui"), ("c", "oui"), ("a", "d'accord"), ("c", "d'accord")]
    roles = infer_roles(_call("X", "Y", lines))
    assert roles.confidence < 0.7


def test_speaker_override():
    utts = _call("A", "B", CALL)
    roles = infer_roles(utts, agent_speaker="B")
    assert (roles.agent, roles.callee, roles.method) == ("B", "A", "override")
    assert [u.role for u in apply_roles(utts, roles)][:2] == ["agent", "callee"]


def test_channel_override_and_errors():
    utts = _call("left", "right", CALL)
    diar = Diarization(
        (SpeakerTurn(0, 1, "left"), SpeakerTurn(1, 2, "right")),
        "channel",
        ("left", "right"),
        {"left": 0, "right": 1},
    )
    assert infer_roles(utts, diar, agent_channel="right").agent == "right"
    with pytest.raises(ConfigError, match="left, right"):
        infer_roles(utts, diar, agent_channel="middle")
    mono = Diarization((), "embedded", ("left", "right"))
    with pytest.raises(ConfigError, match="stéréo"):
        infer_roles(utts, mono, agent_channel="left")
    with pytest.raises(ConfigError, match="left, right"):
        infer_roles(utts, agent_speaker="nobody")
