"""Objection and doubt detectors on hand-written French exchanges: each objection category,
each way of handling it, raw ASR-style text, paraphrases and tutoiement."""

from __future__ import annotations

import pytest

from call_eval.detectors import CallContext, run_detectors
from call_eval.types import Finding, Utterance


def call(*turns: tuple[str, str]) -> CallContext:
    """A call from (role, text) pairs; roles "A" (agent) / "C" (callee)."""
    utts, t = [], 0.0
    for who, text in turns:
        role = "agent" if who == "A" else "callee"
        dur = max(0.6, len(text.split()) / 2.8)
        utts.append(Utterance(speaker=role, start=t, end=t + dur, text=text, role=role))
        t += dur + 0.4
    return CallContext(utterances=tuple(utts))


def run(ctx: CallContext, name: str) -> list[Finding]:
    return [f for f in run_detectors(ctx, [name]) if f.detector == name]


def objections(*turns: tuple[str, str]) -> list[Finding]:
    return run(call(*turns), "objection.v1")


# --------------------------------------------------------------------------- objections


def test_price_objection_acknowledged_and_answered_with_both_quotes():
    found = objections(
        ("A", "L'abonnement est à vingt-neuf euros par mois."),
        ("C", "Ah non, c'est trop cher pour moi."),
        ("A", "Je comprends tout à fait. Ramené à la journée, cela fait moins d'un euro, "
              "et l'installation est offerte."),
    )  # fmt: skip
    assert len(found) == 1
    f = found[0]
    assert f.label == "objection:price" and f.role == "callee"
    assert f.data["handling"] == "acknowledged_and_answered"
    assert [e.role for e in f.evidence] == ["callee", "agent"]
    assert "trop cher" in f.evidence[0].quote and "Je comprends" in f.evidence[1].quote
    assert f.score >= 0.85 and "reconnue puis traitée" in f.reason


def test_time_objection_ignored_in_raw_asr_text():
    found = objections(
        ("A", "et vous êtes satisfait de votre box"),
        ("C", "écoutez j ai pas le temps là"),
        ("A", "d'accord et vous habitez toujours à nantes"),
    )
    assert [(f.label, f.data["handling"]) for f in found] == [("objection:time", "ignored")]
    assert "ignorée" in found[0].reason


@pytest.mark.parametrize(
    ("callee", "label"),
    [
        ("On a déjà un fournisseur, merci.", "already_equipped"),
        ("je suis déjà équipée", "already_equipped"),
        ("Ça ne m'intéresse pas.", "not_interested"),
        ("ça m'intéresse pas du tout votre truc", "not_interested"),
        ("Je vais réfléchir.", "think_about_it"),
        ("il faut que j'en parle à ma femme", "think_about_it"),
        ("Envoyez-moi plutôt une documentation par mail.", "think_about_it"),
        ("C'est pour me vendre quelque chose, c'est ça ?", "trust"),
        ("comment vous avez eu mon numéro", "trust"),
        ("Je suis en réunion, rappelez-moi.", "time"),
        ("t'es gentil mais j'ai pas les moyens", "price"),
        ("Vingt euros de plus par mois, quand même.", "price"),
        ("J'ai peur que ce soit compliqué à installer.", "other"),
        ("honnêtement je trouve vos frais de dossier trop élevés", "price"),
    ],
)
def test_objection_categories(callee: str, label: str):
    found = objections(("A", "Je vous propose notre nouvelle offre."), ("C", callee))
    assert f"objection:{label}" in {f.label for f in found}, [f.label for f in found]


@pytest.mark.parametrize(
    "callee",
    [
        "Oui, j'ai deux enfants et une maison à Rennes.",
        "Non, ce n'est pas trop cher, ça va.",
        "Oui, c'est ça.",
        "On a une chaudière au gaz depuis dix ans.",
        "Le samedi matin, ça m'irait bien.",
    ],
)
def test_no_objection_in_plain_answers(callee: str):
    assert objections(("A", "Et chez vous, comment ça se passe ?"), ("C", callee)) == []


