"""The ``nbtrack`` command, run as a real subprocess on a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from nbtrack.tracking import Tracker
from nbtrack.tracking.artifacts import blob_store


def _nbtrack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", *args], capture_output=True, text=True, check=False
    )


def test_runs_as_json_csv_and_table(store_uri: str) -> None:
    tracker = Tracker(store_uri)
    for alpha in (0.1, 0.2, 0.3):
        with tracker.start_run(experiment="e", params={"alpha": alpha}) as run:
            run.log_metric("rmse", alpha * 10)
    tracker.close()

    out = _nbtrack(
        "--uri",
        store_uri,
        "runs",
        "--filter",
        "metrics.rmse > 1.5",
        "--order-by",
        "metrics.rmse",
        "--format",
        "json",
    )
    assert out.returncode == 0, out.stderr
    assert [row["params.alpha"] for row in json.loads(out.stdout)] == [0.2, 0.3]

    csv = _nbtrack(
        "--uri", store_uri, "runs", "--experiment", "e", "--limit", "1", "--format", "csv"
    )
    assert csv.stdout.splitlines()[0].startswith("run_id,run_name,experiment")
    assert len(csv.stdout.splitlines()) == 2

    table = _nbtrack("--uri", store_uri, "runs")
    assert "metrics.rmse" in table.stdout and table.stdout.count("FINISHED") == 3


def test_bad_filter_exits_2_with_one_line(store_uri: str) -> None:
    out = _nbtrack("--uri", store_uri, "runs", "--filter", "metrics.rmse <<< 1")
    assert out.returncode == 2
    assert out.stderr.startswith("nbtrack: error: invalid filter") and out.stderr.count("\n") == 1


def test_gc_dry_run_then_delete(store_uri: str, tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    os.environ["NBTRACK_ARTIFACTS"] = str(root)
    try:
        tracker = Tracker(store_uri)
        with tracker.start_run() as run:
            kept = run.log_text("kept", "kept.txt")
        orphan, size = blob_store(tracker).put_bytes(b"nobody refers to me")
        tracker.close()
    finally:
        del os.environ["NBTRACK_ARTIFACTS"]
    blob = root / "blobs" / "sha256" / orphan[:2] / orphan[2:]
    args = ("--uri", store_uri, "gc", "--artifacts", str(root))

    young = _nbtrack(*args)  # default --min-age 3600: a blob this new may be a write in progress
    assert young.returncode == 0, young.stderr
    assert "would free 0 bytes" in young.stdout

    dry = _nbtrack(*args, "--min-age", "0")
    assert dry.returncode == 0, dry.stderr
    assert f"would delete blob sha256:{orphan} ({size} bytes)" in dry.stdout
    assert kept.digest not in dry.stdout
    assert "nbtrack gc --delete" in dry.stdout
    assert blob.exists()

    done = _nbtrack(*args, "--min-age", "0", "--delete")
    assert done.returncode == 0, done.stderr
    assert f"freed {size} bytes" in done.stdout
    assert not blob.exists()
    kept_blob = root / "blobs" / "sha256" / kept.digest[:2] / kept.digest[2:]
    assert kept_blob.read_bytes() == b"kept"


def test_gc_without_an_artifact_root_is_one_clear_line(tmp_path: Path) -> None:
    env_free = {k: v for k, v in os.environ.items() if k != "NBTRACK_ARTIFACTS"}
    out = subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", "--uri", "sqlite://", "gc"],
        capture_output=True,
        text=True,
        check=False,
        env=env_free,
    )
    assert out.returncode == 2
    assert "NBTRACK_ARTIFACTS" in out.stderr and len(out.stderr.strip().splitlines()) == 1
