"""Value normalisation and text comparison helpers (call_eval.semantic)."""

from __future__ import annotations

import pytest

from call_eval import semantic as sem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cent dix mètres carrés", [110]),
        ("soixante-quinze euros", [75]),
        ("quatre-vingt-dix-sept", [97]),
        ("soixante et onze ans", [71]),
        ("deux mille vingt-cinq", [2025]),
        ("mille neuf cent quatre-vingt-huit", [1988]),
        ("trois mille quatre cents euros", [3400]),
        ("vingt et un jours", [21]),
        ("dix-neuf", [19]),
        ("il a 3 200 € de travaux", [3200]),
        ("12,50 € par mois", [12.5]),
    ],
)
def test_parse_numbers_words_and_digits(text: str, expected: list[float]) -> None:
    assert [n.value for n in sem.parse_numbers(text) if not n.weak] == expected


def test_number_sequences_split_where_french_cannot_combine() -> None:
    # a phone number read in pairs: each pair is its own number
    values = [n.value for n in sem.parse_numbers("zéro sept, douze, quarante-quatre, trente")]
    assert values == [0, 7, 12, 44, 30]


def test_article_un_and_adjective_neuf_are_weak() -> None:
    nums = sem.parse_numbers("un appartement neuf")
    assert nums and all(n.weak for n in nums)
    assert sem.value_keys("un appartement neuf") == []
    assert sem.value_keys("neuf heures") == ["#9"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rendez-vous à 14h", ["14:00"]),
        ("vers 9 h 45", ["09:45"]),
        ("à 16:30", ["16:30"]),
        ("à quatorze heures trente", ["14:30"]),
        ("à onze heures et demie", ["11:30"]),
        ("huit heures et quart", ["08:15"]),
        ("onze heures moins le quart", ["10:45"]),
        ("entre midi et deux", ["12:00"]),
        ("ça prend trois heures environ", []),
        ("une intervention de deux heures", []),
        ("de neuf heures à midi", ["09:00", "12:00"]),
    ],
)
def test_parse_times(text: str, expected: list[str]) -> None:
    assert [t.value for t in sem.parse_times(text)] == expected


def test_parse_dates_digits_words_and_weekday_day() -> None:
    assert [d.value for d in sem.parse_dates("le 05/03")] == ["05/03"]
    assert [d.value for d in sem.parse_dates("le vingt-huit février")] == ["28/02"]
    assert [d.value for d in sem.parse_dates("le 1er avril 2026")] == ["01/04/2026"]
    assert [d.value for d in sem.parse_dates("mardi prochain, le neuf")] == ["09/??"]
    assert [d.value for d in sem.parse_dates("en octobre")] == ["??/10"]
    # a weekday followed by a clock time is no date
    assert sem.parse_dates("mardi 9h") == []


def test_parse_amounts_with_cents_in_words() -> None:
    amounts = sem.parse_amounts("c'est dix-neuf euros quatre-vingt-dix par mois")
    assert [a[0] for a in amounts] == [19.9]
    assert [a[0] for a in sem.parse_amounts("un forfait à 24,99 €")] == [24.99]
    # « euros » then a duration: no cents
    assert [a[0] for a in sem.parse_amounts("vingt euros pendant douze mois")] == [20]


def test_find_phrases_is_robust_to_asr_spelling() -> None:
    phrases = ["si j'ai bien compris", "qu'est-ce qui * important"]
    assert sem.find_phrases("Bon alors si j ai bien compris vous", phrases)
    assert sem.find_phrases("SI J’AI BIEN COMPRIS", phrases)
    hit = sem.find_phrases("et qu est ce qui est vraiment important pour vous", phrases)
    assert hit and hit[0][2].endswith("important")
    assert not sem.find_phrases("j'ai tout compris", phrases)


def test_find_phrases_question_mark_must_be_present_when_written() -> None:
    assert sem.find_phrases("C'est ça ?", ["c'est ça ?"])
    assert not sem.find_phrases("C'est ça, oui.", ["c'est ça ?"])


def test_overlap_counts_lemmas_stems_and_exact_numbers() -> None:
    ov = sem.overlap(["chauffage", "#110"], ["chauffer", "#110"])
    assert ov.ratio == 1.0
    assert sem.overlap(["#34.99"], ["#34.95"]).ratio == 0.0
    assert sem.overlap(["voiture"], ["banane"]).ratio == 0.0


def test_overlap_uses_word_vectors_for_synonyms() -> None:
    from call_eval.nlp import load_nlp

    vocab = load_nlp().vocab
    assert sem.overlap(["voiture"], ["vehicule"], vocab, vector_threshold=0.6).ratio > 0.6
    assert sem.overlap(["voiture"], ["facture"], vocab, vector_threshold=0.6).ratio == 0.0


def test_sentence_encoder_backend_spacy_never_loads_use() -> None:
    assert sem.sentence_encoder("spacy") is None
    assert sem.embed(["bonjour"], "spacy") is None
    with pytest.raises(ValueError, match="valeurs valides"):
        sem.sentence_encoder("bert")


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("tele-travail", "teletravail", True),
        ("teletravail", "travail", True),
        ("tele-travail", "travail", True),
        ("visioconference", "conference", True),
        ("position", "proposition", False),  # « pro » builds no compound here
        ("mission", "commission", False),
        ("chauffage", "chauffer", True),
        ("voiture", "facture", False),
    ],
)
def test_same_stem_handles_split_and_hyphenated_compounds(a: str, b: str, same: bool) -> None:
    assert sem.same_stem(a, b) is same


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # durations: a range of hours per day, a count of hours, a delay
        ("comptable, 7 à 8 h par jour sur ordinateur", []),
        ("sept ou huit heures par jour", []),
        ("je roule 2 h par semaine", []),
        ("7-8 h d'écran", []),
        ("rappelez dans 2 h", []),
        # clock times, ranges of clock times, a day then a time
        ("de 7 à 8 h", ["08:00"]),
        ("mercredi 15h ou jeudi 10h", ["15:00", "10:00"]),
        ("samedi 23/11 à 10h", ["10:00"]),
        ("le 15 à 10 h", ["10:00"]),
        ("entre 8 heures et midi", ["08:00", "12:00"]),
        ("rappel à partir de 14 h", ["14:00"]),
    ],
)
def test_parse_times_tells_durations_from_clock_times(text: str, expected: list[str]) -> None:
    assert [t.value for t in sem.parse_times(text)] == expected
