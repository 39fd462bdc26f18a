"""Active-listening detectors: reformulation.v1 and feedback_check.v1 (our own dialogues)."""

from __future__ import annotations

import pytest

from call_eval.detectors import CallContext, run_detectors
from call_eval.types import Utterance


def make_ctx(turns: list[tuple[str, str]]) -> CallContext:
    utts, t = [], 0.0
    for role, text in turns:
        dur = max(1.0, 0.3 * len(text.split()))
        utts.append(Utterance(speaker=role, start=t, end=t + dur, text=text, role=role))
        t += dur + 0.4
    return CallContext(tuple(utts))


def reformulations(ctx: CallContext) -> dict[int, object]:
    return {f.utterance_index: f for f in run_detectors(ctx, ["reformulation.v1"])}


def checks(ctx: CallContext) -> dict[int, object]:
    return {f.utterance_index: f for f in run_detectors(ctx, ["feedback_check.v1"])}


GYM = [
    ("agent", "Qu'est-ce qui vous a fait arrêter votre abonnement à la salle ?"),
    (
        "callee",
        "Mon travail a changé, je finis à vingt heures maintenant, et la salle ferme à vingt et une heures.",
    ),
    ("agent", "Et vous faisiez quelles activités ?"),
    ("callee", "Surtout de la natation, trois fois par semaine, et un peu de musculation."),
]


def test_reformulation_with_marker_and_restated_content() -> None:
    ctx = make_ctx(
        GYM
        + [
            (
                "agent",
                "Si je comprends bien, vous nagiez trois fois par semaine, et depuis que votre travail "
                "vous fait finir à 20 h, les horaires de la salle ne vous conviennent plus. C'est bien ça ?",
            ),
            ("callee", "Exactement."),
        ]
    )
    found = reformulations(ctx)
    assert 4 in found
    f = found[4]
    assert f.label == "reformulation" and f.score >= 0.8
    assert f.data["marker"].lower().startswith("si je comprends bien")
    assert "#20" in f.data["restated"] and "#3" in f.data["restated"]  # 20 h = vingt heures
    assert f.data["person_shift"] is True
    assert f.evidence[0].role == "agent" and f.evidence[1].role == "callee"


def test_reformulation_without_marker_asr_style() -> None:
    ctx = make_ctx(
        GYM
        + [
            (
                "agent",
                "d accord donc la natation trois fois par semaine et vous finissez le travail trop tard pour la salle",
            ),
            ("callee", "oui voila"),
        ]
    )
    found = reformulations(ctx)
    assert 4 in found and found[4].label == "reformulation"
    assert found[4].data["marker"] == "" or found[4].data["marker"].startswith("donc")


def test_marker_alone_is_weak() -> None:
    ctx = make_ctx(
        GYM + [("agent", "Si je comprends bien, on peut vous proposer mieux."), ("callee", "Ah ?")]
    )
    found = reformulations(ctx)
    assert 4 in found
    assert found[4].label in ("reformulation:marker_only", "reformulation:partial")
    assert found[4].score < 0.5


@pytest.mark.parametrize(
    "agent_text",
    [
        "D'accord.",
        "Très bien, je vous propose un essai gratuit de notre nouvelle salle, ouverte jusqu'à minuit.",
        "Et vous avez des enfants ?",
    ],
)
def test_not_a_reformulation(agent_text: str) -> None:
    ctx = make_ctx(GYM + [("agent", agent_text), ("callee", "Oui.")])
    found = reformulations(ctx)
    assert 4 not in found or found[4].score < 0.5


def test_agent_recap_of_its_own_proposal_is_not_a_reformulation() -> None:
    ctx = make_ctx(
        [
            ("agent", "Je peux vous proposer un essai le samedi vingt-huit à dix heures."),
            ("callee", "Le samedi vingt-huit, dix heures, ça me va."),
            ("agent", "Je vous confirme donc votre séance d'essai samedi vingt-huit à dix heures."),
            ("callee", "Parfait."),
        ]
    )
    assert 2 not in reformulations(ctx)


def test_word_for_word_echo_is_flagged_as_echo() -> None:
    ctx = make_ctx(
        [
            ("agent", "Quelle est votre adresse mail ?"),
            ("callee", "durand point lea arobase gmail point com"),
            ("agent", "durand point lea arobase gmail point com"),
            ("callee", "Voilà."),
        ]
    )
    found = reformulations(ctx)
    assert found[2].label == "reformulation:echo" and found[2].score < 0.3


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Vous avez donc deux enfants, c'est bien ça ?", "understanding"),
        ("vous avez donc deux enfants c'est bien ça", "understanding"),
        ("Est-ce exact ?", "understanding"),
        ("Je ne me trompe pas ?", "understanding"),
        ("Vous me confirmez que c'est la bonne adresse ?", "understanding"),
        ("j ai bien compris", "understanding"),
        ("C'est clair pour vous ?", "clarity"),
        ("Est-ce que ça vous parle", "clarity"),
        ("Ça vous convient ?", "agreement"),
    ],
)
def test_feedback_checks(text: str, kind: str) -> None:
    ctx = make_ctx([("callee", "On a deux enfants."), ("agent", text), ("callee", "Oui.")])
    found = checks(ctx)
    assert 1 in found, text
    assert found[1].label == f"check:{kind}"


@pytest.mark.parametrize(
    "text",
    [
        "C'est ça, oui, vous avez raison.",
        "Je vous appelle pour votre contrat.",
        "C'est bien, ça vous fera des économies.",
    ],
)
def test_not_feedback_checks(text: str) -> None:
    ctx = make_ctx([("callee", "C'est pour le contrat ?"), ("agent", text), ("callee", "Ah bon.")])
    assert 1 not in checks(ctx)


def test_check_follows_reformulation_flag() -> None:
    ctx = make_ctx(
        GYM
        + [
            (
                "agent",
                "Donc vous finissez à vingt heures et vous aimez la natation. C'est bien ça ?",
            ),
            ("callee", "Oui."),
            ("agent", "Vous me confirmez votre code postal ?"),
            ("callee", "Trois trois mille."),
        ]
    )
    found = checks(ctx)
    assert found[4].data["follows_reformulation"] is True
    assert found[6].data["follows_reformulation"] is False
