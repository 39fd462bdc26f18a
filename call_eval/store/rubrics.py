"""Rubric versions: the rubrics a trainer edits from the app, and which one new analyses use.

A rubric file shipped in ``rubrics/`` is imported as a version the first time versions are
listed (``origin`` = its path). Saving an edited text makes a new version: the text is
validated (the same checks as ``call-eval rubric check``), its ``version:`` is set to the
next number of that rubric, and the row is never changed afterwards. Advice texts for
trainees travel with the version. One version per rubric may be *active*: new analyses
are scored with it (:func:`active_rubric_path`); earlier analyses keep the rubric they
recorded (its id, version, hash and file), so nothing already scored changes.

The pipeline reads rubrics from files, so a stored version is written once to
``<data dir>/rubrics/<id>/v<N>-<hash>.yaml`` (and ``….advice.yaml``) when it is needed.
Reading and saving versions needs the ``calibration.use`` permission (trainers,
administrators); every save and activation is in the audit log.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from call_eval import settings
from call_eval.auth import User, require
from call_eval.errors import RubricError
from call_eval.rubric_edit import bump_version
from call_eval.store.db import Database
from call_eval.store.models import RubricVersionRow
from call_eval.store.repo import StoreError, _audit, _utc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RubricVersion:
    id: int
    rubric_id: str
    version: int
    sha256: str
    text: str
    advice_text: str | None
    note: str
    origin: str
    based_on: int | None
    active: bool
    created_at: datetime
    created_by: str

    @property
    def label(self) -> str:
        """« cp-ffp-appels-sortants v2 (en service) » — for lists and reports."""
        return f"{self.rubric_id} v{self.version}" + (" (en service)" if self.active else "")


def _version(row: RubricVersionRow) -> RubricVersion:
    return RubricVersion(
        id=row.id,
        rubric_id=row.rubric_id,
        version=row.version,
        sha256=row.sha256,
        text=row.text,
        advice_text=row.advice_text,
        note=row.note or "",
        origin=row.origin or "",
        based_on=row.based_on,
        active=bool(row.active),
        created_at=_utc(row.created_at),  # type: ignore[arg-type]
        created_by=row.created_by or "",
    )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_advice_text() -> str | None:
    """The shipped advice texts (``rubrics/advice_fr.yaml``), or None when missing."""
    from call_eval.feedback import ADVICE_FILE

    path = settings.rubrics_dir() / ADVICE_FILE
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _builtin_paths() -> list[Path]:
    return [settings.default_rubric_path()]


def _sync_builtin(s: Session) -> None:
    """Import the shipped rubric file(s) as versions, once per distinct content."""
    for path in _builtin_paths():
        if not path.is_file():
            continue
        text = _file_text(str(path), path.stat().st_mtime)
        sha = _sha(text)
        if s.scalars(select(RubricVersionRow.id).where(RubricVersionRow.sha256 == sha)).first():
            continue
        try:
            data = yaml.safe_load(text) or {}
            rubric_id = str(data["id"])
            version = int(data.get("version") or 1)
        except (yaml.YAMLError, KeyError, TypeError, ValueError):
            log.warning("rubric file %s unreadable, not imported as a version", path)
            continue
        taken = s.scalars(
            select(RubricVersionRow.id).where(
                RubricVersionRow.rubric_id == rubric_id, RubricVersionRow.version == version
            )
        ).first()
        if taken is not None:
            # The shipped file changed without a new number, or an edited version took it:
            # keep both, the file's content under the next free number.
            text = bump_version(text, _next_version(s, rubric_id))
            version = _next_version(s, rubric_id)
            sha = _sha(text)
        s.add(
            RubricVersionRow(
                rubric_id=rubric_id,
                version=version,
                sha256=sha,
                text=text,
                advice_text=default_advice_text(),
                note="Grille livrée avec l'application.",
                origin=_relative(path),
                active=False,
                created_by="système",
            )
        )
        s.flush()


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(settings.home()))
    except ValueError:
        return str(path)


def _next_version(s: Session, rubric_id: str) -> int:
    current = s.scalar(
        select(func.max(RubricVersionRow.version)).where(RubricVersionRow.rubric_id == rubric_id)
    )
    return int(current or 0) + 1


def list_rubric_versions(
    db: Database, actor: User, rubric_id: str | None = None
) -> list[RubricVersion]:
    """Every saved version (newest first), the shipped file included."""
    require(actor, "calibration.use")
    with db.session() as s:
        _sync_builtin(s)
        s.commit()
        query = select(RubricVersionRow)
        if rubric_id is not None:
            query = query.where(RubricVersionRow.rubric_id == rubric_id)
        rows = s.scalars(
            query.order_by(RubricVersionRow.rubric_id, RubricVersionRow.version.desc())
        )
        return [_version(r) for r in rows]


def _row(s: Session, version_id: int) -> RubricVersionRow:
    row = s.get(RubricVersionRow, version_id)
    if row is None:
        raise StoreError(
            f"Version de grille n° {version_id} introuvable. Choisissez une version dans la liste."
        )
    return row


def get_rubric_version(db: Database, actor: User, version_id: int) -> RubricVersion:
    require(actor, "calibration.use")
    with db.session() as s:
        return _version(_row(s, version_id))


def validate_rubric_text(text: str, advice_text: str | None = None) -> list[str]:
    """Every problem of a rubric text (and advice text), one French line each."""
    from call_eval.rubric_edit import validate, validate_advice

    if not text.strip():
        return ["La grille est vide : collez ou modifiez le texte YAML d'une grille."]
    problems = validate(text, "grille")
    if advice_text is not None and advice_text.strip():
        problems = [*problems, *validate_advice(advice_text, "conseils")]
    return list(problems)


def save_rubric_version(
    db: Database,
    actor: User,
    text: str,
    advice_text: str | None = None,
    *,
    note: str = "",
    based_on: int | None = None,
) -> RubricVersion:
    """Validate an edited rubric and save it as the next version of its rubric id.

    ``advice_text`` None keeps the advice of ``based_on`` (else the shipped advice).
    Raises :class:`~call_eval.errors.RubricError` listing the problems, or StoreError when
    nothing changed."""
    require(actor, "calibration.use")
    problems = validate_rubric_text(text, advice_text)
    if problems:
        more = f" (+{len(problems) - 1} autre(s))" if len(problems) > 1 else ""
        raise RubricError("Grille non enregistrée, corrigez d'abord : " + problems[0] + more)
    rubric_id = str((yaml.safe_load(text) or {}).get("id"))
    with db.session() as s:
        _sync_builtin(s)
        parent = _row(s, based_on) if based_on is not None else None
        if advice_text is None or not advice_text.strip():
            advice_text = parent.advice_text if parent is not None else default_advice_text()
        if parent is not None and parent.rubric_id == rubric_id:
            same = bump_version(text, parent.version) == parent.text
            if same and (advice_text or "") == (parent.advice_text or ""):
                raise StoreError(
                    f"Aucune modification par rapport à la version {parent.version} : "
                    "rien à enregistrer."
                )
        version = _next_version(s, rubric_id)
        final = bump_version(text, version)
        row = RubricVersionRow(
            rubric_id=rubric_id,
            version=version,
            sha256=_sha(final),
            text=final,
            advice_text=advice_text,
            note=" ".join(note.split())[:2000],
            origin="édition",
            based_on=based_on,
            active=False,
            created_by=actor.display_name,
        )
        s.add(row)
        s.flush()
        _audit(
            s,
            actor=actor,
            action="rubric.save",
            entity="rubric_version",
            entity_id=row.id,
            after={"rubric_id": rubric_id, "version": version, "based_on": based_on},
            note=row.note or None,
        )
        s.commit()
        return _version(row)


def activate_rubric_version(
    db: Database, actor: User, version_id: int | None, *, rubric_id: str | None = None
) -> RubricVersion | None:
    """Make a version the one new analyses use (``None``: back to the shipped file for
    ``rubric_id``). Analyses already stored keep theirs."""
    require(actor, "calibration.use")
    with db.session() as s:
        target = _row(s, version_id) if version_id is not None else None
        rid = target.rubric_id if target is not None else rubric_id
        if rid is None:
            raise StoreError("Indiquez la version à mettre en service, ou la grille à rétablir.")
        before = s.scalars(
            select(RubricVersionRow).where(
                RubricVersionRow.rubric_id == rid, RubricVersionRow.active.is_(True)
            )
        ).first()
        if before is not None:
            before.active = False
        if target is not None:
            target.active = True
        _audit(
            s,
            actor=actor,
            action="rubric.activate",
            entity="rubric_version",
            entity_id=target.id if target is not None else None,
            before={"version": before.version if before is not None else None},
            after={"rubric_id": rid, "version": target.version if target is not None else None},
        )
        s.commit()
        return _version(target) if target is not None else None


@lru_cache(maxsize=16)
def _parsed(text: str) -> Mapping[str, Any]:
    """A rubric text's YAML (cached: rubric texts are asked for on every self-tick and
    analysis start; treat the result as read-only); {} when unreadable."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, Mapping) else {}


