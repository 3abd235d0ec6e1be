"""Initial schema: experiments, runs, params, metrics, metric_history, tags.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(500), nullable=False, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="SET NULL")),
        sa.Column("start_time", sa.Float, nullable=False),
        sa.Column("end_time", sa.Float),
        sa.Column("source", sa.Text),
        sa.Column("meta", sa.Text, nullable=False, server_default="{}"),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer),
        sa.Column("pid_start", sa.Float),
        sa.Column("heartbeat", sa.Float),
    )
    op.create_index("ix_runs_experiment_start", "runs", ["experiment_id", "start_time"])
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_index("ix_runs_parent", "runs", ["parent_id"])
    run_fk = sa.ForeignKey("runs.id", ondelete="CASCADE")
    op.create_table(
        "params",
        sa.Column("run_id", sa.String(32), run_fk, primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value_type", sa.String(8), nullable=False),
        sa.Column("value_num", sa.Float),
        sa.Column("value_text", sa.Text, nullable=False),
    )
    op.create_table(
        "metrics",
        sa.Column(
            "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Float),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
    )
    op.create_index("ix_metrics_key_value", "metrics", ["key", "value"])
    op.create_table(
        "metric_history",
        sa.Column("run_id", sa.String(32), nullable=False),  # no FK: see schema.py
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("timestamp", sa.Float, nullable=False),
    )
    op.create_index("ix_metric_history_run_key_step", "metric_history", ["run_id", "key", "step"])
    op.create_table(
        "tags",
        sa.Column(
            "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "environments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("packages", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "environments",
        "tags",
        "metric_history",
        "metrics",
        "params",
        "runs",
        "experiments",
    ):
        op.drop_table(table)
