"""ASR helpers that need no model run: loop guard, model resolution, device choice."""

from __future__ import annotations

import pytest

from call_eval import models
from call_eval.errors import ModelError
from call_eval.transcribe import _is_loop


def test_loop_guard_catches_digit_and_phrase_loops():
    guard = models.loop_guard()
    assert _is_loop("6, " * 60, guard)
    assert _is_loop("merci beaucoup " * 12, guard)
    assert not _is_loop("Le code postal, c'est 6 9 2 0 0, oui, depuis début juin.", guard)
    assert not _is_loop(
        "Oui, oui, on l'a achetée il y a quinze ans maintenant, avec l'étage.", guard
    )


def test_unknown_model_lists_valid_values():
    with pytest.raises(ModelError, match="large-v3"):
        models.resolve_asr_model("enormous")


def test_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(ModelError, match="config.json"):
        models.resolve_asr_model(str(tmp_path))


def test_embedded_base_resolves_locally():
    ref = models.resolve_asr_model("base")
    assert ref.local and (models.settings.models_dir() / "whisper-base" / "model.bin").is_file()
    hub = models.resolve_asr_model("large-v3")
    assert not hub.local and hub.location == "large-v3"


def test_device_choice():
    assert models.auto_device("cpu", "auto") == ("cpu", "int8")
    assert models.auto_device("cuda", "auto") == ("cuda", "float16")
    with pytest.raises(ModelError, match="auto, cpu, cuda"):
        models.auto_device("tpu")
