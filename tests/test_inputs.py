"""Transcript JSON, call script and CRM note inputs."""

from __future__ import annotations

import json

import pytest

from call_eval.errors import TranscriptError
from call_eval.inputs import load_script, load_transcript, parse_script, parse_transcript


def test_transcript_with_roles_and_words(tmp_path):
    data = {
        "utterances": [
            {"role": "agent", "start": 0.5, "end": 2.0, "text": "Bonjour madame."},
            {
                "role": "callee",
                "start": 2.2,
                "end": 2.8,
                "text": "Bonjour.",
                "words": [{"start": 2.2, "end": 2.8, "text": "Bonjour.", "probability": 0.9}],
            },
        ]
    }
    p = tmp_path / "t.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    utts, labels = load_transcript(p)
    assert labels == {"agent": "agent", "callee": "callee"}
    assert utts[1].words[0].probability == 0.9
    assert (utts[0].start, utts[0].end) == (0.5, 2.0)


def test_bare_list_with_speakers_and_no_times():
    utts, labels = parse_transcript(
        [
            {"speaker": "A", "text": "Allô ?"},
            {"speaker": "B", "text": "Bonjour, ici Paul de la société Lumen."},
        ]
    )
    assert labels == {}
    assert utts[0].end <= utts[1].start  # spaced in order


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "utterances"),
        ({"utterances": [{"role": "agent"}]}, "text"),
        ({"utterances": [{"role": "juror", "text": "x"}]}, "agent, callee"),
        ({"utterances": [{"text": "x"}]}, "role"),
        ({"utterances": [{"role": "agent", "text": "x", "start": "a"}]}, "nombre"),
        ({"utterances": [{"role": "agent", "text": "x", "start": 3, "end": 1}]}, "avant"),
    ],
)
def test_malformed_transcripts_name_the_problem(data, message):
    with pytest.raises(TranscriptError, match=message):
        parse_transcript(data)


def test_invalid_json_file(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text("{not json", encoding="utf-8")
    with pytest.raises(TranscriptError, match="JSON valide"):
        load_transcript(p)


def test_script_formats(tmp_path):
    assert parse_script("Êtes-vous propriétaire ?\n\n# note\n2. Quelle surface ?") == (
        "Êtes-vous propriétaire ?",
        "Quelle surface ?",
    )
    assert parse_script("- Question un ?\n- Question deux ?") == (
        "Question un ?",
        "Question deux ?",
    )
    assert parse_script("questions:\n  - A ?\n  - B ?") == ("A ?", "B ?")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="aucune question"):
        load_script(empty)
