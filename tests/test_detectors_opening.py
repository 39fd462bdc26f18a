"""Opening detectors (greeting, self-presentation, goal statement, consent request) and the
rule toolkit they share, on hand-written French calls: punctuated text, raw ASR-style text
(lower case, no punctuation, elisions dropped), paraphrases and tutoiement."""

from __future__ import annotations

import pytest

from call_eval.detectors import CallContext, run_detectors
from call_eval.detectors.opening import compile_pattern, find, is_question
from call_eval.types import Finding, Utterance


def call(*turns: tuple[str, str], gap: float = 0.4) -> CallContext:
    """A call from (role, text) pairs; roles "A" (agent) / "C" (callee); ~2.8 words/s."""
    utts, t = [], 0.0
    for who, text in turns:
        role = "agent" if who == "A" else "callee"
        dur = max(0.6, len(text.split()) / 2.8)
        utts.append(Utterance(speaker=role, start=t, end=t + dur, text=text, role=role))
        t += dur + gap
    return CallContext(utterances=tuple(utts))


def run(ctx: CallContext, name: str) -> list[Finding]:
    return [f for f in run_detectors(ctx, [name]) if f.detector == name]


def one(ctx: CallContext, name: str) -> Finding:
    found = run(ctx, name)
    assert len(found) == 1, found
    return found[0]


# --------------------------------------------------------------------------- toolkit


def test_pattern_syntax_expands_elisions_hyphens_and_multiword_alternatives():
    ctx = call(
        ("A", "j ai bien noté, allez y"),
        ("A", "D'accord, entendu."),
        ("A", "Avez vous deux minutes"),
    )
    rules = {
        "elision": ["j' <avoir>"],
        "hyphen": ["allez-y"],
        "alt": ["d'accord|entendu"],
        "inversion": ["<avoir> -vous"],
    }
    labels = [{m.label for m in find(ctx, doc, rules)} for doc in ctx.docs]
    assert labels[0] == {"elision", "hyphen"}
    assert labels[1] == {"alt"}
    assert len([m for m in find(ctx, ctx.docs[1], rules) if m.label == "alt"]) == 2
    assert labels[2] == {"inversion"}
    assert len(compile_pattern(ctx.nlp, "d'accord|entendu")) == 2
    with pytest.raises(ValueError, match="unknown list"):
        compile_pattern(ctx.nlp, "@nowhere", {})


def test_questions_are_recognised_without_question_marks():
    ctx = call(
        ("A", "est ce que vous avez des questions"),
        ("A", "avez-vous un contrat"),
        ("A", "quel est votre budget"),
        ("A", "je vous envoie le devis"),
        ("A", "vous habitez toujours à Lyon, c'est bien ça"),
        ("A", "et le jardin fait à peu près qu'elle surface"),  # ASR « quelle »
        ("A", "je crois qu'elle est partie"),
    )
    assert [is_question(doc) for doc in ctx.docs] == [True, True, True, False, True, True, False]


# --------------------------------------------------------------------------- greeting


def test_greeting_with_title_and_name_is_early():
    f = one(
        call(("C", "Allô ?"), ("A", "Bonjour Madame Martin, Julie Perrin de Domotech.")),
        "greeting.v1",
    )
    assert f.role == "agent" and f.label == "greeting:hello"
    assert f.data["has_title"] and f.data["addressee"] == "Martin" and f.data["early"]
    assert f.evidence[0].quote == "Bonjour Madame Martin"
    assert f.score >= 0.9


def test_greeting_in_raw_asr_text_and_without_name():
    f = one(call(("A", "bonsoir monsieur euh je suis bien chez vous")), "greeting.v1")
    assert f.data["word"] == "bonsoir" and f.data["has_title"] and f.data["addressee"] == ""
    f = one(
        call(("A", "bonsoir monsieur fabre ici élodie vasseur du crédit agricole")), "greeting.v1"
    )
    assert f.data["addressee"] == "fabre"
    f = one(call(("A", "Bonjour, c'est Léa de la mutuelle Avenir.")), "greeting.v1")
    assert not f.data["has_title"] and "sans « Madame/Monsieur »" in f.reason
    assert f.score < 0.9


