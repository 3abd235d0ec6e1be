"""Schema versioning: create, upgrade in place, or refuse a newer store.

The fast path (store already at :data:`HEAD`) is one ``SELECT`` and does not
import alembic. Creation and upgrades run inside one write transaction
(SQLite ``BEGIN IMMEDIATE``, PostgreSQL an advisory lock) that re-reads the
version first, so processes racing to open a brand-new store create it once.
"""

from __future__ import annotations

from importlib import resources

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from nbtrack.errors import StoreVersionError
from nbtrack.store.engine import WRITE_OPTION
from nbtrack.store.schema import VERSION_TABLE

#: Every schema revision this code knows, oldest first; the last one is current.
REVISIONS: tuple[str, ...] = ("0001", "0002")
HEAD = REVISIONS[-1]

# Arbitrary constant key for pg_advisory_xact_lock while migrating.
_PG_LOCK_KEY = 0x6E62747261636B


def read_version(connection: Connection) -> str | None:
    """The store's schema revision, or None for a store nbtrack has not created yet."""
    try:
        with connection.begin():
            row = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).first()
    except DBAPIError:
        return None
    return None if row is None else str(row[0])


def ensure_schema(engine: Engine, url_for_messages: str) -> None:
    """Bring the store at ``engine`` to :data:`HEAD`, or raise ``StoreVersionError``."""
    with engine.connect() as connection:
        version = read_version(connection)
    if version == HEAD:
        return
    _check_known(version, url_for_messages)
    writer = engine.connect().execution_options(**{WRITE_OPTION: True})
    with writer as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        version = _read_version_in_transaction(connection)
        _check_known(version, url_for_messages)
        if version != HEAD:
            _alembic_upgrade(connection)


def _read_version_in_transaction(connection: Connection) -> str | None:
    has_table = connection.dialect.has_table(connection, VERSION_TABLE)
    if not has_table:
        return None
    row = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).first()
    return None if row is None else str(row[0])


def _check_known(version: str | None, url: str) -> None:
    if version is not None and version not in REVISIONS:
        raise StoreVersionError(
            f"the store {url} has schema version {version}, newer than this nbtrack "
            f"understands ({HEAD}); upgrade nbtrack (pip install -U nbtrack) to open it"
        )


def _alembic_upgrade(connection: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("nbtrack.store") / "migrations"))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
