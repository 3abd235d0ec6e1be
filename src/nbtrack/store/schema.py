"""The relational schema, as SQLAlchemy Core tables.

Layout (one row per fact, typed so queries stay in SQL):

- ``experiments``: id, unique name, creation time.
- ``runs``: one row per run; status, times, parent, the cell source and a JSON
  ``meta`` blob for the environment. ``host``/``pid``/``pid_start`` identify the
  process that owns a RUNNING run, ``heartbeat`` says when it was last seen
  alive, so a dead owner can be detected and the run marked CRASHED.
- ``params``: typed values. ``value_text`` always holds the canonical text,
  ``value_num`` the number for numeric params, ``value_type`` how to decode.
- ``metrics``: the latest value per (run, key) for fast queries.
- ``metric_history``: every logged point (run, key, step, value, timestamp).
- ``tags``: free-form string tags.
- ``environments``: package versions, stored once per distinct set (runs
  refer to one by its sha256 in ``meta["environment"]``).

Times are UTC seconds since the epoch (float). A metric value of NULL means
NaN: SQLite cannot store NaN, so it is encoded the same way everywhere.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

#: Name of alembic's version table; our own, so we never collide with another tool.
VERSION_TABLE = "nbtrack_alembic_version"

metadata = MetaData()

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(500), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(500), nullable=False),
    Column("status", String(16), nullable=False),
    Column("parent_id", String(32), ForeignKey("runs.id", ondelete="SET NULL")),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float),
    Column("source", Text),
    Column("meta", Text, nullable=False, server_default="{}"),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("pid_start", Float),
    Column("heartbeat", Float),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    Index("ix_runs_status", "status"),
    Index("ix_runs_parent", "parent_id"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value_type", String(8), nullable=False),
    Column("value_num", Float),
    Column("value_text", Text, nullable=False),
)

metrics = Table(
    "metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Float),
    Column("step", Integer, nullable=False),
    Column("timestamp", Float, nullable=False),
    Index("ix_metrics_key_value", "key", "value"),
)

metric_history = Table(
    "metric_history",
    metadata,
    # No foreign key: checking one per inserted point halves logging speed; the
    # store only writes points of runs it created, and deletes them with their run.
    Column("run_id", String(32), nullable=False),
    Column("key", String(250), nullable=False),
    Column("step", Integer, nullable=False),
    Column("value", Float),
    Column("timestamp", Float, nullable=False),
    Index("ix_metric_history_run_key_step", "run_id", "key", "step"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

environments = Table(
    "environments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("packages", Text, nullable=False),
)