def test_familiar_greeting_scores_lower_and_no_greeting_gives_nothing():
    f = one(call(("A", "Salut Marc, c'est Tom de chez Fitlife.")), "greeting.v1")
    assert f.label == "greeting:familiar" and f.score < 0.6
    assert (
        run(
            call(("C", "Bonjour."), ("A", "Oui, je vous appelle pour votre contrat.")),
            "greeting.v1",
        )
        == []
    )


# --------------------------------------------------------------------------- presentation


def test_complete_concise_presentation():
    ctx = call(
        ("C", "Allô ?"),
        (
            "A",
            "Bonjour Madame Leroy, Sophie Bernard, conseillère clientèle chez Vitalis Assurances.",
        ),
    )
    f = one(ctx, "self_presentation.v1")
    assert f.data["has_name"] and f.data["has_org"] and f.data["has_role"] and f.data["concise"]
    assert f.data["name"] == "Sophie Bernard" and "Vitalis" in f.data["org"]
    assert f.data["n_turns_used"] == 1 and f.score >= 0.9
    assert f.label == "presentation:complete" and "Leroy" not in f.data["name"]


@pytest.mark.parametrize(
    "text",
    [
        "bonjour monsieur martin je m'appelle thomas girard je vous appelle de la société domotech",
        "Bonjour Monsieur Martin, Julien Moreau à l'appareil, du cabinet Verdier et associés.",
        "Bonjour madame, ici Claire, de chez Orange.",
        "bonjour madame durand camille roux conseillère chez helioval énergie",
        "Bonjour, je suis Karim Haddad, je travaille pour Sunelia, le spécialiste du solaire.",
        "salut c'est Léo de chez Fitness Park je t'appelle pour ton abonnement",
    ],
)
def test_name_and_organisation_in_paraphrases_asr_and_tutoiement(text: str):
    f = one(call(("C", "Allô"), ("A", text)), "self_presentation.v1")
    assert f.data["has_name"], f.reason
    assert f.data["has_org"], f.reason
    assert f.score >= 0.85


def test_asr_damage_lost_preposition_and_unknown_name():
    # "chez" dropped by the ASR: the company name follows the role directly
    text = "Bonjour Monsieur Lambert, Sofiane Kerbaj, conseiller Domelia Habitat."
    f = one(call(("A", text)), "self_presentation.v1")
    assert f.data["has_name"] and f.data["org"] == "Domelia Habitat"
    # a misspelt first name, known by its place between the addressee and the organisation
    text = "Bonjour Madame Roche, Lénaïg, du service clients d'Avelis."
    f = one(call(("A", text)), "self_presentation.v1")
    assert f.data["name"] == "Lénaïg" and f.data["has_org"]


def test_addressee_and_colleague_are_not_the_agent_name():
    ctx = call(
        ("C", "Allô ?"),
        (
            "A",
            "Bonjour Madame Durand, je vous appelle de la part de votre conseillère, Madame Petit.",
        ),
    )
    found = run(ctx, "self_presentation.v1")
    assert all(not f.data["has_name"] and not f.data["has_org"] for f in found)


def test_missing_organisation_is_said_in_the_reason():
    f = one(call(("A", "Bonjour Monsieur Blanc, Paul Henry à l'appareil.")), "self_presentation.v1")
    assert f.data["has_name"] and not f.data["has_org"]
    assert "organisation manquante" in f.reason and f.score < 0.5
    f = one(
        call(("A", "Bonjour, ici le service client de Bouygues Telecom.")), "self_presentation.v1"
    )
    assert f.data["has_org"] and not f.data["has_name"] and "nom manquant" in f.reason


def test_rambling_multi_turn_introduction_is_not_concise():
    ctx = call(
        ("C", "Allô ?"),
        ("A", "Oui bonjour, alors euh en fait on est, enfin je travaille, on fait des formations "
              "en ligne et en présentiel, de l'anglais, de l'espagnol, et vous aviez suivi un "
              "module chez nous il y a un moment je crois."),
        ("C", "C'est qui ?"),
        ("A", "Ah pardon, Nadia Benali, du centre Linguaplus."),
    )  # fmt: skip
    f = one(ctx, "self_presentation.v1")
    assert f.data["has_name"] and f.data["has_org"]
    assert not f.data["concise"] and f.score < 0.7
    assert "peu concise" in f.reason


