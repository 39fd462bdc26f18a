"""Where the database lives, how to connect, and how to bring its schema up to date.

By default a SQLite file ``call_eval.db`` in the data directory (``CALL_EVAL_DATA_DIR``,
see :mod:`call_eval.settings`); any SQLAlchemy URL (PostgreSQL...) with ``CALL_EVAL_DB_URL``.
Uploaded recordings are kept under ``<data dir>/recordings`` whatever the database is.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from call_eval import settings
from call_eval.errors import ConfigError

log = logging.getLogger(__name__)

DB_FILENAME = "call_eval.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def default_data_dir() -> Path:
    """``CALL_EVAL_DATA_DIR``, or ``data/`` beside the models and rubrics."""
    return settings.data_dir()


def default_url(data_dir: Path | None = None) -> str:
    """``CALL_EVAL_DB_URL``, or a SQLite file in the data directory."""
    url = os.environ.get("CALL_EVAL_DB_URL", "").strip()
    if url:
        return url
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    return f"sqlite:///{(directory / DB_FILENAME).resolve()}"


@dataclass(frozen=True, eq=False)
class Database:
    """A connection to the store: the engine plus the directory keeping recordings.

    Repository functions take it as their first argument and open one short session per
    call, committed before returning (nothing waits for a later save).
    """

    url: str
    data_dir: Path
    engine: Engine

    @cached_property
    def _sessions(self) -> sessionmaker[Session]:
        return sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self._sessions()

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout."""
    try:
        engine = create_engine(url, future=True)
    except Exception as exc:  # malformed URL or unknown driver
        raise ConfigError(
            f"Adresse de base de données invalide ({url!r}) : {exc}. "
            "Exemples valides : sqlite:///chemin/call_eval.db, "
            "postgresql+psycopg://utilisateur:motdepasse@hote/base."
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def open_db(
    url: str | None = None, data_dir: str | Path | None = None, *, migrate: bool = True
) -> Database:
    """Open (and by default create or upgrade) the store.

    ``data_dir`` defaults to ``CALL_EVAL_DATA_DIR``; ``url`` to ``CALL_EVAL_DB_URL`` or a
    SQLite file in ``data_dir``. The directory is created if needed.
    """
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"Impossible de créer le dossier de données {directory} : {exc.strerror}. "
            "Choisissez un dossier accessible en écriture avec CALL_EVAL_DATA_DIR."
        ) from exc
    url = url or default_url(directory)
    db = Database(url=url, data_dir=directory, engine=create_db_engine(url))
    if migrate:
        upgrade_db(db)
    return db


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_db(target: Database | str, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision`` (programmatic: no alembic.ini)."""
    from alembic import command

    url = target.url if isinstance(target, Database) else target
    engine = target.engine if isinstance(target, Database) else create_db_engine(url)
    config = _alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    if not isinstance(target, Database):
        engine.dispose()


def downgrade_db(target: Database | str, revision: str) -> None:
    from alembic import command

    url = target.url if isinstance(target, Database) else target
    engine = target.engine if isinstance(target, Database) else create_db_engine(url)
    config = _alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
    if not isinstance(target, Database):
        engine.dispose()


def current_revision(db: Database) -> str | None:
    """The migration the database is at (None for an empty database)."""
    from alembic.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head


def table_names(db: Database) -> list[str]:
    return sorted(inspect(db.engine).get_table_names())
