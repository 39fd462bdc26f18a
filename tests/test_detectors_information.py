"""information_gathered.v1 and needs.v1 on our own dialogues (ASR variants included)."""

from __future__ import annotations

from call_eval.detectors import CallContext, run_detectors
from call_eval.types import Utterance


def make_ctx(turns: list[tuple[str, str]]) -> CallContext:
    utts, t = [], 0.0
    for role, text in turns:
        dur = max(1.0, 0.3 * len(text.split()))
        utts.append(Utterance(speaker=role, start=t, end=t + dur, text=text, role=role))
        t += dur + 0.4
    return CallContext(tuple(utts))


SOLAR = [
    ("agent", "Bonjour Monsieur, vous êtes bien propriétaire de votre maison ?"),
    ("callee", "Oui, depuis deux mille quinze."),
    ("agent", "Et votre toit, il fait combien de mètres carrés à peu près ?"),
    ("callee", "Une quarantaine de mètres carrés, orienté plein sud."),
    ("agent", "Vous vous chauffez comment actuellement ?"),
    ("callee", "Avec une chaudière au fioul, on paie deux mille euros par an."),
    ("agent", "Vous habitez où exactement ?"),
    ("callee", "Au 12 rue des Lilas, à Montauban."),
    ("agent", "Et pour vous joindre, c'est quel numéro ?"),
    ("callee", "zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit"),
    ("agent", "Et votre mail ?"),
    ("callee", "martin.paul@orange.fr"),
]


def info(ctx: CallContext) -> list:
    return list(run_detectors(ctx, ["information_gathered.v1"]))


def test_facts_of_each_kind_answering_questions() -> None:
    found = info(make_ctx(SOLAR))
    by_turn: dict[int, set[str]] = {}
    for f in found:
        if f.label != "info:summary":
            by_turn.setdefault(f.utterance_index, set()).update(f.data["kinds"])
            assert f.data["answered_question"] is True
            assert f.evidence[0].role == "callee"
    assert "date" in by_turn[1]
    assert "number" in by_turn[3]
    assert "situation" in by_turn[5] and "number" in by_turn[5]
    assert {"contact", "place"} <= by_turn[7]
    assert "contact" in by_turn[9]
    assert "contact" in by_turn[11]
    summary = [f for f in found if f.label == "info:summary"][0]
    assert summary.data["count"] >= 6
    assert {"contact", "date", "number", "place", "situation"} <= set(
        summary.data["distinct_kinds"]
    )
    assert summary.data["questions_with_facts"] == 6
    assert summary.score >= 0.9


def test_number_in_words_and_digits_are_both_quantities() -> None:
    ctx = make_ctx(
        [
            ("agent", "vous êtes combien dans le foyer"),
            ("callee", "on est cinq personnes"),
            ("agent", "et vous avez combien de véhicules"),
            ("callee", "2 voitures"),
        ]
    )
    values = [f.data["values"].get("number") for f in info(ctx) if f.label != "info:summary"]
    assert ["5 personnes"] in values and ["2 voitures"] in values


def test_volunteered_facts_and_empty_answers() -> None:
    ctx = make_ctx(
        [
            ("agent", "Je vous appelle pour notre nouvelle offre."),
            ("callee", "Je déménage à Bordeaux le mois prochain de toute façon."),
            ("agent", "Vous êtes satisfait de votre fournisseur ?"),
            ("callee", "Bof."),
            ("agent", "Quel est votre budget ?"),
            ("callee", "Je sais pas."),
        ]
    )
    found = info(ctx)
    facts = [f for f in found if f.label != "info:summary"]
    assert len(facts) == 1
    assert facts[0].data["answered_question"] is False
    assert {"place", "date"} <= set(facts[0].data["kinds"])
    summary = found[-1]
    assert summary.data["answered_count"] == 0 and summary.data["volunteered_count"] == 1
    assert summary.score == 0.0


def test_no_fact_in_pure_courtesy() -> None:
    ctx = make_ctx(
        [
            ("agent", "Bonjour Madame."),
            ("callee", "Bonjour."),
            ("agent", "Merci, au revoir."),
            ("callee", "Au revoir."),
        ]
    )
    found = info(ctx)
    assert [f.label for f in found] == ["info:summary"]
    assert found[0].data["count"] == 0


def needs(ctx: CallContext) -> list:
    return list(run_detectors(ctx, ["needs.v1"]))