@lru_cache(maxsize=4)
def _file_text(path: str, mtime: float) -> str:
    return Path(path).read_text(encoding="utf-8")


def _shipped_text() -> str:
    """The shipped rubric file's text (read again only when the file changes)."""
    path = settings.default_rubric_path()
    return _file_text(str(path), path.stat().st_mtime) if path.is_file() else ""


def _active_row(s: Session) -> RubricVersionRow | None:
    """The active version of the shipped rubric's id (the one analyses use by default)."""
    rubric_id = _parsed(_shipped_text()).get("id")
    query = select(RubricVersionRow).where(RubricVersionRow.active.is_(True))
    if rubric_id is not None:
        query = query.where(RubricVersionRow.rubric_id == str(rubric_id))
    return s.scalars(query.order_by(RubricVersionRow.id.desc())).first()


def version_file(db: Database, version: RubricVersion) -> Path:
    """The version's rubric as a file (written once), for the pipeline and re-scoring."""
    folder = db.data_dir / "rubrics" / _safe(version.rubric_id)
    path = folder / f"v{version.version}-{version.sha256[:12]}.yaml"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(version.text, encoding="utf-8")
        tmp.replace(path)
    if version.advice_text:
        advice = path.with_suffix(".advice.yaml")
        if not advice.is_file():
            advice.write_text(version.advice_text, encoding="utf-8")
    return path


