"""Issue 6: sixteen processes opening a brand-new store at the same moment.

A launcher imports nbtrack (and alembic) once and forks sixteen children
*before* any store exists; they block on one pipe and are released together
when the launcher closes it, then each opens the store (creating and migrating
it if it finds none), writes a run and reads it back. Forking after the
imports only saves sixteen Python start-ups (≈25 s of CPU on two cores); the
children share no connection, engine or file handle.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from nbtrack.store.migrate import HEAD
from nbtrack.store.schema import VERSION_TABLE
from nbtrack.store.schema import metadata as schema_metadata

pytestmark = pytest.mark.slow

PROCESSES = 16
ROUNDS = 3

LAUNCHER = """
    import os, sys, time, traceback
    import alembic.command, alembic.config  # what creating a store needs, imported up front
    from nbtrack.tracking import Tracker, metadata

    metadata.imported_packages()  # the package scan, once, before forking


    def emit(line):
        # One write(2) per line: print() writes a line in pieces under PYTHONUNBUFFERED,
        # and the launcher and its sixteen children share this pipe.
        os.write(1, (line + "\\n").encode())

    processes = int(sys.argv[1])
    gate_out, gate_in = os.pipe()
    children = []
    for worker in range(processes):
        pid = os.fork()
        if pid == 0:
            os.close(gate_in)
            os.read(gate_out, 1)  # returns for every child when the launcher closes the pipe
            code = 0
            try:
                tracker = Tracker()
                with tracker.start_run(
                    name=f"opener-{worker}", params={"worker": worker}, experiment="race"
                ) as run:
                    run.log_metric("x", worker)
                assert tracker.store.get_run(run.id).status == "FINISHED"
                tracker.close()
                emit(f"run {run.id}")
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stderr.flush()
            os._exit(code)
        children.append(pid)
    os.close(gate_out)
    time.sleep(0.5)  # let every child reach its read
    started = time.monotonic()
    os.close(gate_in)  # go
    for pid in children:
        _, status = os.waitpid(pid, 0)
        emit(f"exit {os.waitstatus_to_exitcode(status)}")
    emit(f"seconds {time.monotonic() - started}")
"""


def _race(uri: str, cwd: Path) -> tuple[list[str], float]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(LAUNCHER), str(PROCESSES)],
        env={**os.environ, "NBTRACK_URI": uri},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    assert [w[1] for w in lines if w[0] == "exit"] == ["0"] * PROCESSES, done.stderr
    ids = [w[1] for w in lines if w[0] == "run"]
    assert len(ids) == len(set(ids)) == PROCESSES
    return ids, float(next(w[1] for w in lines if w[0] == "seconds"))


def _check_one_schema(uri: str, ids: list[str]) -> None:
    engine = create_engine(uri)
    try:
        with engine.connect() as connection:
            versions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
            assert [tuple(v) for v in versions] == [(HEAD,)]
            tables = set(inspect(connection).get_table_names())
            assert tables == set(schema_metadata.tables) | {VERSION_TABLE}
            experiments = connection.execute(text("SELECT name FROM experiments")).all()
            assert [tuple(e) for e in experiments] == [("race",)]
            stored = connection.execute(text("SELECT id, status FROM runs")).all()
            assert sorted(map(tuple, stored)) == sorted((i, "FINISHED") for i in ids)
            if connection.dialect.name == "sqlite":
                assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    finally:
        engine.dispose()


def test_sixteen_processes_create_one_schema(
    store_uri: str, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    timings = []
    for round_ in range(ROUNDS):
        if backend == "sqlite":
            path = tmp_path / f"race-{round_}.db"
            assert not path.exists()
            uri = f"sqlite:///{path}"
        elif round_ == 0:
            uri = store_uri  # an empty schema
        else:
            uri = request.getfixturevalue("postgres").fresh_schema_url()
        ids, seconds = _race(uri, tmp_path)
        _check_one_schema(uri, ids)
        timings.append(seconds)
    print(
        f"{backend}: {ROUNDS} rounds x {PROCESSES} processes opening a new store at once: "
        f"one schema ({HEAD}) each round, {PROCESSES} runs written, no errors; "
        + ", ".join(f"{t:.1f} s" for t in timings)
    )
