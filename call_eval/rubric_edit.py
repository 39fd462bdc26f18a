"""Edit a rubric (or the trainees' advice texts) through a form instead of raw YAML.

Pure functions, no Streamlit: a page lists :func:`editable_parameters` (each with a stable
``key``, a French ``label``, its current ``value`` and the line where it is written), lets a
trainer change some values, then calls :func:`apply_edits` and :func:`validate` (and
:func:`bump_version`: a changed rubric is a new version).

Edits are written **in place**: the text is composed with PyYAML (which keeps the exact
position of every value) and only the characters of the edited values change, so comments,
blank lines, quoting and layout stay as the author wrote them. After writing, the new text is
read back and compared with the expected data; any difference is refused.

What is editable, found generically from the text (nothing is specific to one criterion):

- ``pass_ratio``; a criterion's ``threshold`` and ``uncertain_margin`` when written;
- in every condition tree (``rule``, ``a_verifier_when``, ``supporting``): a feature
  condition's band (``min``/``max``, from ``between: [low, high]`` too) and ``tolerance``;
  a detector condition's ``min``, ``max``, ``min_score``, ``max_utterance`` and the numeric
  ``min``/``max`` operators of its ``where`` tests, when written as numbers;
- for every detector the rubric runs, each list of phrases (list of texts) of its lexicon,
  merged with the rubric's ``detectors:`` overrides. The merge is
  :func:`~call_eval.detectors.base.merge_params`: mappings merge key by key, **a list
  replaces** the lexicon's list. An edited list is therefore written whole, as an override
  at its path under ``detectors: {detector: {...}}``, and the lexicon file is never changed.

Advice texts (``rubrics/advice_fr.yaml``): :func:`advice_fields` and
:func:`apply_advice_edits` for each criterion's ``praise``, ``advice`` and ``example``,
written as one-line double-quoted YAML strings.
"""

from __future__ import annotations

import difflib
import logging
import math
import numbers
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import RubricError

log = logging.getLogger(__name__)

Value = float | tuple[str, ...] | str

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_STR_TAG = "tag:yaml.org,2002:str"
_WIDTH = 100  # wrap written phrase lists at this column (between items only)
_HUGE = 10**9  # a PyYAML width that never folds a scalar

_CONDITION_SECTIONS = ("rule", "a_verifier_when", "supporting")
_SECTION_PREFIX = {"rule": "", "a_verifier_when": "à vérifier si ", "supporting": "appui : "}
_FEATURE_FIELDS = {"min": "minimum", "max": "maximum", "tolerance": "tolérance"}
_DETECTOR_FIELDS = {
    "min": "nombre minimal de constats",
    "max": "nombre maximal de constats",
    "min_score": "score minimal des constats",
    "max_utterance": "dernière réplique examinée (indice)",
}
_DETECTOR_INTEGER_FIELDS = frozenset({"min", "max", "max_utterance"})
_WHERE_OPS = {"min": "minimum", "max": "maximum"}
# Where a missing top-level ``detectors:`` section is written: after the first of these.
_DETECTORS_AFTER = ("pass_ratio", "title", "language", "version", "id")

ADVICE_FIELDS = ("praise", "advice", "example")
_ADVICE_ORDER = ("title", "praise", "missing", "advice", "example")
_ADVICE_LABELS = {
    "praise": "point fort (critère acquis)",
    "advice": "conseil",
    "example": "exemple de meilleure formulation",
}


# --------------------------------------------------------------------------- public types
@dataclass(frozen=True)
class Parameter:
    """One value a trainer may change through a form.

    ``key`` is stable (pass it back to :func:`apply_edits`); ``kind`` is ``"number"``,
    ``"phrases"`` (a list of texts) or ``"text"`` (advice); ``line`` is 1-based, None when
    the value is not written in the text yet (a lexicon default, a missing advice field);
    ``source`` is ``"grille"`` (written in the rubric), ``"lexique"`` (lexicon default, not
    overridden) or ``"conseils"`` (advice file); ``integer`` says that only whole numbers
    are accepted (counts of findings, utterance indices)."""

    key: str
    kind: str
    criterion: str | None
    label: str
    value: Value
    line: int | None
    source: str
    integer: bool = False


