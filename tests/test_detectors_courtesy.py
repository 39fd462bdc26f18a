"""Courtesy markers and phrases to avoid (positive communication) on hand-written French
turns, with the audio features that stand in for filler rate, interruptions and silences."""

from __future__ import annotations

import pytest

from call_eval.detectors import CallContext, run_detectors
from call_eval.types import Finding, Utterance


def call(
    *turns: tuple[str, str], features: dict[str, float] | None = None, gap: float = 0.4
) -> CallContext:
    """A call from (role, text) pairs; roles "A" (agent) / "C" (callee); ~2.8 words/s."""
    utts, t = [], 0.0
    for who, text in turns:
        role = "agent" if who == "A" else "callee"
        dur = max(0.6, len(text.split()) / 2.8)
        utts.append(Utterance(speaker=role, start=t, end=t + dur, text=text, role=role))
        t += dur + gap
    return CallContext(utterances=tuple(utts), features=features or {})


def run(ctx: CallContext, name: str) -> list[Finding]:
    return [f for f in run_detectors(ctx, [name]) if f.detector == name]


def avoid(*turns: tuple[str, str], **kw) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in run(call(*turns, **kw), "phrases_to_avoid.v1"):
        out.setdefault(f.label, []).append(f)
    return out


# --------------------------------------------------------------------------- courtesy


def test_courtesy_markers_counted_per_kind_with_evidence():
    ctx = call(
        ("A", "Bonjour Madame Martin, excusez-moi de vous déranger."),
        ("C", "Merci, je vous écoute."),
        ("A", "Merci. Pouvez-vous me rappeler votre numéro, s'il vous plaît ?"),
        ("C", "Merci beaucoup."),
        ("A", "Je vous en prie. Merci à vous, Madame Martin, bonne journée."),
    )
    found = {f.label: f for f in run(ctx, "courtesy.v1")}
    assert found["courtesy:greeting"].data["count"] == 1
    assert found["courtesy:thanks"].data["count"] == 2  # the callee's thanks do not count
    assert found["courtesy:please"].data["count"] == 1
    assert found["courtesy:welcome"].data["count"] == 1
    assert found["courtesy:apology"].data["count"] == 1
    assert found["courtesy:title_name"].data["count"] == 2
    assert all(e.role == "agent" for f in found.values() for e in f.evidence)
    assert found["courtesy:vouvoiement"].data["kept"] is True
    assert "Vouvoiement gardé" in found["courtesy:vouvoiement"].reason


def test_tutoiement_is_reported():
    ctx = call(("A", "salut t'as deux minutes je te propose notre offre"), ("C", "vas-y"))
    found = {f.label: f for f in run(ctx, "courtesy.v1")}
    f = found["courtesy:tutoiement"]
    assert f.data["kept"] is False and f.data["tu"] >= 2 and f.score < 0.5


def test_no_courtesy_marker_gives_no_marker_finding():
    found = {
        f.label for f in run(call(("A", "Oui. Votre numéro ?"), ("C", "Le 06.")), "courtesy.v1")
    }
    assert not {label for label in found if label != "courtesy:vouvoiement"}


# --------------------------------------------------------------------------- phrases


def test_negative_and_uncertain_wording_with_effects():
    found = avoid(("A", "Pas de souci, je vais essayer de voir, normalement c'est possible."))
    assert {"negative", "uncertainty"} <= set(found)
    phrases = {f.data["phrase"] for f in found["uncertainty"]}
    assert {"je vais essayer", "normalement"} <= phrases
    neg = found["negative"][0]
    assert "pas de souci" in neg.reason.lower() and neg.data["effect"]
    assert "avec plaisir" in neg.data["effect"] and neg.role == "agent"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Il faut que vous envoyiez le formulaire avant lundi.", "imposing"),
        ("vous devez signer avant vendredi", "imposing"),
        ("Ce n'est pas possible, madame.", "negative"),
        ("Vous n'avez pas compris, je répète.", "negative"),
        ("je sais pas trop", "uncertainty"),
        ("Ouais, d'accord.", "familiarity"),
        ("ok ok je note", "familiarity"),
        ("C'est pas mon service, voyez avec la comptabilité.", "passing_the_buck"),
        ("ce n'est pas de mon ressort", "passing_the_buck"),
        ("tu peux me donner ton adresse", "familiarity"),
    ],
)
def test_phrases_to_avoid(text: str, label: str):
    assert label in avoid(("A", text))


@pytest.mark.parametrize(
    "text",
    [
        "Vous devez être satisfait de votre installation, alors.",
        "Vous devez avoir reçu notre courrier la semaine dernière.",
        "Avec plaisir, je vous envoie la confirmation par mail.",
        "Bien sûr, je m'en occupe tout de suite.",
    ],
)
def test_courteous_or_epistemic_wording_is_not_flagged(text: str):
    assert avoid(("A", text)) == {}


def test_only_the_agent_is_judged_and_repetition_thresholds():
    assert (
        avoid(("C", "Ouais, pas de souci, il faut que vous rappeliez."), ("A", "Très bien.")) == {}
    )
    found = avoid(("A", "Super."), ("C", "Oui."), ("A", "Super, super."))
    assert found["familiarity"][0].data["count"] == 3
    assert "familiarity" not in avoid(("A", "Super."), ("C", "Oui."), ("A", "Très bien."))


def test_filler_overuse_from_features_or_counted():
    text = "Alors voilà, on a une offre, et voilà, c'est intéressant."
    assert "filler_overuse" in avoid(("A", text), features={"agent.fillers_per_min": 12.0})
    assert "filler_overuse" not in avoid(("A", text), features={"agent.fillers_per_min": 1.0})
    found = avoid(("A", "euh alors euh en fait du coup euh voilà euh on a euh une offre"))
    f = found["filler_overuse"][0]
    assert f.data["fillers"]["euh"] == 5 and f.data["per_min"] > 6


def test_interruptions_from_features_or_overlapping_turns():
    assert "interruption" in avoid(("A", "Bonjour."), features={"agent.interruptions": 3})
    assert "interruption" not in avoid(("A", "Bonjour."), features={"agent.interruptions": 0})
    utts = (
        Utterance("C", 0.0, 4.0, "Alors moi je voulais vous dire que", role="callee"),
        Utterance("A", 3.0, 6.0, "Oui mais attendez je vous explique notre offre", role="agent"),
        Utterance("C", 6.5, 9.0, "Et puis aussi le prix me semble", role="callee"),
        Utterance("A", 8.0, 11.0, "Non non écoutez le prix est très bon", role="agent"),
    )
    found = run(CallContext(utterances=utts), "phrases_to_avoid.v1")
    cut = [f for f in found if f.label == "interruption"]
    assert cut and cut[0].data["count"] == 2 and len(cut[0].evidence) == 2


def test_dead_air_from_features_or_gaps():
    found = avoid(("A", "Un instant."), features={"call.longest_silence_s": 9.0})
    assert found["dead_air"][0].data["seconds"] == 9.0
    found = avoid(("C", "Et alors ?"), ("A", "Oui, alors, je regarde."), gap=8.0)
    assert "dead_air" in found and found["dead_air"][0].evidence[0].role == "agent"
    assert "dead_air" not in avoid(("C", "Et alors ?"), ("A", "Je regarde."), gap=1.0)
