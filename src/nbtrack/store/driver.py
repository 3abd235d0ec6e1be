"""The hot statements of a run, executed on the driver's cursor.

Every run executes the same handful of statements: insert the run, upsert
its params, tags and latest metrics, append metric points, end the run.
SQLAlchemy's per-statement work (cache lookup, parameter processing, result
objects) cost ~80 µs each, several times SQLite's own work for one row, so
these statements are written once here, in SQL that SQLite (≥ 3.24) and
PostgreSQL share (``ON CONFLICT … DO UPDATE``), and run with ``executemany``
on the DBAPI cursor inside the caller's SQLAlchemy transaction. The bulk
reads behind a DataFrame (:func:`fetch_all`) take the same shortcut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select

RUN_INSERT = (
    "INSERT INTO runs (id, experiment_id, name, status, parent_id, start_time, source, meta,"
    " host, pid, pid_start, heartbeat) VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?)"
)
RUN_END = (
    "UPDATE runs SET status = ?, end_time = ?, meta = ?, heartbeat = ?"
    " WHERE id = ? AND status = 'RUNNING'"
)
PARAMS_UPSERT = (
    'INSERT INTO params (run_id, "key", value_type, value_num, value_text) VALUES (?, ?, ?, ?, ?)'
    ' ON CONFLICT (run_id, "key") DO UPDATE SET value_type = excluded.value_type,'
    " value_num = excluded.value_num, value_text = excluded.value_text"
)
TAGS_UPSERT = (
    'INSERT INTO tags (run_id, "key", value) VALUES (?, ?, ?)'
    ' ON CONFLICT (run_id, "key") DO UPDATE SET value = excluded.value'
)
HISTORY_INSERT = (
    'INSERT INTO metric_history (run_id, "key", step, value, "timestamp") VALUES (?, ?, ?, ?, ?)'
)
LATEST_UPSERT = (
    'INSERT INTO metrics (run_id, "key", step, value, "timestamp") VALUES (?, ?, ?, ?, ?)'
    ' ON CONFLICT (run_id, "key") DO UPDATE SET value = excluded.value, step = excluded.step,'
    ' "timestamp" = excluded."timestamp" WHERE excluded.step >= metrics.step'
)

_for_paramstyle: dict[tuple[str, str], str] = {}


def _sql(connection: Connection, sql: str) -> str:
    """``sql`` with the driver's placeholder (``?`` for sqlite3, ``%s`` for psycopg)."""
    style = connection.dialect.paramstyle
    key = (style, sql)
    if key not in _for_paramstyle:
        _for_paramstyle[key] = sql if style == "qmark" else sql.replace("?", "%s")
    return _for_paramstyle[key]


def execute(connection: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
    """Run ``sql`` once per row in the connection's transaction; returns the rowcount."""
    if not rows:
        return 0
    cursor = connection.connection.cursor()
    try:
        if len(rows) == 1:
            cursor.execute(_sql(connection, sql), rows[0])
        else:
            cursor.executemany(_sql(connection, sql), rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def fetch_all(connection: Connection, query: Select[Any]) -> list[tuple[Any, ...]]:
    """All rows of ``query`` as plain tuples, straight from the driver's cursor.

    For the bulk reads behind a DataFrame: building a SQLAlchemy ``Row`` per
    row costs a third of the fetch at 200,000 rows, and the columns read this
    way (text, float, int) need no type processing on SQLite or psycopg.
    """
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    values = compiled.construct_params()
    parameters: Any = (
        tuple(values[name] for name in compiled.positiontup or ())
        if compiled.positional
        else values
    )
    cursor = connection.connection.cursor()
    try:
        cursor.execute(compiled.string, parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def last_per_key(rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
    """One row per (run_id, key), the last one: a PostgreSQL upsert may touch a row once."""
    return list({(row[0], row[1]): row for row in rows}.values())
