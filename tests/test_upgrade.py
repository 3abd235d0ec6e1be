"""Stores written by earlier schema revisions open with the current code, content unchanged.

Every ``tests/data/store-<revision>.db`` was written by ``make_fixture_store.py``
at that revision and committed. Opening a copy upgrades it in place; the test
compares a checksum of the content (runs, params, metrics, history, tags) taken
before and after.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from nbtrack.registry import model_versions
from nbtrack.store.migrate import HEAD, REVISIONS
from nbtrack.store.schema import VERSION_TABLE
from nbtrack.tracking import Tracker

FIXTURES = sorted((Path(__file__).parent / "data").glob("store-*.db"))

CONTENT_QUERIES = [
    "SELECT e.name, r.id, r.name, r.status, r.parent_id, r.start_time, r.end_time, r.source"
    " FROM runs r JOIN experiments e ON e.id = r.experiment_id ORDER BY r.id",
    "SELECT run_id, key, value_type, value_num, value_text FROM params ORDER BY run_id, key",
    "SELECT run_id, key, value, step FROM metrics ORDER BY run_id, key",
    "SELECT run_id, key, step, value FROM metric_history ORDER BY run_id, key, step",
    "SELECT run_id, key, value FROM tags ORDER BY run_id, key",
]

#: Content of tables added by later revisions, checked for fixtures that have them.
CONTENT_QUERIES_SINCE = {
    "0002": [
        "SELECT run_id, name, path, kind, digest, size FROM artifacts ORDER BY run_id, name, path",
        "SELECT name, description FROM registered_models ORDER BY name",
        "SELECT name, version, run_id, experiment, artifact, digest, metrics, description"
        " FROM model_versions ORDER BY name, version",
        "SELECT name, alias, version FROM model_aliases ORDER BY name, alias",
        "SELECT name, version, key, value FROM model_tags ORDER BY name, version, key",
    ],
}


def _revision(path: Path) -> str:
    return path.stem.removeprefix("store-")


def content_checksum(path: Path, revision: str | None = None) -> str:
    digest = hashlib.sha256()
    queries = list(CONTENT_QUERIES)
    for since, more in CONTENT_QUERIES_SINCE.items():
        if revision is not None and revision >= since:
            queries += more
    with sqlite3.connect(path) as db:
        for query in queries:
            for row in db.execute(query):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def test_there_is_a_fixture_for_the_current_revision() -> None:
    assert {p.stem.removeprefix("store-") for p in FIXTURES} >= {HEAD}
    assert all(p.stem.removeprefix("store-") in REVISIONS for p in FIXTURES)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.name for p in FIXTURES])
def test_fixture_opens_upgraded_with_content_unchanged(fixture: Path, tmp_path: Path) -> None:
    copy = tmp_path / fixture.name
    shutil.copy(fixture, copy)
    before = content_checksum(copy)
    before_since = content_checksum(copy, _revision(fixture))
    tracker = Tracker(f"sqlite:///{copy}")
    frame = tracker.runs("fixture")
    assert len(frame) == 5
    assert sorted(frame["status"]) == ["FAILED", "FINISHED", "FINISHED", "FINISHED", "FINISHED"]
    trial = tracker.get_run(frame.loc[frame.run_name == "trial-2", "run_id"].item())
    assert trial.params == {"alpha": pytest.approx(0.3), "model": "xgb", "layers": [2, 2]}
    assert trial.tags == {"ünïcode": "<b>ok</b>"}
    if _revision(fixture) >= "0002":
        model_run = tracker.get_run(tracker.run_ids("fixture-models")[0])
        assert model_run.artifacts == ["model", "notes/readme.md"]
        assert model_run.tags == {"registered": "fixture-model/1"}
        versions = model_versions(tracker, "fixture-model")
        assert versions["version"].tolist() == [1]
        assert versions["aliases"].tolist() == [["champion"]]
        assert versions["metrics.rmse"].tolist() == [5.5]
    tracker.close()
    assert content_checksum(copy) == before
    assert content_checksum(copy, _revision(fixture)) == before_since
    with sqlite3.connect(copy) as db:
        assert db.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall() == [(HEAD,)]