def test_no_presentation_gives_no_finding():
    ctx = call(("C", "Allô ?"), ("A", "Bonjour, vous êtes bien le propriétaire du logement ?"))
    assert run(ctx, "self_presentation.v1") == []


# --------------------------------------------------------------------------- goal


@pytest.mark.parametrize(
    "text",
    [
        "Je vous appelle au sujet de votre contrat d'entretien de chaudière.",
        "je me permets de vous contacter concernant votre demande de devis",
        "L'objet de mon appel, c'est la mise à jour de votre dossier.",
        "je t'appelle pour ton inscription au club de sport",
        "Nous réalisons une enquête de satisfaction auprès de nos clients.",
        "je vous téléphone suite à votre passage en agence la semaine dernière",
        "c'est au sujet de la livraison de votre canapé",
    ],
)
def test_goal_statement_paraphrases(text: str):
    ctx = call(
        ("C", "Allô ?"),
        ("A", "Bonjour Madame, Anne Roy de Meubles Dupin."),
        ("C", "Oui ?"),
        ("A", text),
    )
    f = one(ctx, "goal_statement.v1")
    assert f.score >= 0.8 and f.data["agent_turn"] == 2
    assert f.evidence[0].role == "agent"


def test_no_goal_when_the_agent_only_asks_questions_or_calls_back_late():
    ctx = call(
        ("C", "Allô ?"),
        ("A", "Bonjour Madame, vous êtes bien propriétaire ?"),
        ("C", "Oui."),
        ("A", "Et vous avez combien de pièces ?"),
        ("C", "Quatre."),
        ("A", "Et une cave ?"),
        ("C", "Non."),
        ("A", "Très bien."),
        ("C", "Voilà."),
        ("A", "Je vous rappelle jeudi pour en parler."),
    )
    assert run(ctx, "goal_statement.v1") == []


# --------------------------------------------------------------------------- consent


def test_consent_asked_and_granted():
    ctx = call(
        (
            "A",
            "Bonjour, je vous appelle pour votre abonnement. Avez-vous quelques minutes à m'accorder ?",
        ),
        ("C", "Oui, allez-y."),
    )
    f = one(ctx, "consent_request.v1")
    assert f.label == "consent:granted" and f.data["callee_consented"] is True
    assert [e.role for e in f.evidence] == ["agent", "callee"]


def test_consent_refused_in_raw_asr_text():
    ctx = call(
        ("A", "je vous appelle pour votre contrat vous avez deux minutes"),
        ("C", "non là je suis en réunion rappelez moi plus tard"),
    )
    f = one(ctx, "consent_request.v1")
    assert f.label == "consent:refused" and f.data["callee_consented"] is False


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Non, non, je vous écoute.", True),
        ("Non, ça va.", True),
        ("Si, un peu, je suis au travail.", False),
        ("Hmm, c'est pour quoi exactement ?", None),
    ],
)
def test_je_ne_vous_derange_pas_inverts_bare_yes_and_no(reply: str, expected: bool | None):
    ctx = call(
        ("A", "Je vous appelle au sujet de votre devis. Je ne vous dérange pas ?"), ("C", reply)
    )
    assert one(ctx, "consent_request.v1").data["callee_consented"] is expected


def test_consent_paraphrases_and_tutoiement():
    for agent, callee in [
        ("t'as cinq minutes", "ouais vas-y"),
        ("Puis-je vous poser quelques questions ?", "Bien sûr."),
        ("Est-ce un bon moment pour en parler ?", "Oui, j'ai un peu de temps."),
    ]:
        f = one(call(("A", agent), ("C", callee)), "consent_request.v1")
        assert f.data["callee_consented"] is True, (agent, f)