def advice_file(db: Database, version: RubricVersion) -> Path | None:
    """The advice texts of a version as a file (None: the shipped advice applies)."""
    if not version.advice_text:
        return None
    return version_file(db, version).with_suffix(".advice.yaml")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "grille"


def active_rubric_path(db: Database) -> str | None:
    """The rubric file new analyses use: the active version's, or None (shipped file)."""
    with db.session() as s:
        row = _active_row(s)
        version = _version(row) if row is not None else None
    return str(version_file(db, version)) if version is not None else None


def active_criteria_ids(s: Session) -> list[str]:
    """Criterion ids of the rubric new analyses use (for checking a self-assessment)."""
    row = _active_row(s)
    data = _parsed(row.text if row is not None else _shipped_text())
    return [str(c.get("id")) for c in data.get("criteria") or [] if isinstance(c, Mapping)]


def version_for_analysis(db: Database, analysis: Mapping[str, Any]) -> RubricVersion | None:
    """The stored version an analysis was scored with (by rubric id and hash), if any.

    No permission needed: it only tells which advice texts go with an analysis the caller
    already holds. None also for the shipped file before it was ever listed as a version:
    its advice is the shipped advice anyway."""
    info = analysis.get("rubric") or {}
    sha = info.get("sha256")
    if not sha:
        return None
    with db.session() as s:
        row = s.scalars(
            select(RubricVersionRow).where(
                RubricVersionRow.sha256 == str(sha),
                RubricVersionRow.rubric_id == str(info.get("id")),
            )
        ).first()
        return _version(row) if row is not None else None


__all__ = [
    "RubricVersion",
    "activate_rubric_version",
    "active_rubric_path",
    "advice_file",
    "default_advice_text",
    "get_rubric_version",
    "list_rubric_versions",
    "save_rubric_version",
    "validate_rubric_text",
    "version_file",
    "version_for_analysis",
]
