"""Engine creation: SQLite pragmas and write-lock-up-front transactions."""

from __future__ import annotations

import os
import weakref
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool, StaticPool

#: How long a SQLite writer waits for the lock before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 60_000

#: Execution option that marks a connection as a writer (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "nbtrack_write"


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with nbtrack's connection settings.

    SQLite gets WAL (readers never block writers), a busy timeout, foreign keys,
    and writes that take the lock at ``BEGIN IMMEDIATE`` so concurrent writers
    queue up instead of failing half-way with "database is locked".

    >>> make_engine("sqlite://").dialect.name
    'sqlite'
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
        _forget_connections_after_fork(engine)
        return engine
    if parsed.database and parsed.database != ":memory:":
        folder = os.path.dirname(os.path.abspath(parsed.database))
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"folder of the SQLite store does not exist: {folder}")
    memory = not parsed.database or parsed.database == ":memory:"
    engine = create_engine(
        url,
        # One shared connection for an in-memory store (each connection would get its own).
        poolclass=StaticPool if memory else QueuePool,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    _install_sqlite_listeners(engine, wal=not memory)
    _forget_connections_after_fork(engine)
    return engine


def _forget_connections_after_fork(engine: Engine) -> None:
    # A pooled connection must never be used by two processes: a forked child
    # drops the parent's (without closing them) and opens its own.
    reference = weakref.ref(engine)

    def after_fork() -> None:
        alive = reference()
        if alive is not None:
            alive.dispose(close=False)

    os.register_at_fork(after_in_child=after_fork)


def _install_sqlite_listeners(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN, not the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
