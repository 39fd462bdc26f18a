"""Per-word speaker assignment and utterance building, especially at turn boundaries."""

from __future__ import annotations

from call_eval.align import align, assign_speakers, build_utterances
from call_eval.types import Diarization, Segment, SpeakerTurn, Transcript, Word


def _transcript(words, channel=None):
    seg = Segment(
        words[0].start,
        words[-1].end,
        " ".join(w.text for w in words),
        tuple(words),
        channel=channel,
    )
    return Transcript("fr", (seg,), "test", 10.0)


def _diar(*turns, channel_of=None):
    return Diarization(
        tuple(SpeakerTurn(*t) for t in turns),
        "test",
        tuple(dict.fromkeys(t[2] for t in turns)),
        channel_of or {},
    )


def test_segment_straddling_a_turn_change_is_split_per_word():
    # one Whisper segment covers both speakers: words must follow the diarization
    words = [
        Word(0.0, 0.4, "Bonjour"),
        Word(0.5, 0.9, "madame."),
        Word(1.3, 1.6, "Oui"),
        Word(1.7, 2.0, "bonjour."),
    ]
    diar = _diar((0.0, 1.0, "A"), (1.2, 2.1, "B"))
    utts = align(_transcript(words), diar)
    assert [(u.speaker, u.text) for u in utts] == [("A", "Bonjour madame."), ("B", "Oui bonjour.")]
    assert utts[0].start == 0.0 and utts[0].end == 0.9 and utts[1].start == 1.3


def test_word_straddling_boundary_goes_to_larger_overlap():
    words = [Word(0.8, 1.4, "mot")]  # 0.2 s in A's turn, 0.4 s in B's
    diar = _diar((0.0, 1.0, "A"), (1.0, 2.0, "B"))
    assert assign_speakers(_transcript(words), diar)[0].speaker == "B"


def test_word_in_a_gap_snaps_to_nearest_turn():
    words = [Word(1.05, 1.15, "euh")]
    diar = _diar((0.0, 1.0, "A"), (1.5, 2.0, "B"))
    assert assign_speakers(_transcript(words), diar)[0].speaker == "A"


def test_overlapping_turns_choose_max_overlap():
    words = [Word(1.0, 1.5, "non")]
    diar = _diar((0.0, 1.6, "A"), (1.1, 3.0, "B"))  # overlap: A covers 0.5 s, B 0.4 s
    assert assign_speakers(_transcript(words), diar)[0].speaker == "A"


def test_channel_transcripts_use_their_channel_speaker():
    left = Segment(0.0, 1.0, "Bonjour", (Word(0.0, 1.0, "Bonjour"),), channel=0)
    right = Segment(0.5, 1.2, "allô", (Word(0.5, 1.2, "allô"),), channel=1)
    tr = Transcript("fr", (left, right), "t", 2.0)
    diar = _diar((0.0, 1.0, "left"), (0.5, 1.2, "right"), channel_of={"left": 0, "right": 1})
    words = assign_speakers(tr, diar)
    assert [(w.text, w.speaker) for w in words] == [("Bonjour", "left"), ("allô", "right")]


def test_long_silence_splits_same_speaker_run():
    from call_eval.types import SpeakerWord

    words = [
        SpeakerWord(0, 0.5, "Un", 1, "A"),
        SpeakerWord(0.6, 1.0, "deux.", 1, "A"),
        SpeakerWord(5.0, 5.5, "Trois.", 1, "A"),
    ]
    utts = build_utterances(words, split_gap_s=2.0)
    assert [u.text for u in utts] == ["Un deux.", "Trois."]


def test_punctuation_and_elision_joining():
    from call_eval.types import SpeakerWord

    words = [
        SpeakerWord(0, 0.2, "C'est", 1, "A"),
        SpeakerWord(0.2, 0.4, "bien", 1, "A"),
        SpeakerWord(0.4, 0.5, "ça", 1, "A"),
        SpeakerWord(0.5, 0.6, "?", 1, "A"),
    ]
    assert build_utterances(words)[0].text == "C'est bien ça?"
    split = [
        SpeakerWord(0, 0.2, "Avez", 1, "A"),
        SpeakerWord(0.2, 0.4, "-vous", 1, "A"),
        SpeakerWord(0.4, 0.5, "m", 1, "A"),
        SpeakerWord(0.5, 0.6, "'accorder", 1, "A"),
    ]
    assert build_utterances(split)[0].text == "Avez-vous m'accorder"
