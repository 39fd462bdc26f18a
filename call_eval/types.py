"""Frozen dataclasses passed between pipeline stages: the project's internal contract.

Every stage takes and returns these types; only :mod:`call_eval.pipeline` composes stages.
Times are seconds from the start of the recording. Speakers are diarization labels
(``SPEAKER_00``, ``left``...) until roles are known; roles are ``agent`` or ``callee``.
Numpy is imported for type hints only, so ``import call_eval.types`` stays cheap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

Role = Literal["agent", "callee"]
ROLES: tuple[Role, Role] = ("agent", "callee")
State = Literal["acquis", "non_acquis", "a_verifier"]
STATES: tuple[State, State, State] = ("acquis", "non_acquis", "a_verifier")


# --------------------------------------------------------------------------- audio
@dataclass(frozen=True, eq=False)
class Audio:
    """A decoded recording: float32 samples at ``sample_rate`` (16 kHz), channels kept.

    ``samples`` has shape ``(channels, n)``. ``identical_channels`` is true for a stereo file
    whose two channels carry the same signal (a mono call saved as stereo).
    """

    samples: np.ndarray
    sample_rate: int
    duration: float
    path: str | None
    format: str
    original_sample_rate: int
    original_channels: int
    sha256: str
    identical_channels: bool = False

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def is_true_stereo(self) -> bool:
        return self.channels == 2 and not self.identical_channels

    def mono(self) -> np.ndarray:
        """The mix of all channels (a view for mono audio)."""
        if self.channels == 1:
            return self.samples[0]
        return self.samples.mean(axis=0)

    def channel(self, index: int) -> np.ndarray:
        return self.samples[index]

    def slice(self, start: float, end: float, channel: int | None = None) -> np.ndarray:
        """Samples between two times, from one channel or the mono mix."""
        a = self.mono() if channel is None else self.samples[channel]
        s = max(0, int(round(start * self.sample_rate)))
        e = min(a.shape[-1], int(round(end * self.sample_rate)))
        return a[s:e]


# --------------------------------------------------------------------------- ASR
@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0
    channel: int | None = None  # set when each channel was transcribed on its own


@dataclass(frozen=True)
class Transcript:
    language: str
    segments: tuple[Segment, ...]
    model: str
    duration: float

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)


# --------------------------------------------------------------------------- diarization
@dataclass(frozen=True)
class SpeakerTurn:
    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class Diarization:
    """Who speaks when. ``channel_of`` maps a speaker to its channel (channel backend)."""

    turns: tuple[SpeakerTurn, ...]
    backend: str
    speakers: tuple[str, ...]
    channel_of: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- utterances
@dataclass(frozen=True)
class SpeakerWord:
    """A word with its speaker, after per-word speaker assignment."""

    start: float
    end: float
    text: str
    probability: float
    speaker: str


@dataclass(frozen=True)
class Utterance:
    """One speaker turn with its text. ``role`` is None until roles are assigned."""

    speaker: str
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    role: Role | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker,
            "role": self.role,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
            "words": [
                {
                    "start": round(w.start, 3),
                    "end": round(w.end, 3),
                    "text": w.text,
                    "probability": round(w.probability, 4),
                }
                for w in self.words
            ],
        }


@dataclass(frozen=True)
class RoleAssignment:
    """Which diarization speaker is the agent (candidate) and which is the callee."""

    agent: str
    callee: str | None
    confidence: float
    method: Literal["inferred", "override", "transcript"]
    reasons: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)

    def role_of(self, speaker: str) -> Role:
        return "agent" if speaker == self.agent else "callee"


# --------------------------------------------------------------------------- NLP findings
@dataclass(frozen=True)
class Evidence:
    """A quoted piece of the call backing a finding or a suggestion."""

    role: Role | None
    start: float
    end: float
    quote: str
    speaker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker,
            "role": self.role,
            "start": round(self.start, 2),
            "end": round(self.end, 2),
            "quote": self.quote,
        }


@dataclass(frozen=True)
class Finding:
    """One thing a detector found: e.g. a greeting, a consent request, an objection.

    ``detector`` is the versioned registry name (``greeting.v1``), ``label`` an optional
    sub-kind (``objection:price``), ``score`` in [0, 1] the detector's strength of belief,
    ``reason`` one line in French, ``data`` detector-specific details (JSON-serialisable).
    """

    detector: str
    role: Role | None
    score: float
    reason: str
    evidence: tuple[Evidence, ...] = ()
    label: str = ""
    utterance_index: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["evidence"] = [e.to_dict() for e in self.evidence]
        return d


@dataclass(frozen=True)
class CriterionResult:
    id: str
    label: str
    source: str
    suggested: State
    confidence: float
    reason: str
    evidence: tuple[Evidence, ...] = ()
    manual: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "source": self.source,
            "suggested": self.suggested,
            "confidence": round(self.confidence, 3),
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
            "manual": self.manual,
        }


@dataclass(frozen=True)
class Score:
    acquis: int
    total: int
    ratio: float
    pass_ratio: float
    needed: int
    passed: bool
    missing: int
    a_verifier: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
