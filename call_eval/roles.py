"""Speaker roles: which diarization speaker is the agent (the candidate), which the callee.

Inferred from what each speaker says — self-introduction, the reason for the call, consent
requests, proposals, addressing the other by name, asking the questions — plus a weak
talk-share prior; cues and weights are data (``rubrics/lexicon/roles.yaml``). The result
carries a confidence and French reasons. ``agent_speaker`` or ``agent_channel`` override the
inference (``method="override"``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

from .detectors.base import load_lexicon
from .errors import ConfigError
from .nlp import fold
from .types import Diarization, RoleAssignment, Utterance

CHANNEL_NAMES = {"left": 0, "right": 1}


@lru_cache(maxsize=8)
def _compiled(cues_key: str) -> list[tuple[dict[str, Any], re.Pattern[str]]]:
    cues = load_lexicon(cues_key)["cues"]
    return [(cue, re.compile(cue["pattern"])) for cue in cues]


def _norm(text: str) -> str:
    return re.sub(r"[\s'-]+", " ", fold(text)).strip()


def speaker_scores(
    utterances: Sequence[Utterance], lexicon: str = "roles"
) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Agent score per speaker and the French reasons behind it."""
    params = load_lexicon(lexicon)
    first_n = int(params.get("first_turns", 3))
    scores: dict[str, float] = {}
    reasons: dict[str, list[tuple[float, str]]] = {}
    seen: dict[str, int] = {}
    words: dict[str, int] = {}
    for u in utterances:
        spk = u.speaker
        seen[spk] = seen.get(spk, 0) + 1
        scores.setdefault(spk, 0.0)
        reasons.setdefault(spk, [])
        words[spk] = words.get(spk, 0) + len(u.text.split())
        norm, raw = _norm(u.text), u.text.lower()
        for cue, rx in _compiled(lexicon):
            if cue.get("first_only") and seen[spk] > first_n:
                continue
            hits = len(rx.findall(raw if cue.get("on") == "raw" else norm))
            if hits:
                scores[spk] += float(cue["weight"]) * min(hits, 3)
                weight = float(cue["weight"])
                if weight > 0 and not any(r.startswith(cue["reason"]) for _, r in reasons[spk]):
                    quote = u.text if len(u.text) <= 70 else u.text[:67] + "…"
                    reasons[spk].append((weight, f"{cue['reason']} (« {quote} », {u.start:.0f} s)"))
    total = sum(words.values()) or 1
    for spk in scores:
        scores[spk] += float(params.get("talk_share_weight", 2.0)) * (
            words.get(spk, 0) / total - 0.5
        )
    ordered = {spk: [r for _, r in sorted(rs, key=lambda x: -x[0])] for spk, rs in reasons.items()}
    return scores, ordered


def infer_roles(
    utterances: Sequence[Utterance],
    diarization: Diarization | None = None,
    *,
    agent_speaker: str | None = None,
    agent_channel: str | None = None,
) -> RoleAssignment:
    """Public entry: decide the agent and the callee (see module docstring)."""
    speakers = list(dict.fromkeys(u.speaker for u in utterances))
    if diarization is not None:
        speakers += [s for s in diarization.speakers if s not in speakers]
    if not speakers:
        raise ConfigError(
            "Aucune parole détectée : impossible d'attribuer les rôles. Vérifiez l'enregistrement."
        )
    if agent_channel is not None:
        if agent_channel not in CHANNEL_NAMES:
            raise ConfigError(
                f"--agent-channel {agent_channel!r} invalide. Valeurs valides : left, right"
            )
        channel_of = diarization.channel_of if diarization else {}
        if not channel_of:
            raise ConfigError(
                "--agent-channel ne s'applique qu'à un enregistrement stéréo séparé par canal "
                "(diarisation 'channel'). Utilisez --agent-speaker LABEL."
            )
        wanted = CHANNEL_NAMES[agent_channel]
        agent_speaker = next((s for s, ch in channel_of.items() if ch == wanted), None)
        if agent_speaker is None:
            raise ConfigError(
                f"Aucun locuteur sur le canal {agent_channel}. Valeurs valides : {', '.join(channel_of)}"
            )
    if agent_speaker is not None:
        if agent_speaker not in speakers:
            raise ConfigError(
                f"--agent-speaker {agent_speaker!r} inconnu. Locuteurs de cet appel : {', '.join(sorted(speakers))}"
            )
        callee = next((s for s in speakers if s != agent_speaker), None)
        return RoleAssignment(
            agent_speaker, callee, 1.0, "override", ("rôle imposé par l'utilisateur",)
        )
    scores, reasons = speaker_scores(utterances)
    for s in speakers:
        scores.setdefault(s, -math.inf if len(speakers) > 1 else 0.0)
        reasons.setdefault(s, [])
    ranked = sorted(speakers, key=lambda s: scores[s], reverse=True)
    agent = ranked[0]
    callee = ranked[1] if len(ranked) > 1 else None
    if callee is None:
        return RoleAssignment(
            agent, None, 0.5, "inferred", ("un seul locuteur détecté",), dict(scores)
        )
    margin = scores[agent] - scores[callee] if math.isfinite(scores[callee]) else 5.0
    scale = float(load_lexicon("roles").get("confidence_scale", 0.6))
    confidence = 1.0 / (1.0 + math.exp(-scale * margin))
    why = reasons[agent][:4] or ["parle le plus"]
    return RoleAssignment(
        agent=agent,
        callee=callee,
        confidence=round(confidence, 3),
        method="inferred",
        reasons=tuple(f"{agent} {r}" for r in why),
        scores={k: round(v, 3) for k, v in scores.items() if math.isfinite(v)},
    )


def apply_roles(utterances: Sequence[Utterance], roles: RoleAssignment) -> tuple[Utterance, ...]:
    """Utterances with their ``role`` filled in."""
    return tuple(replace(u, role=roles.role_of(u.speaker)) for u in utterances)


def roles_from_labels(utterances: Sequence[Utterance], labels: Mapping[str, str]) -> RoleAssignment:
    """Roles given by a transcript (speaker → role)."""
    agent = next((s for s, r in labels.items() if r == "agent"), None)
    callee = next((s for s, r in labels.items() if r == "callee"), None)
    if agent is None:
        raise ConfigError("La transcription n'indique aucun locuteur de rôle 'agent'.")
    return RoleAssignment(agent, callee, 1.0, "transcript", ("rôles donnés par la transcription",))