def test_consent_granted_after_a_question_back():
    ctx = call(
        ("A", "Je vous appelle pour une estimation gratuite. Vous avez deux minutes ?"),
        ("C", "Comment vous avez eu mon numéro ?"),
        ("A", "Vous êtes dans notre fichier clients."),
        ("C", "Bon, allez, deux minutes."),
    )
    f = one(ctx, "consent_request.v1")
    assert f.data["callee_consented"] is True and f.data["negotiated"]


def test_no_consent_request():
    ctx = call(
        (
            "A",
            "Bonjour, je vous appelle pour votre contrat. Alors, votre adresse est toujours la même ?",
        ),
        ("C", "Oui."),
    )
    assert run(ctx, "consent_request.v1") == []


# --------------------------------------------------------------------------- ASR damage


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # the first name heard as a number (« Kevin » → « le vingt ») in raw lower-case text
        (
            "bonjour monsieur caron le vingt querbrat, de l'agence immobilière du port",
            "le vingt querbrat",
        ),
        # a known adjective and an unknown word where the name was, no punctuation
        ("bonjour madame lefort mélo dijan du cabinet vétérinaire des tilleuls", "mélo dijan"),
        ("Bonjour, Monsieur Caron, Louzé Tarvan, de la mutuelle des artisans.", "Louzé Tarvan"),
    ],
)
def test_name_slot_between_greeting_and_organisation(text: str, name: str):
    f = one(call(("C", "Allô ?"), ("A", text)), "self_presentation.v1")
    assert f.data["has_name"] and f.data["has_org"], f.reason
    assert f.data["name"] == name
    # told by its place only: a little less sure than a name with an introducer
    assert f.data["name_from_position"] is True
    assert 0.7 <= f.score < 0.95


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour Monsieur Caron, je vous appelle du service client.",
        "Bonjour Madame Lefort, au sujet de votre contrat de la banque.",
        "Bonjour Monsieur Caron, très bien, de la banque Populaire.",
    ],
)
def test_no_name_slot_without_a_name_like_word(text: str):
    found = run(call(("C", "Allô ?"), ("A", text)), "self_presentation.v1")
    assert all(not f.data["has_name"] for f in found), [f.data for f in found]


def test_organisation_opening_the_introduction_counts():
    # the name lost by the ASR; « De l'agence… » starts the introduction
    ctx = call(("C", "Allô ?"), ("A", "Bonjour Madame Lenoir. De l'agence, pour votre bail."))
    f = one(ctx, "self_presentation.v1")
    assert f.data["has_org"] and not f.data["has_name"]


def test_goal_told_by_the_offer_when_the_reason_is_garbled():
    ctx = call(
        ("C", "Allô ?"),
        ("A", "Bonjour Madame, Anne Roy de Toitures Leroux."),
        ("C", "Oui ?"),
        ("A", "Je vous appelle carte au lit en mai, et nous vous proposons un diagnostic gratuit "
              "de votre toiture. Avez-vous deux minutes ?"),
    )  # fmt: skip
    f = one(ctx, "goal_statement.v1")
    assert f.data["agent_turn"] == 2 and "diagnostic" in f.evidence[0].quote


def test_consent_inferred_from_a_counted_grant_when_the_request_is_garbled():
    ctx = call(
        ("C", "Allô ?"),
        ("A", "Bonjour, je vous appelle pour une estimation gratuite. Vous avez domino que"),
        ("C", "C'est pour quoi exactement ?"),
        ("A", "Pour votre maison, on a des acheteurs dans le quartier."),
        ("C", "Bon, deux minutes, pas plus."),
    )
    f = one(ctx, "consent_request.v1")
    assert f.label == "consent:granted" and f.data["kind"] == "inferred_from_reply"
    assert f.evidence[0].role == "callee" and f.score < 0.7
    # a bare « allez-y » may come unasked: no request is inferred from it
    ctx = call(
        ("C", "Allô ?"),
        ("A", "Bonjour, je vous appelle pour une estimation gratuite de votre maison."),
        ("C", "Oui, allez-y."),
    )
    assert run(ctx, "consent_request.v1") == []
