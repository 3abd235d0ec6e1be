"""Crashes and concurrent writers are normal events: real processes, one SQLite file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nbtrack.tracking import Tracker

pytestmark = pytest.mark.slow


def _python(code: str, env_uri: str) -> subprocess.Popen[str]:
    env = {**os.environ, "NBTRACK_URI": env_uri}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkilled_process_leaves_a_crashed_run_with_its_metrics(store_uri: str) -> None:
    writer = _python(
        """
        import sys, time, nbtrack
        run = nbtrack.start_run(name="doomed", params={"lr": 0.1})
        for step in range(20):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        time.sleep(1.5)  # longer than the flush period: the points are in the store
        print(run.id, flush=True)
        time.sleep(60)
        """,
        store_uri,
    )
    assert writer.stdout is not None
    run_id = writer.stdout.readline().strip()
    assert run_id, writer.stderr.read() if writer.stderr else ""
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()

    reader = Tracker(store_uri)  # opening the store reaps the dead run
    run = reader.get_run(run_id)
    assert run.status == "CRASHED"
    assert run.params == {"lr": 0.1}
    assert run.metrics == {"loss": pytest.approx(1 / 20)}
    assert len(reader.metric_history(run_id, "loss")) == 20
    assert run.meta["end_time"] is not None
    reader.close()


def test_four_processes_writing_fifty_runs_each_lose_nothing(
    store_uri: str, tmp_path: Path
) -> None:
    code = """
        import sys, nbtrack
        worker = int(sys.argv[1])
        for i in range(50):
            with nbtrack.start_run(name=f"w{worker}-{i}", params={"worker": worker, "i": i}) as run:
                for step in range(10):
                    run.log(step=step, loss=worker + i / 100 + step)
                run.set_tag("worker", worker)
        print("ok")
        """
    env = {**os.environ, "NBTRACK_URI": store_uri}
    Tracker(store_uri).store.close()  # create the schema once; issue 6 covers the creation race
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), str(n)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    started = time.monotonic()
    results = [w.communicate(timeout=240) for w in workers]
    elapsed = time.monotonic() - started
    for worker, (out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err
        assert out.strip() == "ok" and "Traceback" not in err
    reader = Tracker(store_uri)
    frame = reader.runs(experiment="*")
    assert len(frame) == 200
    assert set(frame["status"]) == {"FINISHED"}
    assert sorted(zip(frame["params.worker"], frame["params.i"], strict=False)) == [
        (w, i) for w in range(4) for i in range(50)
    ]
    with reader.store.engine.connect() as connection:
        points = connection.exec_driver_sql("SELECT count(*) FROM metric_history").scalar()
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert points == 200 * 10
    print(f"4 processes x 50 runs x 10 points: {elapsed:.1f} s")
    reader.close()