def test_need_explored_and_identified_with_uptake() -> None:
    ctx = make_ctx(
        [
            ("agent", "Qu'est-ce qui est le plus important pour vous dans une mutuelle ?"),
            (
                "callee",
                "Ce qui m'importe, c'est d'être bien remboursée pour mes lunettes, je porte des progressifs.",
            ),
            (
                "agent",
                "Je comprends, des verres progressifs bien remboursés, c'est votre priorité.",
            ),
            ("callee", "Voilà."),
        ]
    )
    found = needs(ctx)
    labels = [f.label for f in found]
    assert "need:explored" in labels and "need:identified" in labels
    ident = [f for f in found if f.label == "need:identified"][0]
    assert ident.evidence[0].role == "callee" and ident.evidence[1].role == "agent"
    assert ident.data["answers_exploration"] is True
    assert {"progressif"} <= set(ident.data["shared"]) or {"rembourser"} <= set(
        ident.data["shared"]
    )


def test_need_exploration_paraphrases_asr_style() -> None:
    for text in (
        "quelles sont vos attentes par rapport a un nouveau fournisseur",
        "qu attendez vous d un conseiller bancaire",
        "qu'est-ce qui vous motiverait à changer d'opérateur",
        "Et c'est quoi votre priorité aujourd'hui ?",
    ):
        ctx = make_ctx([("agent", text), ("callee", "Surtout le prix.")])
        assert any(f.label == "need:explored" for f in needs(ctx)), text


def test_need_stated_but_ignored() -> None:
    ctx = make_ctx(
        [
            ("agent", "Je vous appelle pour l'entretien de votre chaudière."),
            ("callee", "Le problème c'est que la dernière intervention m'a coûté trop cher."),
            ("agent", "D'accord. Vous êtes disponible mardi ?"),
            ("callee", "Non."),
        ]
    )
    found = needs(ctx)
    assert [f.label for f in found] == ["need:unaddressed"]
    assert found[0].score < 0.5


def test_no_need_when_agent_imposes() -> None:
    ctx = make_ctx(
        [
            ("agent", "Il faut que vous changiez votre chaudière, c'est obligatoire."),
            ("callee", "Ah bon."),
            ("agent", "Je vous mets un rendez-vous mardi."),
            ("callee", "Si vous voulez."),
        ]
    )
    assert not needs(ctx)


def test_need_uptake_matches_split_or_hyphenated_asr_forms() -> None:
    # the callee's « télétravail » comes back from the ASR as « télé-travail » or « travail »
    for callee_form, agent_form in [
        ("je suis en télétravail trois jours par semaine", "télé-travail"),
        ("je suis en télé travail trois jours", "télétravail"),
        ("le soir on fait de la visio-conférence avec la famille", "visioconférence"),
    ]:
        ctx = make_ctx(
            [
                ("agent", "Qu'est-ce qui compte le plus pour vous dans votre connexion ?"),
                ("callee", f"Ben surtout que ça coupe pas, {callee_form}."),
                ("agent", f"Je comprends, pour votre {agent_form} la fibre est idéale."),
                ("callee", "Voilà."),
            ]
        )
        ident = [f for f in needs(ctx) if f.label == "need:identified"]
        assert ident, callee_form
        assert ident[0].data["shared"], callee_form


def test_need_restated_by_the_agent_when_the_answer_is_lost() -> None:
    # the callee's answer is lost or garbled by the ASR; the agent restates the need
    ctx = make_ctx(
        [
            ("agent", "Qu'est-ce qui serait le plus important pour vous dans un nouveau contrat ?"),
            ("callee", "euh bah"),
            (
                "agent",
                "Donc avant tout, un remboursement rapide des consultations, c'est noté. "
                "Et vous avez des enfants ?",
            ),
            ("callee", "Deux."),
        ]
    )
    ident = [f for f in needs(ctx) if f.label == "need:identified"]
    assert len(ident) == 1 and ident[0].data["by_restatement"] is True
    assert "remboursement" in ident[0].evidence[1].quote
    assert "enfants" not in ident[0].evidence[1].quote  # the next question is not the need
    assert ident[0].score < 0.7


def test_no_restatement_without_marker_or_new_words() -> None:
    for agent in (
        # the agent moves on to its pitch, no marker
        "Notre contrat famille rembourse les lunettes à cent pour cent.",
        # a marker, but nothing of its own
        "C'est noté.",
    ):
        ctx = make_ctx(
            [
                ("agent", "Qu'est-ce qui serait le plus important pour vous ?"),
                ("callee", "euh bah"),
                ("agent", agent),
                ("callee", "D'accord."),
            ]
        )
        assert not [f for f in needs(ctx) if f.label == "need:identified"], agent
