"""Detector registry and the call context every detector reads.

A detector is a function ``(ctx: CallContext, params: Mapping) -> list[Finding]`` registered
under a versioned name (``greeting.v1``), in the spirit of spaCy's registry. Its phrases and
thresholds are data: ``register(name, lexicon="opening")`` names a YAML file under
``rubrics/lexicon/`` whose content is the detector's default ``params``; a rubric may
override any key in its ``detectors:`` section (a changed rubric is a new version).
Every module of this package is imported on first use, so adding a detector family means
adding a module — nothing else to edit.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .. import settings
from ..errors import ConfigError, RubricError
from ..nlp import DEFAULT_MODEL, PatternSet, load_nlp
from ..types import Evidence, Finding, Role, Utterance

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc

log = logging.getLogger(__name__)

DetectorFn = Callable[["CallContext", Mapping[str, Any]], list[Finding]]
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*\.v[0-9]+$")


@dataclass(frozen=True)
class DetectorSpec:
    name: str
    fn: DetectorFn
    lexicon: str | None
    description: str


_REGISTRY: dict[str, DetectorSpec] = {}


def register(name: str, *, lexicon: str | None = None) -> Callable[[DetectorFn], DetectorFn]:
    """Register a detector function under a versioned name (``family_name.vN``)."""
    if not _NAME_RE.match(name):
        raise ValueError(f"detector name {name!r} must look like 'name.v1'")

    def deco(fn: DetectorFn) -> DetectorFn:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"detector {name!r} registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = DetectorSpec(name, fn, lexicon, doc[0] if doc else "")
        return fn

    return deco


@lru_cache(maxsize=1)
def _import_all() -> None:
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{__package__}.{info.name}")


def registry() -> dict[str, DetectorSpec]:
    """All registered detectors, by name (imports every detector module once)."""
    _import_all()
    return dict(_REGISTRY)


def get(name: str) -> DetectorSpec:
    reg = registry()
    if name not in reg:
        raise ConfigError(
            f"Détecteur inconnu : {name!r}. Détecteurs valides : {', '.join(sorted(reg))}"
        )
    return reg[name]


@lru_cache(maxsize=64)
def _read_lexicon(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise RubricError(
            f"{file}: fichier de lexique introuvable (attendu sous rubrics/lexicon/)."
        )
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RubricError(f"{file}: YAML invalide : {exc}") from exc
    if not isinstance(data, dict):
        raise RubricError(f"{file}: un lexique doit être un dictionnaire YAML.")
    return data


def load_lexicon(name: str, lexicon_dir: Path | None = None) -> dict[str, Any]:
    """The default params of a detector family, from ``rubrics/lexicon/<name>.yaml``."""
    base = lexicon_dir or settings.rubrics_dir() / "lexicon"
    return dict(_read_lexicon(str(base / f"{name}.yaml")))


def merge_params(base: Mapping[str, Any], override: Mapping[str, Any] | None) -> dict[str, Any]:
    """Deep-merge ``override`` onto ``base`` (mappings merge, other values replace)."""
    out = dict(base)
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_params(out[key], value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True, eq=False)
class CallContext:
    """Everything detectors read: role-labelled utterances, optional script and CRM note,
    flat audio features. spaCy docs are parsed once, lazily, and shared by all detectors."""

    utterances: tuple[Utterance, ...]
    script_questions: tuple[str, ...] = ()
    crm_note: str | None = None
    features: Mapping[str, float] = field(default_factory=dict)
    nlp_model: str = DEFAULT_MODEL

    @property
    def nlp(self) -> Language:
        return load_nlp(self.nlp_model)

    @cached_property
    def docs(self) -> tuple[Doc, ...]:
        return tuple(self.nlp.pipe([u.text for u in self.utterances], batch_size=64))

    def indices(self, role: Role) -> list[int]:
        return [i for i, u in enumerate(self.utterances) if u.role == role]

    def previous(self, index: int, role: Role) -> int | None:
        """Index of the last utterance of ``role`` before ``index``."""
        for j in range(index - 1, -1, -1):
            if self.utterances[j].role == role:
                return j
        return None

    def next(self, index: int, role: Role) -> int | None:
        for j in range(index + 1, len(self.utterances)):
            if self.utterances[j].role == role:
                return j
        return None

    def evidence(
        self, index: int, quote: str | None = None, *, char_span: tuple[int, int] | None = None
    ) -> Evidence:
        """Evidence for utterance ``index``; with ``quote`` or a token-char span, times are
        narrowed to the quoted words when word timestamps exist."""
        u = self.utterances[index]
        text = quote if quote is not None else u.text
        start, end = u.start, u.end
        if quote and u.words:
            start, end = _narrow_times(u, quote) or (start, end)
        return Evidence(role=u.role, start=start, end=end, quote=text.strip(), speaker=u.speaker)

    @cached_property
    def _pattern_cache(self) -> dict[str, tuple[Mapping[str, Any], PatternSet]]:
        return {}

    def patterns(self, rules: Mapping[str, Iterable[Any]]) -> PatternSet:
        """A compiled PatternSet for ``rules``, cached per context by content (rules built
        from a rubric override are new objects each time, so ``id()`` would not do)."""
        import json

        key = json.dumps(rules, sort_keys=True, ensure_ascii=False, default=str)
        cache = self._pattern_cache
        if key not in cache:
            cache[key] = (rules, PatternSet(self.nlp, rules))
        return cache[key][1]


def _narrow_times(u: Utterance, quote: str) -> tuple[float, float] | None:
    from ..nlp import normalize

    target = normalize(quote).split()
    if not target:
        return None
    words = [normalize(w.text) for w in u.words]
    n = len(target)
    for i in range(len(words) - n + 1):
        if words[i : i + n] == target:
            return u.words[i].start, u.words[i + n - 1].end
    first = target[0]
    for i, w in enumerate(words):
        if w == first:
            j = min(len(u.words) - 1, i + n - 1)
            return u.words[i].start, u.words[j].end
    return None


def run_detectors(
    ctx: CallContext,
    names: Sequence[str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[Finding, ...]:
    """Run the named detectors (all registered ones by default) and return their findings.

    ``overrides`` maps a detector name to params merged over its lexicon defaults.
    """
    reg = registry()
    selected = list(names) if names is not None else sorted(reg)
    findings: list[Finding] = []
    for name in selected:
        spec = get(name)
        params = load_lexicon(spec.lexicon) if spec.lexicon else {}
        params = merge_params(params, (overrides or {}).get(name))
        for finding in spec.fn(ctx, params):
            if finding.detector != name:
                raise RuntimeError(
                    f"detector {name} returned a finding labelled {finding.detector}"
                )
            findings.append(finding)
    return tuple(findings)
