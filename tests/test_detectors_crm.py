"""crm_consistency.v1: the CRM note compared with the call (our own calls and notes)."""

from __future__ import annotations

import pytest

from call_eval.detectors import CallContext, run_detectors
from call_eval.types import Utterance

CALL = [
    ("callee", "Allô ?"),
    (
        "agent",
        "Bonjour Monsieur Petit, Julie Morel, du cabinet dentaire des Halles. Je vous appelle pour votre détartrage annuel.",
    ),
    ("callee", "Ah oui, ça fait longtemps."),
    ("agent", "Vous êtes toujours au 8 rue Pasteur, à Valence ?"),
    ("callee", "Non, on a déménagé à Romans en mars, au 3 place Jean-Jaurès."),
    (
        "agent",
        "C'est noté. Pour le rendez-vous, j'ai jeudi à dix heures ou vendredi à quinze heures trente.",
    ),
    ("callee", "Jeudi dix heures, ça me va."),
    (
        "agent",
        "Je vous confirme donc le rendez-vous jeudi douze juin à dix heures, avec le docteur Aubert. La séance coûte quarante-cinq euros.",
    ),
    ("callee", "Oui, d'accord, merci."),
    ("agent", "Merci à vous, bonne journée, au revoir."),
]


def make_ctx(turns: list[tuple[str, str]], note: str | None) -> CallContext:
    utts, t = [], 0.0
    for role, text in turns:
        dur = max(1.0, 0.3 * len(text.split()))
        utts.append(Utterance(speaker=role, start=t, end=t + dur, text=text, role=role))
        t += dur + 0.4
    return CallContext(tuple(utts), crm_note=note)


def crm(turns: list[tuple[str, str]], note: str | None):
    found = run_detectors(make_ctx(turns, note), ["crm_consistency.v1"])
    assert len(found) == 1
    return found[0]


def test_no_note_is_missing() -> None:
    f = crm(CALL, None)
    assert f.label == "crm:missing"
    assert crm(CALL, "   ").label == "crm:missing"


@pytest.mark.parametrize(
    "note",
    [
        "M. Petit, nouvelle adresse : 3 place Jean-Jaurès, Romans (déménagé en mars). "
        "RDV détartrage pris jeudi 12/06 à 10h avec Dr Aubert, 45 €.",
        "m petit demenage a romans en mars 3 place jean-jaures. rdv fixe jeudi 12 juin 10 h "
        "dr aubert 45 euros",
    ],
)
def test_consistent_note(note: str) -> None:
    f = crm(CALL, note)
    assert f.label == "crm:consistent", f.data
    assert f.data["contradictions"] == []
    assert "jour : jeudi" in f.data["found"] and "heure : 10:00" in f.data["found"]


def test_wrong_day_and_time_are_quoted_contradictions() -> None:
    note = "Nouvelle adresse 3 place Jean-Jaurès, Romans. RDV pris mardi 14h avec Dr Aubert, 45 €."
    f = crm(CALL, note)
    assert f.label == "crm:contradiction"
    kinds = {c["kind"] for c in f.data["contradictions"]}
    assert {"jour", "heure"} <= kinds
    c = [c for c in f.data["contradictions"] if c["kind"] == "heure"][0]
    assert "14h" in c["note_quote"]
    assert "dix heures" in c["call_quote"] and c["call_start"] is not None
    assert "jeudi" in " ".join(f.data["missing"])
    assert f.evidence and f.evidence[0].role == "agent"


def test_wrong_date_and_amount() -> None:
    note = "Nouvelle adresse Romans. RDV jeudi 13/06 à 10h, tarif 54 €."
    f = crm(CALL, note)
    kinds = {c["kind"] for c in f.data["contradictions"]}
    assert {"date", "montant"} <= kinds


def test_note_claims_appointment_while_callee_refused() -> None:
    call = [
        ("agent", "Je vous propose un rendez-vous avec notre conseiller mardi à quatorze heures."),
        ("callee", "Non merci, ça ne m'intéresse pas."),
        ("agent", "Très bien, bonne journée."),
    ]
    f = crm(call, "RDV pris mardi 14h, client d'accord.")
    assert f.label == "crm:contradiction"
    assert any(c["kind"] == "issue" for c in f.data["contradictions"])
    c = [c for c in f.data["contradictions"] if c["kind"] == "issue"][0]
    assert "intéresse pas" in c["call_quote"]


def test_negated_term_contradicts_the_call() -> None:
    call = [
        (
            "agent",
            "L'abonnement est à vingt-neuf euros par mois avec un engagement de vingt-quatre mois.",
        ),
        ("callee", "D'accord, je prends."),
        (
            "agent",
            "Je vous confirme la souscription, vingt-neuf euros par mois, engagement vingt-quatre mois.",
        ),
        ("callee", "Oui."),
    ]
    f = crm(call, "Souscription validée : 29 €/mois sans engagement.")
    assert f.label == "crm:contradiction"
    neg = [c for c in f.data["contradictions"] if c["kind"] == "négation"]
    assert neg and "sans engagement" in neg[0]["note_quote"]
    # the same note is fine when the call itself said « sans engagement »
    call_ok = [
        ("agent", "L'abonnement est à vingt-neuf euros par mois, sans engagement."),
        ("callee", "D'accord, je prends."),
    ]
    assert (
        crm(call_ok, "Souscription validée : 29 €/mois sans engagement.").label
        != "crm:contradiction"
    )


def test_incomplete_note_lists_what_is_missing() -> None:
    f = crm(CALL, "Appel patient, RDV pris.")
    assert f.label == "crm:incomplete"
    missing = " ".join(f.data["missing"])
    assert "jeudi" in missing and "dix heures" in missing


def test_note_lends_interest_the_callee_never_showed() -> None:
    call = [
        ("agent", "Nous avons une nouvelle formule de cours en ligne à trente euros par mois."),
        ("callee", "Je ne suis pas intéressé, je n'ai pas le temps en ce moment."),
        ("agent", "D'accord, je vous envoie quand même la brochure."),
        ("callee", "Si vous voulez."),
    ]
    f = crm(call, "Client intéressé par la formule en ligne, brochure envoyée.")
    assert f.label == "crm:contradiction"
    assert any(c["kind"] == "intérêt" for c in f.data["contradictions"])


def test_hours_per_day_in_the_note_are_no_appointment_time() -> None:
    turns = [
        ("agent", "Bonjour Madame Noël, Hugo Barre de l'Optique du Centre. Vous passez beaucoup de temps sur écran ?"),
        ("callee", "Sept ou huit heures par jour, je suis graphiste."),
        ("agent", "Je vous propose un contrôle de la vue mardi à 10 h, ça vous va ?"),
        ("callee", "Oui, d'accord."),
        ("agent", "Je vous confirme donc mardi à 10 h. Merci, au revoir."),
    ]  # fmt: skip
    note = "Mme Noël, graphiste, 7 à 8 h par jour sur écran. RDV contrôle de la vue mardi à 10 h."
    f = crm(turns, note)
    assert f.label == "crm:consistent", f.data
    assert not any("08:00" in str(c) for c in f.data["contradictions"])
    # a real wrong time is still a contradiction
    f = crm(turns, "Mme Noël, 7 à 8 h par jour sur écran. RDV mardi à 11 h.")
    assert f.label == "crm:contradiction"