def test_answered_without_acknowledgment():
    found = objections(
        ("C", "On a déjà un fournisseur."),
        ("A", "Justement, comparer avec votre contrat actuel peut vous faire économiser."),
    )
    assert found[0].data["handling"] == "answered"
    assert found[0].data["answered"] and not found[0].data["acknowledged"]


def test_blunt_contradiction():
    found = objections(
        ("C", "Franchement, ça m'intéresse pas."),
        ("A", "Mais non, vous avez tort, c'est une excellente offre."),
    )
    assert found[0].data["handling"] == "contradicted"
    assert "contredite" in found[0].reason
    found = objections(
        ("C", "Je suis déjà chez un autre opérateur."),
        ("A", "Vous avez tort, notre box est bien meilleure."),
    )
    assert found[0].data["handling"] == "contradicted"


def test_think_about_it_with_an_alternative_and_tutoiement():
    found = objections(
        ("C", "faut que je réfléchisse"),
        ("A", "bien sûr c'est normal je te propose de t'envoyer la doc et de te rappeler jeudi"),
    )
    assert [(f.label, f.data["handling"]) for f in found] == [
        ("objection:think_about_it", "acknowledged_and_answered")
    ]


def test_bare_acknowledgment_without_answer_and_unanswered_last_objection():
    found = objections(
        ("C", "C'est trop cher."), ("A", "Je comprends."), ("C", "Je vais réfléchir.")
    )
    assert [f.data["handling"] for f in found] == ["acknowledged", "ignored"]
    assert found[1].data["response_index"] is None
    assert "sans réponse" in found[1].reason


def test_weak_objection_scores_lower_than_a_clear_one():
    weak = objections(("C", "Et ça coûte combien ?"), ("A", "Vingt euros par mois."))
    strong = objections(("C", "C'est trop cher."), ("A", "Vingt euros par mois, c'est peu."))
    assert weak and strong and weak[0].score < strong[0].score


# --------------------------------------------------------------------------- doubts


@pytest.mark.parametrize(
    ("agent", "kind"),
    [
        ("Qu'est-ce qui vous fait hésiter ?", "doubts"),
        ("est ce que vous avez des questions", "questions"),
        ("Qu'en pensez-vous ?", "opinion"),
        ("Y a-t-il un point qui vous inquiète ?", "doubts"),
        ("Quelque chose vous retient ?", "doubts"),
        ("qu'est-ce qui te freine", "doubts"),
        ("T'as des questions ?", "questions"),
        ("Vous avez des réserves sur ce point ?", "doubts_asked"),
        ("Est-ce qu'il y a autre chose qui vous ferait hésiter ?", "doubts"),
        ("Vous en pensez quoi, honnêtement ?", "opinion"),
        ("Qu'est-ce qu'il vous fait douter ?", "doubts"),  # ASR: "qu'il" for "qui"
    ],
)
def test_doubt_invitations(agent: str, kind: str):
    found = run(call(("C", "D'accord."), ("A", agent)), "doubt_invitation.v1")
    assert [f.data["kind"] for f in found] == [kind]
    assert found[0].role == "agent" and found[0].evidence[0].role == "agent"


@pytest.mark.parametrize(
    "agent",
    [
        "Je peux vous poser quelques questions ?",
        "Qu'est-ce qui est le plus important pour vous ?",
        "Je ne vous dérange pas ?",
        "Vous avez des enfants ?",
        "J'ai encore des questions à vous poser.",
        "Vous avez quelques minutes ?",
    ],
)
def test_not_doubt_invitations(agent: str):
    assert run(call(("C", "Oui."), ("A", agent)), "doubt_invitation.v1") == []


def test_probing_a_vague_hesitation():
    ctx = call(
        ("A", "Le technicien peut passer mercredi."),
        ("C", "Bof, je sais pas trop..."),
        ("A", "C'est-à-dire ? Qu'est-ce qui vous fait dire ça ?"),
    )
    found = run(ctx, "doubt_invitation.v1")
    assert [f.label for f in found] == ["doubt_invitation:probe"]
    assert found[0].data["probes_hesitation"]
    assert [e.role for e in found[0].evidence] == ["callee", "agent"]
    # the same question without a hesitation before it is no invitation
    ctx = call(
        ("C", "Je pars en vacances."), ("A", "C'est-à-dire ? Qu'est-ce qui vous fait dire ça ?")
    )
    assert run(ctx, "doubt_invitation.v1") == []


