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
    BigInteger,
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

# -- revision 0002: artifacts and the model registry -------------------------------------
#
# - ``artifacts``: one row per stored file of a run's artifact. A single-file
#   artifact has one row with ``path = ""``; a folder (or a model) one row per
#   file, ``path`` relative to the artifact. ``digest`` is the sha256 of the
#   bytes, which is also the blob's key in the artifact root: the database never
#   says *where* blobs live, only which ones a run refers to.
# - ``registered_models``: a named model; ``model_versions``: version N of it,
#   with lineage to the run and artifact it came from and the run's metrics at
#   registration (a snapshot: the run may keep logging).
# - ``model_tags``: tags of a model (``version = 0``) or of one version.
# - ``model_aliases``: ``champion`` -> version, with who moved it last and when;
#   ``model_alias_events`` keeps every move.

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(500), primary_key=True),
    Column("path", String(1000), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_artifacts_digest", "digest"),
)

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(250), primary_key=True),
    Column("description", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column(
        "name",
        String(250),
        ForeignKey("registered_models.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="SET NULL")),
    Column("experiment", String(500)),
    Column("artifact", String(500), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("metrics", Text, nullable=False, server_default="{}"),
    Column("description", Text),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(255)),
    Index("ix_model_versions_run", "run_id"),
)

model_tags = Table(
    "model_tags",
    metadata,
    Column("name", String(250), primary_key=True),
    Column("version", Integer, primary_key=True),  # 0: a tag of the model itself
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", String(250), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("set_by", String(255)),
    Column("set_at", Float, nullable=False),
)

model_alias_events = Table(
    "model_alias_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(250), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("version", Integer),  # None: the alias was removed
    Column("previous", Integer),
    Column("set_by", String(255)),
    Column("set_at", Float, nullable=False),
)