@dataclass(frozen=True)
class _Slot:
    """Where a parameter lives: ``path`` from the document root (mapping keys, sequence
    indices). ``after`` says, per depth of ``path``, after which sibling keys a missing
    entry is written (the first one present wins; default: after the last entry)."""

    param: Parameter
    path: tuple[Any, ...]
    after: Mapping[int, tuple[Any, ...]] = field(default_factory=dict)


class _Literal(str):
    """YAML text of a scalar, written verbatim (valid in block and flow context)."""


_Write = _Literal | tuple[str, ...] | dict[Any, Any]


# --------------------------------------------------------------------------- YAML nodes
def _compose(text: str, what: str = "la grille") -> MappingNode:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" ligne {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise RubricError(
            f"YAML invalide{where} ({problem}) : corrigez le texte de {what} avant de le "
            "modifier par le formulaire."
        ) from exc
    if not isinstance(root, MappingNode):
        raise RubricError(
            f"Le texte de {what} doit être un dictionnaire YAML (id, version, criteria…)."
        )
    return root


def _construct(node: Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _key_of(node: Node) -> Any:
    if isinstance(node, ScalarNode) and node.tag == _STR_TAG:
        return node.value
    try:
        return _construct(node)
    except yaml.YAMLError:
        return None


def _same_key(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _get(mapping: Node | None, key: Any) -> tuple[Node, Node] | None:
    if not isinstance(mapping, MappingNode):
        return None
    for key_node, value_node in mapping.value:
        if _same_key(_key_of(key_node), key):
            return key_node, value_node
    return None


def _str_value(mapping: Node | None, key: str) -> str | None:
    entry = _get(mapping, key)
    if entry is None or not isinstance(entry[1], ScalarNode) or entry[1].tag != _STR_TAG:
        return None
    return str(entry[1].value)


def _number(node: Node | None) -> float | None:
    """The finite number a scalar node holds (bools and non-numbers: None)."""
    if not isinstance(node, ScalarNode) or node.tag not in (_INT_TAG, _FLOAT_TAG):
        return None
    try:
        value = float(_construct(node))
    except (yaml.YAMLError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _is_empty(node: Node) -> bool:
    """An empty value (``key:`` with nothing after): zero-width, just after the colon."""
    return isinstance(node, ScalarNode) and node.start_mark.index == node.end_mark.index


def _entry_end(value: Node) -> int:
    return int(value.start_mark.index) if _is_empty(value) else _last_end(value)


def _last_end(node: Node) -> int:
    """Index just after the last character written for ``node`` (a block collection's own
    end mark lies at the next token, past comments: use its last child's end instead)."""
    if isinstance(node, MappingNode) and not node.flow_style and node.value:
        return _entry_end(node.value[-1][1])
    if isinstance(node, SequenceNode) and not node.flow_style and node.value:
        return _entry_end(node.value[-1])
    return int(node.end_mark.index)


def _resolve(root: Node, path: Sequence[Any]) -> Node | None:
    node: Node | None = root
    for step in path:
        if isinstance(node, SequenceNode) and isinstance(step, int):
            node = node.value[step] if 0 <= step < len(node.value) else None
        else:
            entry = _get(node, step)
            node = entry[1] if entry is not None else None
        if node is None:
            return None
    return node


# --------------------------------------------------------------------------- YAML text
def _flow(obj: Any) -> str:
    """One-line flow YAML of ``obj`` (PyYAML chooses the quoting for the flow context)."""
    text = yaml.safe_dump(
        obj, default_flow_style=True, allow_unicode=True, sort_keys=False, width=_HUGE
    ).rstrip("\n")
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    if "\n" in text:  # pragma: no cover - a width this large never folds
        raise AssertionError(f"multi-line flow YAML for {obj!r}")
    return text


def _key_text(key: Any) -> str:
    text = _flow({key: 0})
    return text[1 : -len(": 0}")]


def _item_text(item: str) -> str:
    return _flow([item])[1:-1]


def _double_quoted(text: str) -> str:
    """A one-line double-quoted YAML string (line breaks and controls escaped)."""
    out = yaml.safe_dump(text, default_style='"', allow_unicode=True, width=_HUGE).rstrip("\n")
    if "\n" in out:  # pragma: no cover - a width this large never folds
        raise AssertionError("multi-line double-quoted YAML")
    return out


def _flow_list(items: Sequence[str], column: int, indent: int) -> str:
    """``[a, b, …]`` starting at ``column``, wrapped between items past ``_WIDTH``;
    continuation lines start at ``indent`` (more than the enclosing block's indentation)."""
    if not items:
        return "[]"
    out = "["
    col = column + 1
    for i, item in enumerate(items):
        piece = _item_text(item) + ("," if i < len(items) - 1 else "]")
        if i and col + 1 + len(piece) > _WIDTH:
            out += "\n" + " " * indent
            col = indent
        elif i:
            out += " "
            col += 1
        out += piece
        col += len(piece)
    return out


def _render_flow(obj: _Write) -> str:
    if isinstance(obj, _Literal):
        return str(obj)
    if isinstance(obj, tuple):
        return "[" + ", ".join(_item_text(x) for x in obj) + "]"
    return "{" + ", ".join(f"{_key_text(k)}: {_render_flow(v)}" for k, v in obj.items()) + "}"


def _render_block_entry(key: Any, obj: _Write, indent: int) -> list[str]:
    head = " " * indent + _key_text(key) + ":"
    if isinstance(obj, dict):
        lines = [head]
        for k, v in obj.items():
            lines.extend(_render_block_entry(k, v, indent + 2))
        return lines
    if isinstance(obj, tuple):
        return [head + " " + _flow_list(obj, len(head) + 1, len(head) + 2)]
    return [head + " " + str(obj)]


def _nest(steps: Sequence[Any], value: _Write) -> _Write:
    for step in reversed(steps):
        value = {step: value}
    return value


def _replace_node(text: str, node: Node, value: _Write) -> str:
    start = int(node.start_mark.index)
    if _is_empty(node):
        return text[:start] + " " + _render_flow(value) + text[start:]
    end = _last_end(node)
    old = text[start:end]
    trailing = old[len(old.rstrip()) :]  # a block scalar's final line break(s)
    column = int(node.start_mark.column)
    if isinstance(value, tuple) and value and isinstance(node, SequenceNode):
        if node.flow_style:
            new = _flow_list(value, column, column + 1)
        else:  # keep a block list a block list, at the same indentation
            new = ("\n" + " " * column).join("- " + _item_text(x) for x in value)
    elif isinstance(value, tuple):
        new = _flow_list(value, column, column + 1)
    else:
        new = _render_flow(value)
    return text[:start] + new + trailing + text[end:]


def _insert(
    text: str, mapping: MappingNode, steps: Sequence[Any], value: _Write, after: Sequence[Any]
) -> str:
    """Add ``steps[0]: <steps[1:] nested over value>`` to ``mapping``."""
    key, nested = steps[0], _nest(steps[1:], value)
    if mapping.flow_style:
        entry = f"{_key_text(key)}: {_render_flow(nested)}"
        if not mapping.value:
            pos = int(mapping.start_mark.index) + 1  # just after "{"
            return text[:pos] + entry + text[pos:]
        pos = _entry_end(mapping.value[-1][1])
        return text[:pos] + ", " + entry + text[pos:]
    index = len(mapping.value) - 1
    for candidate in after:
        found = [i for i, (k, _) in enumerate(mapping.value) if _same_key(_key_of(k), candidate)]
        if found:
            index = found[0]
            break
    end = _entry_end(mapping.value[index][1])
    indent = int(mapping.value[0][0].start_mark.column)
    lines = "\n".join(_render_block_entry(key, nested, indent))
    if end > 0 and text[end - 1] == "\n":
        pos = end - 1
    else:
        pos = text.find("\n", end)
        if pos < 0:
            return text + "\n" + lines + "\n"
    return text[:pos] + "\n" + lines + text[pos:]


def _put(
    text: str,
    root: MappingNode,
    path: Sequence[Any],
    value: _Write,
    after: Mapping[int, tuple[Any, ...]],
) -> str:
    """Write ``value`` at ``path``, creating the missing mappings on the way."""
    node: Node = root
    for depth, step in enumerate(path):
        if isinstance(node, SequenceNode) and isinstance(step, int):
            if not 0 <= step < len(node.value):  # pragma: no cover - paths come from the text
                raise AssertionError(f"index {step} out of range")
            node = node.value[step]
            continue
        if isinstance(node, MappingNode):
            entry = _get(node, step)
            if entry is None:
                return _insert(text, node, path[depth:], value, after.get(depth, ()))
            node = entry[1]
            continue
        # an empty or invalid value where a mapping is needed: replace it
        return _replace_node(text, node, _nest(path[depth:], value))
    return _replace_node(text, node, value)


def _set_in(data: Any, path: Sequence[Any], value: Any) -> Any:
    """``data`` with ``value`` set at ``path`` (missing or non-mapping levels become dicts)."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    if isinstance(data, list) and isinstance(step, int):
        data[step] = _set_in(data[step], rest, value)
        return data
    if not isinstance(data, dict):
        data = {}
    data[step] = _set_in(data.get(step), rest, value)
    return data


def _check_written(text: str, expected: Any, what: str) -> None:
    try:
        got = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        got = exc
    if got != expected:
        log.error("in-place edit of %s changed more than the edited values", what)
        raise RubricError(
            f"La modification de {what} n'a pas pu être écrite sans altérer le reste du "
            "fichier : faites-la directement dans le texte YAML."
        )


def _unknown_key(key: str, keys: Sequence[str], what: str) -> str:
    close = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
    hint = f" Vouliez-vous dire : {', '.join(close)} ?" if close else ""
    examples = ", ".join(keys[:4])
    return (
        f"paramètre inconnu « {key} » dans {what}.{hint} Utilisez une clé de la liste des "
        f"paramètres modifiables ({len(keys)} en tout, par exemple : {examples}…)."
    )


def _refuse(problems: Sequence[str]) -> RubricError:
    return RubricError(
        "Modification refusée : " + " ; ".join(p.rstrip(".") for p in problems) + "."
    )


# --------------------------------------------------------------------------- rubric numbers
def _number_slot(
    node: Node,
    path: tuple[Any, ...],
    key: str,
    criterion: str | None,
    label: str,
    integer: bool = False,
) -> _Slot | None:
    value = _number(node)
    if value is None:
        return None
    param = Parameter(key, "number", criterion, label, value, _line(node), "grille", integer)
    return _Slot(param, path)


def _condition_slots(
    node: Node,
    path: tuple[Any, ...],
    key: str,
    cid: str,
    section: str,
    inherited: str | None,
) -> Iterator[_Slot]:
    if not isinstance(node, MappingNode):
        return
    name = _str_value(node, "name")
    for kind in ("all", "any"):
        entry = _get(node, kind)
        if entry is not None and isinstance(entry[1], SequenceNode):
            for i, child in enumerate(entry[1].value):
                yield from _condition_slots(
                    child, (*path, kind, i), f"{key}.{kind}[{i}]", cid, section, name or inherited
                )
    entry = _get(node, "not")
    if entry is not None:
        yield from _condition_slots(
            entry[1], (*path, "not"), f"{key}.not", cid, section, name or inherited
        )
    prefix = f"{cid} — {_SECTION_PREFIX.get(section, '')}"
    feature = _str_value(node, "feature")
    if feature is not None:
        what = name or (f"{inherited} ({feature})" if inherited else f"mesure {feature}")
        unit = _str_value(node, "unit")
        if unit:
            what += f" ({unit})"
        fields: list[tuple[str, Node, tuple[Any, ...]]] = []
        between = _get(node, "between")
        if between is not None:
            if isinstance(between[1], SequenceNode) and len(between[1].value) == 2:
                for i, side in enumerate(("min", "max")):
                    fields.append((side, between[1].value[i], (*path, "between", i)))
        else:
            for side in ("min", "max"):
                entry = _get(node, side)
                if entry is not None:
                    fields.append((side, entry[1], (*path, side)))
        entry = _get(node, "tolerance")
        if entry is not None:
            fields.append(("tolerance", entry[1], (*path, "tolerance")))
        for side, value_node, value_path in fields:
            slot = _number_slot(
                value_node,
                value_path,
                f"{key}.{side}",
                cid,
                f"{prefix}{what} : {_FEATURE_FIELDS[side]}",
            )
            if slot is not None:
                yield slot
    detector = _str_value(node, "detector")
    if detector is not None:
        what = name or (f"{inherited} ({detector})" if inherited else f"constat {detector}")
        for fname, flabel in _DETECTOR_FIELDS.items():
            entry = _get(node, fname)
            if entry is None:
                continue
            slot = _number_slot(
                entry[1],
                (*path, fname),
                f"{key}.{fname}",
                cid,
                f"{prefix}{what} : {flabel}",
                integer=fname in _DETECTOR_INTEGER_FIELDS,
            )
            if slot is not None:
                yield slot
        where = _get(node, "where")
        if where is not None and isinstance(where[1], MappingNode):
            for data_key_node, test in where[1].value:
                data_key = _key_of(data_key_node)
                if not isinstance(data_key, str) or not isinstance(test, MappingNode):
                    continue
                short = data_key.removeprefix("data.")
                for op, op_label in _WHERE_OPS.items():
                    entry = _get(test, op)
                    if entry is None:
                        continue
                    slot = _number_slot(
                        entry[1],
                        (*path, "where", data_key, op),
                        f"{key}.where.{data_key}.{op}",
                        cid,
                        f"{prefix}{what} : « {short} » {op_label}",
                    )
                    if slot is not None:
                        yield slot


def _criterion_nodes(root: MappingNode) -> Iterator[tuple[int, str, MappingNode]]:
    entry = _get(root, "criteria")
    if entry is None or not isinstance(entry[1], SequenceNode):
        return
    for i, node in enumerate(entry[1].value):
        cid = _str_value(node, "id") if isinstance(node, MappingNode) else None
        if cid is not None and isinstance(node, MappingNode):
            yield i, cid, node


def _number_slots(root: MappingNode) -> Iterator[_Slot]:
    entry = _get(root, "pass_ratio")
    if entry is not None:
        slot = _number_slot(
            entry[1],
            ("pass_ratio",),
            "pass_ratio",
            None,
            "Part des critères à acquérir pour réussir (pass_ratio)",
        )
        if slot is not None:
            yield slot
    for i, cid, node in _criterion_nodes(root):
        for fname, flabel in (
            ("threshold", "seuil de décision (vérité nécessaire pour « acquis »)"),
            ("uncertain_margin", "marge d'incertitude (« à vérifier » près du seuil)"),
        ):
            fentry = _get(node, fname)
            if fentry is not None:
                slot = _number_slot(
                    fentry[1],
                    ("criteria", i, fname),
                    f"criteria.{cid}.{fname}",
                    cid,
                    f"{cid} — {flabel}",
                )
                if slot is not None:
                    yield slot
        for section in _CONDITION_SECTIONS:
            sentry = _get(node, section)
            if sentry is not None:
                yield from _condition_slots(
                    sentry[1],
                    ("criteria", i, section),
                    f"criteria.{cid}.{section}",
                    cid,
                    section,
                    None,
                )


# --------------------------------------------------------------------------- phrase lists
def _detectors_in(node: Node) -> Iterator[str]:
    if isinstance(node, MappingNode):
        for key_node, value in node.value:
            if _key_of(key_node) == "detector" and isinstance(value, ScalarNode):
                if value.tag == _STR_TAG:
                    yield str(value.value)
            else:
                yield from _detectors_in(value)
    elif isinstance(node, SequenceNode):
        for child in node.value:
            yield from _detectors_in(child)


def _used_detectors(root: MappingNode) -> tuple[list[str], Mapping[str, Any]]:
    """Detectors the rubric runs (as ``Rubric.detector_names()``) and its overrides."""
    names: set[str] = set()
    overrides: Mapping[str, Any] = {}
    entry = _get(root, "detectors")
    if entry is not None and isinstance(entry[1], MappingNode):
        data = _construct(entry[1])
        if isinstance(data, Mapping):
            overrides = data
            names.update(str(k) for k in data)
    for _, _, node in _criterion_nodes(root):
        for section in _CONDITION_SECTIONS:
            sentry = _get(node, section)
            if sentry is not None:
                names.update(_detectors_in(sentry[1]))
    return sorted(names), overrides


def _string_lists(
    params: Mapping[Any, Any], prefix: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], tuple[str, ...]]]:
    for key, value in params.items():
        if isinstance(value, Mapping):
            yield from _string_lists(value, (*prefix, key))
        elif isinstance(value, list) and all(isinstance(x, str) for x in value):
            yield (*prefix, key), tuple(value)


def _dig(data: Any, path: Iterable[Any]) -> Any:
    for step in path:
        if not isinstance(data, Mapping) or step not in data:
            return None
        data = data[step]
    return data


def _phrase_slots(root: MappingNode) -> Iterator[_Slot]:
    from .detectors import registry
    from .detectors.base import load_lexicon, merge_params

    names, overrides = _used_detectors(root)
    known = registry()
    for name in names:
        lexicon = getattr(known.get(name), "lexicon", None)
        if not lexicon:
            continue
        try:
            defaults = load_lexicon(lexicon)
        except RubricError as exc:
            log.warning(
                "lexicon %s of %s unreadable, its phrases are not editable: %s", lexicon, name, exc
            )
            continue
        own = overrides.get(name)
        own = own if isinstance(own, Mapping) else {}
        for path, value in _string_lists(merge_params(defaults, own)):
            dotted = ".".join(str(p) for p in path)
            full = ("detectors", name, *path)
            node = _resolve(root, full) if isinstance(_dig(own, path), list) else None
            param = Parameter(
                key=f"detectors.{name}.{dotted}",
                kind="phrases",
                criterion=None,
                label=f"{name} — liste « {dotted} » (lexique « {lexicon} »)",
                value=value,
                line=_line(node) if node is not None else None,
                source="grille" if node is not None else "lexique",
            )
            yield _Slot(param, full, {0: _DETECTORS_AFTER})


def _rubric_slots(root: MappingNode) -> dict[str, _Slot]:
    slots: dict[str, _Slot] = {}
    for slot in (*_number_slots(root), *_phrase_slots(root)):
        slots.setdefault(slot.param.key, slot)
    return slots


# --------------------------------------------------------------------------- new values
def _format_number(value: float, old: str, integer: bool) -> _Literal:
    if integer:
        return _Literal(str(int(value)))
    if value.is_integer() and abs(value) < 1e15:
        text = str(int(value))
        return _Literal(text + ".0" if "." in old else text)
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    if e and "." not in mantissa:  # YAML 1.1 floats need a dot: 1e-07 -> 1.0e-07
        text = f"{mantissa}.0e{exponent}"
    return _Literal(text)


def _new_number(slot: _Slot, value: Any) -> float | None:
    """The new number (None: unchanged); raises ValueError with a French message."""
    label = slot.param.label
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"« {label} » attend un nombre (reçu {value!r})")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"« {label} » attend un nombre fini (reçu {value!r})")
    if slot.param.integer and not number.is_integer():
        raise ValueError(f"« {label} » attend un nombre entier (reçu {value!r})")
    return None if number == slot.param.value else number


def _new_phrases(slot: _Slot, value: Any) -> tuple[str, ...] | None:
    """The new list, blank items dropped (None: unchanged). Items are kept verbatim: some
    lexicon entries are prefixes whose spaces matter (``"mon "``)."""
    label = slot.param.label
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ValueError(
            f"« {label} » attend une liste de formulations (une par élément), reçu {value!r}"
        )
    items: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"« {label} » : chaque formulation doit être un texte (reçu {item!r})")
        if item.strip():
            items.append(item)
    new = tuple(items)
    if new == slot.param.value:
        return None
    if not new:
        raise ValueError(
            f"« {label} » ne peut pas être vide : gardez au moins une formulation (ou laissez "
            "la liste du lexique)"
        )
    return new


# --------------------------------------------------------------------------- rubric API
def editable_parameters(text: str) -> list[Parameter]:
    """Every value of the rubric ``text`` a trainer may change through a form: numbers in
    document order (``pass_ratio``, then each criterion's), then the phrase lists of the
    detectors the rubric runs (sorted by detector, in lexicon order). Raises
    :class:`RubricError` when the text is not a YAML mapping."""
    return [slot.param for slot in _rubric_slots(_compose(text)).values()]


def apply_edits(text: str, edits: Mapping[str, float | Sequence[str]]) -> str:
    """``text`` with the values of ``edits`` (``{key: new value}``, keys from
    :func:`editable_parameters`) written in place; every other character is kept.

    A value equal to the current one changes nothing (a form may send every field). A phrase
    list is written whole as an override under ``detectors:`` (replacing an existing one,
    else added to the detector's entry, created with the section if needed). Raises
    :class:`RubricError` (French, every problem) for an unknown key, a value that is not a
    finite number (or not whole where a count is expected), or an empty phrase list; the
    result is not validated: call :func:`validate`."""
    if not edits:
        return text
    root = _compose(text)
    slots = _rubric_slots(root)
    problems: list[str] = []
    planned: list[tuple[_Slot, float | tuple[str, ...]]] = []
    for key, value in edits.items():
        slot = slots.get(key)
        if slot is None:
            problems.append(_unknown_key(str(key), list(slots), "la grille"))
            continue
        try:
            new = (
                _new_number(slot, value)
                if slot.param.kind == "number"
                else _new_phrases(slot, value)
            )
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if new is not None:
            planned.append((slot, new))
    if problems:
        raise _refuse(problems)
    if not planned:
        return text
    expected = yaml.safe_load(text)
    for slot, new in planned:
        root = _compose(text)
        if isinstance(new, tuple):
            text = _put(text, root, slot.path, new, slot.after)
            expected = _set_in(expected, slot.path, list(new))
        else:
            node = _resolve(root, slot.path)
            if node is None:  # pragma: no cover - number slots come from the text
                raise AssertionError(slot.path)
            start, end = int(node.start_mark.index), int(node.end_mark.index)
            literal = _format_number(new, text[start:end], slot.param.integer)
            text = _replace_node(text, node, literal)
            expected = _set_in(expected, slot.path, yaml.safe_load(literal))
        log.info("rubric edit: %s", slot.param.key)
    _check_written(text, expected, "la grille")
    return text


def bump_version(text: str, version: int) -> str:
    """``text`` with its top-level ``version:`` set to ``version`` (written in place; added
    after ``id:`` when missing). Works for a rubric and for the advice file."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RubricError(
            f"Version invalide ({version!r}) : indiquez un nombre entier ≥ 1, supérieur à la "
            "version actuelle."
        )
    root = _compose(text, "ce fichier")
    entry = _get(root, "version")
    if entry is not None and _same_key(_key_of(entry[1]), version):
        return text
    new = _put(text, root, ("version",), _Literal(str(version)), {0: ("id",)})
    _check_written(new, _set_in(yaml.safe_load(text), ("version",), version), "la version")
    return new


def validate(text: str, source: str = "<grille modifiée>") -> list[str]:
    """Every problem of rubric ``text`` (French, one line each; empty list: valid), with
    the registered detectors and the published feature names, as ``call-eval rubric
    check``."""
    from .rubric import _known_detectors, _known_features, _parse

    _, problems = _parse(text, source, _known_detectors(), _known_features())
    return problems


# --------------------------------------------------------------------------- advice API
def _advice_slots(root: MappingNode) -> dict[str, _Slot]:
    slots: dict[str, _Slot] = {}
    entry = _get(root, "criteria")
    if entry is None or not isinstance(entry[1], MappingNode):
        return slots
    for key_node, node in entry[1].value:
        cid = _key_of(key_node)
        if not isinstance(cid, str) or not isinstance(node, MappingNode):
            continue
        title = _str_value(node, "title") or cid
        for fname in ADVICE_FIELDS:
            fentry = _get(node, fname)
            value = ""
            line = None
            if fentry is not None:
                line = _line(fentry[1])
                raw = _construct(fentry[1])
                value = raw if isinstance(raw, str) else "" if raw is None else str(raw)
            before = _ADVICE_ORDER[: _ADVICE_ORDER.index(fname)]
            param = Parameter(
                key=f"criteria.{cid}.{fname}",
                kind="text",
                criterion=cid,
                label=f"{cid} — {title} : {_ADVICE_LABELS[fname]}",
                value=value,
                line=line,
                source="conseils",
            )
            slots[param.key] = _Slot(param, ("criteria", cid, fname), {2: tuple(reversed(before))})
    return slots


def advice_fields(text: str) -> list[Parameter]:
    """The ``praise``, ``advice`` and ``example`` texts of each criterion of the advice file
    ``text`` (kind ``"text"``; ``line`` None and value ``""`` when the field is absent)."""
    return [slot.param for slot in _advice_slots(_compose(text, "conseils")).values()]


def apply_advice_edits(text: str, edits: Mapping[str, str]) -> str:
    """``text`` with the advice texts of ``edits`` (keys from :func:`advice_fields`) written
    in place as one-line double-quoted YAML strings (surrounding spaces removed); a missing
    field is added to its criterion. Comments and layout are kept; validate the result with
    :func:`validate_advice`."""
    if not edits:
        return text
    root = _compose(text, "conseils")
    slots = _advice_slots(root)
    problems: list[str] = []
    planned: list[tuple[_Slot, str]] = []
    for key, value in edits.items():
        slot = slots.get(key)
        if slot is None:
            problems.append(_unknown_key(str(key), list(slots), "les conseils"))
            continue
        if not isinstance(value, str):
            problems.append(f"« {slot.param.label} » attend un texte (reçu {value!r})")
            continue
        new = value.strip()
        if new != slot.param.value:
            planned.append((slot, new))
    if problems:
        raise _refuse(problems)
    if not planned:
        return text
    expected = yaml.safe_load(text)
    for slot, new in planned:
        text = _put(
            text, _compose(text, "conseils"), slot.path, _Literal(_double_quoted(new)), slot.after
        )
        expected = _set_in(expected, slot.path, new)
        log.info("advice edit: %s", slot.param.key)
    _check_written(text, expected, "les conseils")
    return text


def validate_advice(text: str, source: str = "<conseils modifiés>") -> list[str]:
    """Every problem of advice ``text`` (French, one line each; empty list: valid)."""
    from .feedback import check_advice_text

    return check_advice_text(text, source)


__all__: Sequence[str] = [
    "ADVICE_FIELDS",
    "Parameter",
    "advice_fields",
    "apply_advice_edits",
    "apply_edits",
    "bump_version",
    "editable_parameters",
    "validate",
    "validate_advice",
]
