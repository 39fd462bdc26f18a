"""Closing detectors (action proposal and its terms, agreement locked in, leave-taking,
abrupt end) on hand-written French exchanges, including raw ASR-style text, numbers in
digits or words, and tutoiement."""

from __future__ import annotations

import pytest

from call_eval.detectors import CallContext, run_detectors
from call_eval.types import Finding, Utterance

OPENING = [("C", "Allô ?"), ("A", "Bonjour Madame Petit, Léa Martin de la société Isolex.")]


def call(*turns: tuple[str, str], opening: bool = True) -> CallContext:
    """A call from (role, text) pairs, after a standard opening; roles "A" / "C"."""
    utts, t = [], 0.0
    for who, text in [*(OPENING if opening else []), *turns]:
        role = "agent" if who == "A" else "callee"
        dur = max(0.6, len(text.split()) / 2.8)
        utts.append(Utterance(speaker=role, start=t, end=t + dur, text=text, role=role))
        t += dur + 0.4
    return CallContext(utterances=tuple(utts))


def run(ctx: CallContext, name: str) -> list[Finding]:
    return [f for f in run_detectors(ctx, [name]) if f.detector == name]


def actions(*turns: tuple[str, str]) -> dict[str, Finding]:
    return {f.data["kind"]: f for f in run(call(*turns), "action_proposal.v1")}


# --------------------------------------------------------------------------- action


def test_rendez_vous_with_day_date_and_time_in_digits():
    found = actions(("A", "Je vous propose un rendez-vous avec notre technicien mardi 12 à 14h."))
    f = found["rendez_vous"]
    assert f.label == "action:rendez_vous" and f.data["has_terms"]
    assert {"day", "time"} <= set(f.data["term_kinds"]) or {"date", "time"} <= set(
        f.data["term_kinds"]
    )
    assert any("14h" in t for t in f.data["terms"]) and f.score >= 0.85


def test_rendez_vous_in_raw_asr_text_with_numbers_in_words():
    found = actions(("A", "je peux vous proposer un rendez-vous le vingt-trois à quatorze heures"))
    terms = found["rendez_vous"].data["terms"]
    assert "quatorze heures" in terms and any("vingt-trois" in t for t in terms)


def test_terms_given_in_the_following_exchange_count():
    found = actions(
        (
            "A",
            "Je vous propose de vous rappeler quand vous aurez vu votre mari. Quel jour vous arrange ?",
        ),
        ("C", "Jeudi, plutôt en fin de matinée."),
        ("A", "Jeudi vers onze heures, alors."),
    )
    f = found["rappel"]
    assert f.data["has_terms"] and "day" in f.data["term_kinds"] and "time" in f.data["term_kinds"]
    assert {e.role for e in f.evidence} == {"agent", "callee"} or len(f.evidence) >= 2


def test_call_back_without_terms_is_weaker():
    f = actions(("A", "Très bien, on vous rappellera."), ("C", "D'accord, au revoir."))["rappel"]
    assert not f.data["has_terms"] and f.score < 0.7
    assert "sans modalités" in f.reason


def test_update_and_order_proposals():
    found = actions(("A", "Je mets à jour votre adresse e-mail dans votre dossier."))
    assert found["mise_a_jour"].data["has_terms"]
    assert any("adresse" in t for t in found["mise_a_jour"].data["terms"])
    found = actions(("A", "Je vous propose de souscrire l'option Sérénité à 9 euros par mois."))
    f = found["commande"]
    assert f.data["has_terms"] and "price" in f.data["term_kinds"]


def test_tutoiement_proposal():
    found = actions(("A", "je te propose qu'on se voie samedi matin au club pour ton inscription"))
    assert "rendez_vous" in found or "commande" in found


@pytest.mark.parametrize(
    "text",
    [
        "Vous aviez pris rendez-vous en mars pour la révision.",
        "Personne ne vous rappelait, c'est ça ?",
        "Je vous rappelle que votre contrat expire en juin.",
        "Et vous êtes satisfait de votre contrat actuel ?",
        "Si je vous suis bien, vous pensez acheter une maison d'ici deux ans, c'est bien ça ?",
    ],
)
def test_no_action_in_reports_reminders_or_questions(text: str):
    assert actions(("A", text)) == {}


def test_callee_asking_for_a_call_back_is_no_agent_proposal():
    assert actions(("C", "Rappelez-moi jeudi à dix heures."), ("A", "Entendu.")) == {}