# --------------------------------------------------------------------------- ASR, paraphrases


@pytest.mark.parametrize(
    ("callee", "label"),
    [
        ("Mais ça risque de me revenir plus cher, non ?", "price"),
        ("ça me semble quand même assez cher votre formule", "price"),
        ("je trouve ça un peu salé pour un simple contrôle", "price"),
        ("Et ça fait combien en plus par mois ?", "price"),
        ("je sais pas trop, faut que je réfléchisse", "think_about_it"),
        ("Je ne sais pas, il faudrait que j'y réfléchisse.", "think_about_it"),
        ("bof laissez moi y repenser", "think_about_it"),
        ("j'ai besoin d'un temps de réflexion", "think_about_it"),
        ("j'ai pas vraiment le temps là", "time"),
        ("écoutez je manque de temps en ce moment", "time"),
    ],
)
def test_objection_paraphrases_and_hedges(callee: str, label: str):
    found = objections(("A", "Je vous propose la formule confort."), ("C", callee))
    assert f"objection:{label}" in {f.label for f in found}, [f.label for f in found]


@pytest.mark.parametrize(
    "callee",
    [
        "J'ai bien réfléchi, c'est d'accord pour moi.",
        "Oui, j'ai le temps, allez-y.",
        "Ce n'est pas plus cher que mon contrat actuel, c'est bien.",
        "ça ne me paraît pas cher du tout",
        "Le plus cher chez nous, c'est le chauffage au fioul.",
    ],
)
def test_no_objection_in_hedge_free_or_negated_turns(callee: str):
    assert objections(("A", "Je vous propose la formule confort."), ("C", callee)) == []


def test_handling_may_come_in_the_second_agent_turn():
    found = objections(
        ("C", "Ça me paraît un peu cher quand même."),
        ("A", "Je vous comprends."),
        ("C", "Hmm."),
        ("A", "Mais la pose est offerte, et vous gardez votre ancien contrat sans frais."),
    )
    assert [f.data["handling"] for f in found] == ["acknowledged_and_answered"]
    # an answer three agent turns later does not count
    found = objections(
        ("C", "Ça me paraît un peu cher quand même."),
        ("A", "Je vous comprends."),
        ("C", "Hmm."),
        ("A", "Bon."),
        ("C", "Oui."),
        ("A", "Mais la pose est offerte, et vous gardez votre ancien contrat sans frais."),
    )
    assert [f.data["handling"] for f in found] == ["acknowledged"]


@pytest.mark.parametrize(
    ("agent", "kind"),
    [
        ("Qu'est-ce qui pourrait vous faire hésiter ?", "doubts"),
        ("qu'est ce qui pourrait vous faire changer d'avis", "doubts"),
        ("Est-ce qu'il y a un point qui vous pose problème ?", "doubts"),
        ("Y a-t-il quelque chose qui vous pose question ?", "doubts"),
        # per-channel ASR ends the turn on a comma instead of « ? »
        ("C'est noté. Vous avez une remarque ou une question avant qu'on continue,", "questions"),
        ("Très bien. Vous avez des questions", "questions"),
    ],
)
def test_doubt_invitations_asr_and_paraphrases(agent: str, kind: str):
    found = run(call(("C", "D'accord."), ("A", agent)), "doubt_invitation.v1")
    assert [f.data["kind"] for f in found] == [kind], agent


def test_comma_ended_turn_is_no_invitation_when_the_match_is_earlier():
    # « si vous avez des questions » closed by a period, then a statement left open
    ctx = call(
        ("C", "D'accord."),
        ("A", "Je vous laisse mon numéro si vous avez des questions. Le technicien passe jeudi,"),
    )
    assert run(ctx, "doubt_invitation.v1") == []
