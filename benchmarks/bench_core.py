"""Core benchmarks of issue 2, each printed as a ratio measured in this one run.

    .venv/bin/python benchmarks/bench_core.py            # full sizes
    .venv/bin/python benchmarks/bench_core.py --quick    # smaller, for a smoke run

(a) ``%%track`` overhead on a trivial cell vs the same cell untracked (median).
(b) 100,000 metric points logged inside one run vs raw sqlite3 executemany.
(c) ``runs()`` over 10,000 runs x 20 params x 5 metrics vs one raw sqlite3
    query per table + pandas pivot.
(d) ``python -c "import nbtrack"`` vs ``python -c pass``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_cell_overhead(folder: Path, repeats: int, *, git: bool = False) -> None:
    from IPython.testing.globalipapp import get_ipython

    import nbtrack

    shell = get_ipython()
    shell.history_manager.enabled = False
    if "track" not in shell.magics_manager.magics["cell"]:
        shell.run_line_magic("load_ext", "nbtrack")
    shell.run_line_magic("config", "TrackMagics.quiet = True")
    where = "outside git"
    if git:  # a notebook in a git work tree: the dirty-flag probe runs per cell
        repo = folder / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        os.chdir(repo)
        where = "in a git work tree"
    nbtrack.connect(f"sqlite:///{folder / ('cells-git.db' if git else 'cells.db')}")
    cell = "x = 1\ny = x + 1\n"
    for _ in range(5):  # warm caches (package list, experiment id)
        shell.run_cell_magic("track", "bench", cell)
    plain, tracked = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        shell.run_cell(cell, store_history=False)
        plain.append(time.perf_counter() - start)
        start = time.perf_counter()
        shell.run_cell_magic("track", "bench", cell)
        tracked.append(time.perf_counter() - start)
    added = _median_ms(tracked) - _median_ms(plain)
    print(
        f"(a) %%track trivial cell {where}: untracked {_median_ms(plain):.3f} ms, "
        f"tracked {_median_ms(tracked):.3f} ms -> {added:.2f} ms added (target <= 3 ms)"
    )


def bench_metric_points(folder: Path, points: int) -> None:
    import nbtrack
    from nbtrack.tracking import Tracker

    tracker = Tracker(f"sqlite:///{folder / 'points.db'}")
    with tracker.start_run() as run:
        start = time.perf_counter()
        for step in range(points):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        tracker.flush()
        ours = time.perf_counter() - start
    tracker.close()

    # Raw sqlite3: the same rows into a table of the same shape and index, one executemany.
    raw_path = folder / "raw_points.db"
    db = sqlite3.connect(raw_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE metric_history"
        " (run_id TEXT, key TEXT, step INTEGER, value REAL, timestamp REAL)"
    )
    db.execute("CREATE INDEX ix ON metric_history (run_id, key, step)")
    run_id = uuid.uuid4().hex
    start = time.perf_counter()
    now = time.time()
    rows = [(run_id, "loss", step, 1.0 / (step + 1), now) for step in range(points)]
    db.execute("BEGIN")
    db.executemany("INSERT INTO metric_history VALUES (?, ?, ?, ?, ?)", rows)
    db.execute("COMMIT")
    raw = time.perf_counter() - start
    db.close()
    print(
        f"(b) {points:,} metric points in one run: nbtrack {ours:.3f} s "
        f"({points / ours:,.0f} points/s), raw sqlite3 executemany {raw:.3f} s "
        f"-> {ours / raw:.2f}x (target <= 3x)"
    )
    del nbtrack


def _fill_store(url: str, n_runs: int, n_params: int, n_metrics: int) -> None:
    """Write runs straight through the store's batch API (fast fixture building)."""
    from nbtrack.store import Store
    from nbtrack.store.store import MetricPoint, ParamRow, TagRow
    from nbtrack.values import encode_param

    store = Store(url)
    experiment = store.experiment_id("bench") or 0
    now = time.time()
    for i in range(n_runs):
        run_id = uuid.uuid4().hex
        params = [
            ParamRow(run_id, f"p{j}", *encode_param(i * 0.001 * (j + 1) if j % 4 else f"s{i % 7}"))
            for j in range(n_params)
        ]
        store.create_run(
            run_id=run_id,
            experiment_id=experiment,
            name=f"run-{i}",
            parent_id=None,
            start_time=now + i,
            source=None,
            meta={},
            host="bench",
            pid=0,
            pid_start=None,
            param_rows=params,
            tag_rows=[TagRow(run_id, "t", "x")],
        )
        store.write_batch(
            points=[
                MetricPoint(run_id, f"m{k}", 0, (i * 7 + k) % 1000 / 10, now)
                for k in range(n_metrics)
            ]
        )
        store.finish_run(run_id, "FINISHED", now + i + 1, {})
    store.close()


