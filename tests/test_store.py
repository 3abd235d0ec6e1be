"""The store: schema creation and versioning, SQLite settings, crash reaping."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from nbtrack.errors import StoreError, StoreVersionError
from nbtrack.store import Store
from nbtrack.store.migrate import HEAD, REVISIONS
from nbtrack.store.schema import VERSION_TABLE, metadata
from nbtrack.store.store import MetricPoint, ParamRow
from nbtrack.tracking import Tracker


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_new_store_gets_every_table_and_own_version_table(tmp_path: Path) -> None:
    Store(f"sqlite:///{tmp_path / 's.db'}").close()
    tables = _tables(tmp_path / "s.db")
    assert set(metadata.tables) | {VERSION_TABLE} <= tables
    assert "alembic_version" not in tables
    with sqlite3.connect(tmp_path / "s.db") as db:
        assert db.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall() == [(HEAD,)]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_alembic_script_head_matches_the_code(tmp_path: Path) -> None:
    from importlib import resources

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(resources.files("nbtrack.store") / "migrations"))
    script = ScriptDirectory.from_config(config)
    assert [rev.revision for rev in reversed(list(script.walk_revisions()))] == list(REVISIONS)


def test_migrated_schema_matches_the_declared_tables(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, metadata) == []
    store.close()


def test_a_newer_store_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE {VERSION_TABLE} SET version_num = '9999'")
    with pytest.raises(StoreVersionError) as caught:
        Store(f"sqlite:///{path}")
    message = str(caught.value)
    assert "\n" not in message and "9999" in message and "pip install -U nbtrack" in message


def test_opening_a_store_twice_keeps_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = Tracker(url)
    with first.start_run(params={"a": 1}) as run:
        run.log_metric("m", 2.0)
    first.close()
    second = Tracker(url)
    assert second.get_run(run.id).params == {"a": 1}
    second.close()


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Store(f"sqlite:///{tmp_path / 'no' / 'such' / 's.db'}")


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(f"sqlite:///{tmp_path / 'junk.db'}")


def test_reaping_marks_dead_local_and_stale_remote_runs_once(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    experiment = store.experiment_id("e") or 0
    now = time.time()
    for run_id, host, pid, heartbeat in [
        ("dead", "here", 111, now),
        ("alive", "here", 222, now),
        ("stale", "elsewhere", 1, now - 3600),
        ("fresh", "elsewhere", 1, now),
    ]:
        store.create_run(
            run_id=run_id,
            experiment_id=experiment,
            name=run_id,
            parent_id=None,
            start_time=heartbeat,
            source=None,
            meta={},
            host=host,
            pid=pid,
            pid_start=None,
            param_rows=[ParamRow(run_id, "p", "int", 1.0, "1")],
        )
    store.write_batch(points=[MetricPoint("dead", "m", 0, 1.0, now)])
    is_alive = lambda pid, _start: pid == 222  # noqa: E731
    assert sorted(store.reap_crashed("here", is_alive, now - 60)) == ["dead", "stale"]
    assert store.reap_crashed("here", is_alive, now - 60) == []  # one transition only
    dead = store.get_run("dead")
    assert dead.status == "CRASHED" and dead.metrics == {"m": 1.0} and dead.end_time is not None
    assert store.get_run("alive").status == "RUNNING"
    assert store.get_run("fresh").status == "RUNNING"
    store.close()
