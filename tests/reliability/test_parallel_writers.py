"""Issue 6: eight processes writing 200 runs of 50 metric steps each into one store."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nbtrack.store import Store
from nbtrack.tracking import Tracker

pytestmark = pytest.mark.slow

PROCESSES, RUNS, STEPS = 8, 200, 50

WRITER = """
    import sys
    from nbtrack.tracking import Tracker

    worker, runs, steps = (int(a) for a in sys.argv[1:])
    tracker = Tracker()
    tracker.store  # open (and reap) before the start signal, like a notebook would
    print("ready", flush=True)
    sys.stdin.readline()  # everyone starts writing at once
    for i in range(runs):
        with tracker.start_run(
            name=f"w{worker}-{i}", params={"worker": worker, "i": i}, experiment="parallel"
        ) as run:
            for step in range(steps):
                run.log(step=step, loss=worker * 1000 + i + step / 100)
            run.set_tag("worker", worker)
    tracker.close()
    print("done", flush=True)
"""


def test_eight_processes_lose_nothing(store_uri: str, tmp_path: Path) -> None:
    Store(store_uri).close()  # create the schema first; test_creation_race races for it
    env = {**os.environ, "NBTRACK_URI": store_uri}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WRITER), str(n), str(RUNS), str(STEPS)],
            env=env,
            cwd=tmp_path,  # not a git work tree: no `git status` per run
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready", worker.stderr
    started = time.monotonic()
    results = [w.communicate("go\n", timeout=600) for w in workers]
    elapsed = time.monotonic() - started
    for worker, (out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err
        assert out.strip() == "done"
        assert "Traceback" not in err and "Warning" not in err, err

    reader = Tracker(store_uri)
    try:
        with reader.store.engine.connect() as connection:

            def scalar(sql: str) -> object:
                return connection.exec_driver_sql(sql).scalar()

            n_runs = scalar("SELECT count(*) FROM runs")
            n_points = scalar("SELECT count(*) FROM metric_history")
            assert n_runs == PROCESSES * RUNS
            assert n_points == PROCESSES * RUNS * STEPS
            assert scalar("SELECT count(*) FROM runs WHERE status <> 'FINISHED'") == 0
            assert scalar("SELECT count(*) FROM params") == PROCESSES * RUNS * 2
            assert scalar("SELECT count(*) FROM tags") == PROCESSES * RUNS
            assert scalar("SELECT count(*) FROM metrics") == PROCESSES * RUNS
            # Every run has exactly its own steps 0..STEPS-1, once each.
            per_run = connection.exec_driver_sql(
                "SELECT count(*), count(DISTINCT step), min(step), max(step) "
                "FROM metric_history GROUP BY run_id"
            ).all()
            assert len(per_run) == PROCESSES * RUNS
            assert set(map(tuple, per_run)) == {(STEPS, STEPS, 0, STEPS - 1)}
            if connection.dialect.name == "sqlite":
                assert scalar("PRAGMA integrity_check") == "ok"
                assert scalar("PRAGMA foreign_key_check") is None
        frame = reader.runs(experiment="parallel")
        assert sorted(zip(frame["params.worker"], frame["params.i"], strict=True)) == [
            (w, i) for w in range(PROCESSES) for i in range(RUNS)
        ]
        last = frame.set_index("run_name")["metrics.loss"]
        assert last["w7-199"] == pytest.approx(7000 + 199 + (STEPS - 1) / 100)
    finally:
        reader.close()
    backend = store_uri.split(":", 1)[0]
    print(
        f"{backend}: {PROCESSES} procs x {RUNS} runs x {STEPS} steps: {n_runs} runs, "
        f"{n_points} points in {elapsed:.1f} s ({n_points / elapsed:,.0f} points/s)"
    )
