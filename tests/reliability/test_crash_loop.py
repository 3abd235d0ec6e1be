"""Issue 6: a writer SIGKILLed at random moments, many times over, loses nothing it acknowledged.

A launcher process imports nbtrack once, then for each round forks a writer
and kills it with SIGKILL after a random delay (fixed seed). The writer opens
the store (reaping the previous round's dead run), then starts runs and logs
batches of metric points, printing an acknowledgement line only after the
store said a write succeeded: ``run`` after ``start_run``, ``batch`` after
``flush``, ``end`` after ending the run. A batch is one ``log_metrics`` call of
``size(step)`` keys at one step, all with the value ``step``; the buffer writes
it in one transaction, so every batch must be there entirely or not at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from nbtrack.store import Store
from nbtrack.tracking import Tracker

pytestmark = pytest.mark.slow

SEED = 6_2026
ROUNDS = {"sqlite": 30, "postgresql": 20}
BATCH_SIZES = (1, 40, 400, 2000)  # batch at step s has BATCH_SIZES[s % 4] points


def size(step: int) -> int:
    return BATCH_SIZES[step % len(BATCH_SIZES)]


LAUNCHER = """
    import os, random, signal, sys, time
    from nbtrack.tracking import Tracker, metadata

    seed, rounds = int(sys.argv[1]), int(sys.argv[2])
    sizes = [int(s) for s in sys.argv[3].split(",")]
    rng = random.Random(seed)
    metadata.imported_packages()  # the package scan, once, before forking

    def ack(*words):
        # One write(2) per line: print() may write a line in pieces (PYTHONUNBUFFERED),
        # and a kill between the pieces would leave half an acknowledgement.
        os.write(1, (" ".join(map(str, words)) + "\\n").encode())
    def write(round_):
        tracker = Tracker()  # opens the store: reaps the run the last writer left RUNNING
        run_no = 0
        while True:
            run = tracker.start_run(name=f"r{round_}-{run_no}", experiment="crash")
            ack("run", round_, run.id)
            run.log_param("round", round_)
            for step in range(rng.randrange(1, 9)):
                n = sizes[step % len(sizes)]
                run.log_metrics({f"m{j}": float(step) for j in range(n)}, step=step)
                tracker.flush()
                ack("batch", round_, run.id, step)
            run.end()
            ack("end", round_, run.id)
            run_no += 1

    for round_ in range(rounds):
        delay = rng.uniform(0.05, 1.2)
        pid = os.fork()
        if pid == 0:
            try:
                write(round_)
            finally:
                os._exit(1)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)  # reaped, so the next writer sees it dead
        assert os.waitstatus_to_exitcode(status) == -signal.SIGKILL, status
        ack("killed", round_, f"{delay:.3f}")
"""


def test_sigkill_loop_loses_no_acknowledged_write(
    store_uri: str, backend: str, tmp_path: Path
) -> None:
    rounds = ROUNDS[backend]
    Store(store_uri).close()  # create the schema first; test_creation_race races for it
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(LAUNCHER),
            str(SEED),
            str(rounds),
            ",".join(map(str, BATCH_SIZES)),
        ],
        env={**os.environ, "NBTRACK_URI": store_uri},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    acked_runs: set[str] = set()
    acked_batches: set[tuple[str, int]] = set()
    acked_ends: set[str] = set()
    killed = 0
    for line in done.stdout.splitlines():
        kind, *rest = line.split()
        if kind == "run":
            acked_runs.add(rest[1])
        elif kind == "batch":
            acked_batches.add((rest[1], int(rest[2])))
        elif kind == "end":
            acked_ends.add(rest[1])
        else:
            assert kind == "killed"
            killed += 1
    assert killed == rounds

    Tracker(store_uri).store.close()  # opening the store reaps the last writer's run
    engine = create_engine(store_uri)
    try:
        with engine.connect() as connection:
            status = dict(connection.execute(text("SELECT id, status FROM runs")).all())
            counts = connection.execute(
                text(
                    "SELECT run_id, step, count(*), min(value), max(value) FROM metric_history "
                    "GROUP BY run_id, step"
                )
            ).all()
            latest = connection.execute(text("SELECT run_id, key, step, value FROM metrics")).all()
            history_max = dict(
                ((r, k), s)
                for r, k, s in connection.execute(
                    text("SELECT run_id, key, max(step) FROM metric_history GROUP BY run_id, key")
                )
            )
            params = {r for (r,) in connection.execute(text("SELECT run_id FROM params"))}
            if backend == "sqlite":
                assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                assert connection.execute(text("PRAGMA foreign_key_check")).first() is None
    finally:
        engine.dispose()

    # Every acknowledged run is there; ended ones FINISHED, the rest CRASHED.
    assert acked_runs <= set(status)
    finished = {r for r, s in status.items() if s == "FINISHED"}
    assert acked_ends <= finished
    # Ended but killed before saying so: at most the last run of each writer.
    assert len(finished - acked_ends) <= rounds
    assert {s for r, s in status.items() if r not in finished} <= {"CRASHED"}
    # Every batch is all-or-nothing, and every acknowledged one is there.
    stored_batches = set()
    for run_id, step, n, low, high in counts:
        assert n == size(step) and low == high == step, (run_id, step, n)
        stored_batches.add((run_id, step))
    assert acked_batches <= stored_batches
    # The latest-value table moved with the history, in the same transactions.
    assert {(r, k): s for r, k, s, _v in latest} == history_max
    assert all(v == s for _r, _k, s, v in latest)
    # Params logged before an acknowledged flush are there.
    assert {r for r, _ in acked_batches} <= params
    crashed = Counter(status.values())["CRASHED"]
    print(
        f"{backend}: seed {SEED}, {rounds} SIGKILLs: {len(status)} runs "
        f"({len(finished)} FINISHED, {len(finished - acked_ends)} of them unacknowledged, "
        f"{crashed} CRASHED), {len(stored_batches)} batches stored, "
        f"{len(acked_batches)} acknowledged, {len(stored_batches - acked_batches)} unacknowledged "
        f"but whole; no batch half-written"
        + (", integrity_check ok" if backend == "sqlite" else "")
    )