def bench_runs_frame(folder: Path, n_runs: int) -> None:
    import pandas as pd

    from nbtrack.tracking import Tracker

    path = folder / "runs.db"
    url = f"sqlite:///{path}"
    start = time.perf_counter()
    _fill_store(url, n_runs, 20, 5)
    filled = time.perf_counter() - start
    print(f"    (filled {n_runs:,} runs x 20 params x 5 metrics in {filled:.1f} s)")
    tracker = Tracker(url)
    tracker.runs("bench", limit=1)  # open the store outside the timing
    ours = []
    for _ in range(3):
        start = time.perf_counter()
        frame = tracker.runs("bench")
        ours.append(time.perf_counter() - start)
    top = []
    for _ in range(3):
        start = time.perf_counter()
        tracker.runs("bench", order_by="metrics.m0 DESC", limit=10)
        top.append(time.perf_counter() - start)
    tracker.close()
    assert frame.shape[0] == n_runs

    def raw_frame() -> pd.DataFrame:
        db = sqlite3.connect(path)
        runs = pd.DataFrame(
            db.execute("SELECT id, name, status, start_time, end_time FROM runs").fetchall(),
            columns=["run_id", "run_name", "status", "start_time", "end_time"],
        ).set_index("run_id")
        parts = [runs]
        for table, value in (("params", "value_text"), ("metrics", "value"), ("tags", "value")):
            long = pd.DataFrame(
                db.execute(f"SELECT run_id, key, {value} FROM {table}").fetchall(),
                columns=["run_id", "key", "value"],
            )
            wide = long.pivot(index="run_id", columns="key", values="value")
            parts.append(wide.add_prefix(f"{table}."))
        db.close()
        return pd.concat(parts, axis=1)

    raw = []
    for _ in range(3):
        start = time.perf_counter()
        raw_frame()
        raw.append(time.perf_counter() - start)
    o, r = min(ours), min(raw)
    print(
        f"(c) runs() of {n_runs:,} runs x 20 params x 5 metrics: nbtrack {o:.3f} s, "
        f"raw sqlite3 + pandas pivot {r:.3f} s -> {o / r:.2f}x (target <= 3x); "
        f"top-10 order_by {min(top) * 1000:.1f} ms"
    )


def bench_import(repeats: int) -> None:
    def timed(code: str) -> float:
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    bare, ours = timed("pass"), timed("import nbtrack")
    print(
        f"(d) import: python -c pass {bare * 1000:.0f} ms, import nbtrack {ours * 1000:.0f} ms "
        f"-> {(ours - bare) * 1000:.0f} ms added (target <= 100 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = parser.parse_args()
    cells, points, runs, imports = (
        (50, 10_000, 1_000, 5) if args.quick else (300, 100_000, 10_000, 15)
    )
    os.environ.pop("NBTRACK_URI", None)
    home = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="nbtrack-bench-") as tmp:
        folder = Path(tmp)
        os.chdir(folder)  # outside any git work tree, like a scratch notebook folder
        print(f"nbtrack core benchmarks (python {sys.version.split()[0]}, {os.cpu_count()} cores)")
        bench_cell_overhead(folder, cells)
        bench_cell_overhead(folder, cells, git=True)
        os.chdir(folder)
        bench_metric_points(folder, points)
        bench_runs_frame(folder, runs)
        bench_import(imports)
        os.chdir(home)


if __name__ == "__main__":
    main()
