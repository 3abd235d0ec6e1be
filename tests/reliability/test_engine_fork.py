"""Issue 6: a tracker (engine, pool, flush thread) created before ``fork()`` works in the children.

The parent opens the store, writes a run, and keeps a run open that it logs
to while it forks four children; each child logs runs through the *same*
tracker object, then the parent carries on. One child leaves the way a plain
script does (interpreter exit, atexit handlers run), the others with
``os._exit`` as multiprocessing does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nbtrack.tracking import Tracker

pytestmark = pytest.mark.slow

CHILDREN, RUNS, STEPS = 4, 25, 20

SCRIPT = """
    import os, sys
    from nbtrack.tracking import Tracker

    children, runs, steps = (int(a) for a in sys.argv[1:])
    tracker = Tracker()
    with tracker.start_run(name="before-fork", experiment="fork") as run:
        run.log(step=0, loss=1.0)
    assert tracker.get_run(run.id).status == "FINISHED"  # the pool holds a used connection
    parent = tracker.start_run(name="parent", experiment="fork")
    parent.log_metric("beat", 0.0, step=0)  # pending in the buffer, flush thread running

    pids = []
    for child in range(children):
        parent.log_metric("beat", float(child + 1), step=child + 1)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for i in range(runs):
                    with tracker.start_run(name=f"c{child}-{i}", experiment="fork") as run:
                        run.log_param("child", child)
                        for step in range(steps):
                            run.log(step=step, loss=child + i / 100 + step)
                code = 0
            finally:
                if child == 0 and code == 0:
                    sys.exit(0)  # interpreter exit: atexit handlers run in the child
                os._exit(code)
        pids.append(pid)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    print("children", *codes, flush=True)
    for step in range(children + 1, children + 11):
        parent.log_metric("beat", float(step), step=step)
    print("parent-open", tracker.get_run(parent.id).status, flush=True)
    parent.end()
    with tracker.start_run(name="after-fork", experiment="fork") as run:
        run.log(step=0, loss=2.0)
    tracker.close()
    print("parent", parent.id, flush=True)
"""


def test_tracker_created_before_fork_works_in_children(store_uri: str, tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), str(CHILDREN), str(RUNS), str(STEPS)],
        env={**os.environ, "NBTRACK_URI": store_uri},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
    lines = dict(line.split(maxsplit=1) for line in done.stdout.splitlines())
    assert lines["children"].split() == ["0"] * CHILDREN
    # A child leaving through the interpreter's exit must not end the parent's run.
    assert lines["parent-open"] == "RUNNING"
    parent_id = lines["parent"]

    reader = Tracker(store_uri)
    try:
        frame = reader.runs(experiment="fork")
        names = set(frame["run_name"])
        children = {f"c{c}-{i}" for c in range(CHILDREN) for i in range(RUNS)}
        assert names == children | {"before-fork", "parent", "after-fork"}
        assert set(frame["status"]) == {"FINISHED"}
        child_rows = frame[frame["run_name"].isin(children)]
        assert set(child_rows["parent_run_id"]) == {parent_id}  # nested under the open run
        assert sorted(child_rows["params.child"]) == sorted(
            c for c in range(CHILDREN) for _ in range(RUNS)
        )
        with reader.store.engine.connect() as connection:
            points = connection.exec_driver_sql(
                "SELECT count(*) FROM metric_history WHERE key = 'loss'"
            ).scalar()
            if connection.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert points == CHILDREN * RUNS * STEPS + 2
        beats = reader.metric_history(parent_id, "beat")
        assert beats["step"].tolist() == list(range(CHILDREN + 11))  # none lost, none doubled
    finally:
        reader.close()
    backend = store_uri.split(":", 1)[0]
    print(
        f"{backend}: tracker used before fork, {CHILDREN} forked children x {RUNS} runs x "
        f"{STEPS} points through it: {len(names)} runs, {points} points, parent unaffected, "
        f"{elapsed:.1f} s"
    )
