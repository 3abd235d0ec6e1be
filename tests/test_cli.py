"""The ``nbtrack`` command, run as a real subprocess on a real store."""

from __future__ import annotations

import json
import subprocess
import sys

from nbtrack.tracking import Tracker


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
