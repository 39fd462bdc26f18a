"""Shared pytest fixtures.

Audio fixtures are synthesised with the project's own generator (:mod:`call_eval.synth`)
from ``tests/data/short_call.yaml``: each rendering happens once per test session, only when
a test asks for it, under a session temporary folder.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import call_eval

TESTS_DIR = Path(__file__).resolve().parent
TEST_DATA_DIR = TESTS_DIR / "data"
SHORT_CALL_YAML = TEST_DATA_DIR / "short_call.yaml"
DEMO_DIR = Path(call_eval.__file__).resolve().parent / "data" / "demo"
SYNTH_SEED = 7


# --------------------------------------------------------------------------- synthetic calls
@dataclass(frozen=True)
class _Rendering:
    """One call rendered from the short dialogue: ``render_call`` and ``write_call`` arguments."""

    render: dict[str, Any] = field(default_factory=dict)
    sample_rate: int | None = None


_RENDERINGS: dict[str, _Rendering] = {
    "base": _Rendering(),
    "quiet_agent": _Rendering(render={"agent_gain_db": -20.0}),
    "fast_agent": _Rendering(render={"agent_speed": 1.5}),
    "telephone_8k": _Rendering(render={"telephone": True}, sample_rate=8000),
}

# variant -> (rendering, which file is the variant's "path")
SYNTH_VARIANTS: dict[str, tuple[str, str]] = {
    "mono": ("base", "mono"),  # 16 kHz mono wav
    "stereo": ("base", "stereo"),  # 16 kHz stereo wav, agent left, callee right
    "stereo_identical": ("base", "identical"),  # stereo wav, both channels = the mono mix
    "quiet_agent": ("quiet_agent", "mono"),  # agent 20 dB below the callee (stereo beside)
    "fast_agent": ("fast_agent", "mono"),  # agent voiced at speed x1.5 (stereo beside)
    "telephone_8k": ("telephone_8k", "mono"),  # 300-3400 Hz band, written at 8 kHz
}


class SynthCalls:
    """Factory behind the ``synth_call`` fixture; caches each rendering for the session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._written: dict[str, dict[str, Path]] = {}

    def _rendering(self, key: str) -> dict[str, Path]:
        if key not in self._written:
            pytest.importorskip("py_nanotts", reason="py-nanotts (dev dependency) is needed")
            import soundfile as sf

            from call_eval.synth import render_call, write_call

            spec = _RENDERINGS[key]
            call = render_call(SHORT_CALL_YAML, seed=SYNTH_SEED, **spec.render)
            out = self.root / key
            paths = write_call(call, out, f"short_{key}", sample_rate=spec.sample_rate)
            mono, rate = sf.read(paths["mono"], dtype="float32")
            paths["identical"] = out / f"short_{key}_identical.wav"
            sf.write(paths["identical"], np.stack([mono, mono], axis=1), rate, subtype="PCM_16")
            self._written[key] = paths
        return self._written[key]

    def __call__(self, variant: str) -> dict[str, Any]:
        if variant not in SYNTH_VARIANTS:
            raise ValueError(
                f"unknown synth_call variant {variant!r}; valid variants: {', '.join(SYNTH_VARIANTS)}"
            )
        key, which = SYNTH_VARIANTS[variant]
        paths = self._rendering(key)
        reference = json.loads(paths["json"].read_text(encoding="utf-8"))
        return {
            "path": paths[which],
            "reference": copy.deepcopy(reference),
            "variant": variant,
            "mono": paths["mono"],
            "stereo": paths["stereo"],
            "rttm": paths["rttm"],
            "json": paths["json"],
        }


@pytest.fixture(scope="session")
def synth_call(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, Any]]:
    """``synth_call(variant)`` -> {"path", "reference" (the JSON: turns with speaker, text,
    start, end), "variant", "mono", "stereo", "rttm", "json"} for a short French two-voice
    call (~40 s). Variants: see ``SYNTH_VARIANTS``."""
    return SynthCalls(tmp_path_factory.mktemp("synth_calls"))


@pytest.fixture(scope="session")
def short_call_yaml() -> Path:
    """The dialogue behind the ``synth_call`` fixtures."""
    return SHORT_CALL_YAML


# --------------------------------------------------------------------------- bundled demo
@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """The bundled demo call (call_eval/data/demo): audio, reference JSON, RTTM, script, CRM."""
    return DEMO_DIR


# --------------------------------------------------------------------------- app store
@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory for the app (its database and recordings), light hashing."""
    from exam_fixtures import quick_hashing

    directory = tmp_path / "data"
    monkeypatch.setenv("CALL_EVAL_DATA_DIR", str(directory))
    for name in ("CALL_EVAL_DB_URL", "CALL_EVAL_OPEN", "CALL_EVAL_MAX_DURATION_S"):
        monkeypatch.delenv(name, raising=False)
    quick_hashing(monkeypatch)
    return directory


@pytest.fixture()
def db(data_dir: Path):
    """The store of :func:`data_dir` (modules may define their own ``db``)."""
    from call_eval import store

    database = store.open_db(data_dir=data_dir)
    yield database
    database.dispose()