# --------------------------------------------------------------------------- agreement


def agreement(*turns: tuple[str, str]) -> list[Finding]:
    return run(call(*turns), "agreement.v1")


def test_recap_and_callee_yes():
    found = agreement(
        ("A", "Je vous propose un rendez-vous mardi à 14 h, ça vous va ?"),
        ("C", "Oui."),
        ("A", "Je vous confirme donc le rendez-vous mardi à 14 h avec notre conseiller."),
        ("C", "Oui, parfait."),
    )
    f = found[0]
    assert f.label == "agreement:confirmed" and f.data["recap"] and f.data["callee_yes"] is True
    assert [e.role for e in f.evidence] == ["agent", "callee"] and f.score >= 0.85


def test_recap_without_the_callee_yes():
    found = agreement(
        ("A", "Je vous propose un rendez-vous jeudi."),
        ("C", "Pourquoi pas."),
        ("A", "Je récapitule : jeudi 10 h chez vous."),
        ("C", "Euh, attendez, je dois voir avec mon mari."),
    )
    assert found[0].data["callee_yes"] is False and found[0].score < 0.5


def test_reluctant_yes_is_not_an_agreement():
    found = agreement(
        ("A", "Je vous propose donc un rendez-vous mercredi à quinze heures."),
        ("C", "Bon, si vous voulez."),
        ("A", "Très bien, mercredi quinze heures, c'est noté."),
    )
    assert found[0].data["callee_yes"] is False
    assert found[0].label == "agreement:unconfirmed"


def test_raw_asr_confirmation_question_then_yes():
    found = agreement(
        ("A", "je vous propose de vous rappeler jeudi quatorze à quinze heures"),
        ("C", "oui"),
        ("A", "donc c'est noté pour jeudi quatorze à quinze heures c'est bien d'accord"),
        ("C", "oui d'accord"),
    )
    assert found[0].data["callee_yes"] is True


def test_reformulation_without_any_proposal_is_no_agreement():
    found = agreement(
        ("A", "Donc vous avez déménagé à Lyon en juin, au 12 rue Victor Hugo, c'est bien ça ?"),
        ("C", "Oui, c'est ça."),
    )
    assert found == []


# --------------------------------------------------------------------------- leave-taking


def test_complete_leave_taking():
    ctx = call(
        ("C", "Très bien."), ("A", "Merci beaucoup pour votre temps, bonne journée, au revoir.")
    )
    f = run(ctx, "leave_taking.v1")[0]
    assert f.label == "leave_taking:complete" and f.data == {"thanks": True, "goodbye": True}
    assert run(ctx, "abrupt_end.v1") == []


def test_partial_leave_taking_and_goodbye_spread_over_two_turns():
    f = run(call(("C", "Au revoir."), ("A", "Bonne soirée Monsieur.")), "leave_taking.v1")[0]
    assert f.label == "leave_taking:partial" and not f.data["thanks"]
    ctx = call(("A", "Merci à vous, au revoir."), ("C", "Au revoir."), ("A", "Au revoir."))
    assert run(ctx, "leave_taking.v1")[0].label == "leave_taking:complete"


def test_familiar_goodbye_in_raw_text():
    f = run(call(("A", "ok merci salut")), "leave_taking.v1")[0]
    assert f.data == {"thanks": True, "goodbye": True}


def test_no_leave_taking_is_an_abrupt_end():
    ctx = call(
        ("C", "Bon, c'est tout ?"), ("A", "Euh, oui. D'accord. Bon, voilà."), ("C", "Au revoir.")
    )
    assert run(ctx, "leave_taking.v1") == []
    f = run(ctx, "abrupt_end.v1")[0]
    assert f.label == "abrupt_end:no_leave_taking" and f.role == "agent"


def test_agent_hangs_up_on_a_question():
    ctx = call(
        ("A", "C'est noté, je vous envoie le devis."),
        ("C", "Et pour la facture, je fais comment ?"),
    )
    f = run(ctx, "abrupt_end.v1")[0]
    assert f.label == "abrupt_end:hung_up_on_callee"
    assert [e.role for e in f.evidence] == ["agent", "callee"]


def test_agent_ends_on_a_statement():
    ctx = call(("C", "Bon, mercredi."), ("A", "Très bien, mercredi quinze heures, c'est noté."))
    f = run(ctx, "abrupt_end.v1")[0]
    assert f.data["last_speaker"] == "agent" and "sans formule de congé" in f.reason
