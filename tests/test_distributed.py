"""A distributed sweep: trials in joblib worker processes write to one shared store
while a panel in this process shows them arriving (SQLite file and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from nbtrack.tracking import Tracker

pytestmark = pytest.mark.slow

TRIALS = 10


def run_trial(index: int, parent_id: str, store_uri: str) -> str:
    """One trial, in a worker process: its own Tracker on the shared store."""
    worker = Tracker(store_uri)
    with worker.start_run(
        name=f"trial-{index}", params={"x": index}, parent=parent_id, experiment="dist"
    ) as run:
        for step in range(5):
            run.log(step=step, loss=(index - 4) ** 2 / (step + 1))
        time.sleep(0.3)
        run.log_metric("score", float((index - 4) ** 2))
    worker.close()
    return run.id


def test_joblib_workers_fill_a_live_panel(
    tracker: Tracker, store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    joblib = pytest.importorskip("joblib")
    from nbtrack.panels import compare

    # loky workers are fresh interpreters: let them import this module.
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    stop_fast_polling = tracker.watch(interval=0.2)
    sweep = tracker.start_run(name="sweep", experiment="dist")
    panel = compare(experiment="dist", static=False, tracker=tracker)
    seen: list[int] = []
    done = threading.Event()

    def sweep_in_workers() -> None:
        with joblib.Parallel(n_jobs=2, backend="loky") as parallel:
            parallel(joblib.delayed(run_trial)(i, sweep.id, store_uri) for i in range(TRIALS))
        done.set()

    worker_thread = threading.Thread(target=sweep_in_workers)
    started = time.monotonic()
    worker_thread.start()
    try:
        while not done.is_set() and time.monotonic() - started < 120:
            seen.append(len(panel.runs))
            time.sleep(0.1)
        worker_thread.join()
        sweep.end()
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 10
        while len(panel.runs) < TRIALS + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        final = len(panel.runs)
    finally:
        panel.close()
        stop_fast_polling()

    frame = tracker.runs("dist")
    children = frame[frame["parent_run_id"] == sweep.id]
    assert len(children) == TRIALS and set(children["status"]) == {"FINISHED"}
    assert sorted(children["params.x"]) == list(range(TRIALS))
    assert final == TRIALS + 1
    intermediate = sorted({n for n in seen if 1 < n < TRIALS + 1})
    assert intermediate, f"the panel never showed the sweep in progress: {sorted(set(seen))}"
    print(
        f"{TRIALS} trials in 2 worker processes: {elapsed:.1f} s; panel counts seen {intermediate}"
    )
