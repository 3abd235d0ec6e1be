"""Worker of ``vs_mlflow.py``: one workload with one tool, timings as JSON on stdout.

    python _vs_mlflow_worker.py TOOL WORKLOAD [--runs N] [--scale K] [--repeats R]

TOOL is ``nbtrack``, ``mlflow`` or ``raw``; WORKLOAD is ``per_run``, ``series``
or ``bulk``. Only the standard library is imported at module level, so the same
file runs in nbtrack's venv and in the separate MLflow venv. The result is the
last stdout line, prefixed with ``RESULT``. Run it from a scratch folder outside
any git work tree (the parent copies it there): both trackers look for git.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXPERIMENT = "bench"
N_PARAMS, N_METRICS, N_TAGS = 20, 5, 5
#: The filtered, ordered query (the same for all tools; MLflow compares params as text only).
FILTER = "metrics.m0 < 50 and params.p0 = 's3'"
FILTER_ORDER = "metrics.m1"
TOP_ORDER = "metrics.m0"  # top-10 by this, descending, over all runs


def make_run(i: int, seed: int = 6) -> tuple[str, dict[str, Any], dict[str, float], dict[str, str]]:
    """Run ``i`` of the shared data set: name, 20 params, 5 metrics, 5 tags (fixed seed)."""
    rng = random.Random(seed * 1_000_003 + i)
    params: dict[str, Any] = {
        f"p{j}": f"s{rng.randrange(7)}" if j % 4 == 0 else round(rng.uniform(0, 1), 6)
        for j in range(N_PARAMS)
    }
    metrics = {f"m{k}": rng.uniform(0, 100) for k in range(N_METRICS)}
    tags = {f"t{k}": f"v{rng.randrange(10)}" for k in range(N_TAGS)}
    return f"run-{i}", params, metrics, tags


def expected_filter_names(first: int, count: int) -> list[str]:
    """The names the filtered query must return, computed in Python (a correctness check)."""
    rows = [make_run(i) for i in range(first, first + count)]
    hits = [r for r in rows if r[2]["m0"] < 50 and r[1]["p0"] == "s3"]
    return [r[0] for r in sorted(hits, key=lambda r: r[2]["m1"])[:10]]


def expected_top_names(first: int, count: int) -> list[str]:
    rows = [make_run(i) for i in range(first, first + count)]
    return [r[0] for r in sorted(rows, key=lambda r: -r[2]["m0"])[:10]]


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def progress(message: str) -> None:
    print(f"      [{sys.argv[1]}] {message}", file=sys.stderr, flush=True)


# -- the three tools behind one interface ------------------------------------------------------


class Tool:
    """What every workload needs from a tool; subclasses use only its public API."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def db_files(self) -> list[Path]:
        raise NotImplementedError

    def one_run(self) -> None:
        """start run, one param, one metric, end."""
        raise NotImplementedError

    def series(self, points: int) -> None:
        """``points`` metric points in one run, one call per point."""
        raise NotImplementedError

    def series_batch(self, points: int) -> None:
        """The same points with the tool's batch call (if it has one)."""
        raise NotImplementedError

    def create_run(
        self, name: str, params: dict[str, Any], metrics: dict[str, float], tags: dict[str, str]
    ) -> None:
        raise NotImplementedError

    def fetch_all(self) -> Any:
        raise NotImplementedError

    def filtered(self) -> list[str]:
        """Names of the top 10 runs of FILTER ordered by FILTER_ORDER ascending."""
        raise NotImplementedError

    def top(self) -> list[str]:
        """Names of the top 10 runs by TOP_ORDER descending."""
        raise NotImplementedError


class Nbtrack(Tool):
    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        import nbtrack as nt

        self.nt = nt
        self.path = folder / "nbtrack.db"
        nt.connect(f"sqlite:///{self.path}")
        nt.set_experiment(EXPERIMENT)

    def db_files(self) -> list[Path]:
        return [self.path]

    def one_run(self) -> None:
        nt = self.nt
        nt.start_run()
        nt.log_param("alpha", 0.1)
        nt.log_metric("rmse", 6.3)
        nt.end_run()

    def series(self, points: int) -> None:
        nt = self.nt
        nt.start_run()
        for step in range(points):
            nt.log_metric("loss", 1.0 / (step + 1), step=step)
        nt.end_run()

    def series_batch(self, points: int) -> None:
        self.series(points)  # nbtrack has no separate batch call: the loop is buffered

    def create_run(
        self, name: str, params: dict[str, Any], metrics: dict[str, float], tags: dict[str, str]
    ) -> None:
        nt = self.nt
        nt.start_run(name=name, params=params, tags=tags)
        nt.log_metrics(metrics)
        nt.end_run()

    def fetch_all(self) -> Any:
        return self.nt.runs()

    def filtered(self) -> list[str]:
        frame = self.nt.runs(filter=FILTER, order_by=f"{FILTER_ORDER} ASC", limit=10)
        return list(frame["run_name"])

    def top(self) -> list[str]:
        frame = self.nt.runs(order_by=f"{TOP_ORDER} DESC", limit=10)
        return list(frame["run_name"])


class Mlflow(Tool):
    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        import mlflow
        from mlflow import MlflowClient

        self.mlflow = mlflow
        self.client_class = MlflowClient
        self.path = folder / "mlflow.db"
        mlflow.set_tracking_uri(f"sqlite:///{self.path}")
        # Creates the schema (alembic) outside the timings.
        self.experiment_id = mlflow.set_experiment(EXPERIMENT).experiment_id

    def db_files(self) -> list[Path]:
        return [self.path]

    def one_run(self) -> None:
        mlflow = self.mlflow
        mlflow.start_run()
        mlflow.log_param("alpha", 0.1)
        mlflow.log_metric("rmse", 6.3)
        mlflow.end_run()

    def series(self, points: int) -> None:
        mlflow = self.mlflow
        mlflow.start_run()
        for step in range(points):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.end_run()

    def series_batch(self, points: int) -> None:
        from mlflow.entities import Metric

        mlflow = self.mlflow
        run = mlflow.start_run()
        now = int(time.time() * 1000)
        batch = [Metric("loss", 1.0 / (step + 1), now, step) for step in range(points)]
        self.client_class().log_batch(run.info.run_id, metrics=batch)  # chunks by 1,000
        mlflow.end_run()

    def create_run(
        self, name: str, params: dict[str, Any], metrics: dict[str, float], tags: dict[str, str]
    ) -> None:
        mlflow = self.mlflow
        mlflow.start_run(run_name=name, tags=tags)
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.end_run()

    def fetch_all(self) -> Any:
        return self.mlflow.search_runs()

    def filtered(self) -> list[str]:
        frame = self.mlflow.search_runs(
            filter_string=FILTER, order_by=[f"{FILTER_ORDER} ASC"], max_results=10
        )
        return list(frame["tags.mlflow.runName"])

    def top(self) -> list[str]:
        frame = self.mlflow.search_runs(order_by=[f"{TOP_ORDER} DESC"], max_results=10)
        return list(frame["tags.mlflow.runName"])


_RAW_SCHEMA = """
CREATE TABLE runs (id TEXT PRIMARY KEY, experiment TEXT NOT NULL, name TEXT NOT NULL,
    status TEXT NOT NULL, start_time REAL NOT NULL, end_time REAL);
CREATE INDEX ix_runs_experiment_start ON runs (experiment, start_time);
CREATE TABLE params (run_id TEXT NOT NULL REFERENCES runs(id), key TEXT NOT NULL,
    value_num REAL, value_text TEXT NOT NULL, PRIMARY KEY (run_id, key));
CREATE TABLE metrics (run_id TEXT NOT NULL REFERENCES runs(id), key TEXT NOT NULL,
    value REAL, step INTEGER NOT NULL, timestamp REAL NOT NULL, PRIMARY KEY (run_id, key));
CREATE INDEX ix_metrics_key_value ON metrics (key, value);
CREATE TABLE metric_history (run_id TEXT NOT NULL, key TEXT NOT NULL, step INTEGER NOT NULL,
    value REAL, timestamp REAL NOT NULL);
CREATE INDEX ix_metric_history ON metric_history (run_id, key, step);
CREATE TABLE tags (run_id TEXT NOT NULL REFERENCES runs(id), key TEXT NOT NULL,
    value TEXT NOT NULL, PRIMARY KEY (run_id, key));
"""


class Raw(Tool):
    """Hand-written sqlite3 on a schema of nbtrack's shape: the floor a tracker can reach.

    Same pragmas as nbtrack (WAL, synchronous=NORMAL) and the same transactions a
    tracker needs: the run row (RUNNING) at start, everything else and the final
    status in one transaction at the end.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.path = folder / "raw.db"
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_RAW_SCHEMA)

    def db_files(self) -> list[Path]:
        return [self.path]

    def _start(self, name: str, params: dict[str, Any], tags: dict[str, str]) -> str:
        run_id = uuid.uuid4().hex
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO runs VALUES (?, ?, ?, 'RUNNING', ?, NULL)",
            (run_id, EXPERIMENT, name, time.time()),
        )
        if params:
            self._params(run_id, params)
        if tags:
            db.executemany(
                "INSERT INTO tags VALUES (?, ?, ?)", [(run_id, k, v) for k, v in tags.items()]
            )
        db.execute("COMMIT")
        return run_id

    def _end(
        self,
        run_id: str,
        points: list[tuple[str, int, float]],
        params: dict[str, Any] | None = None,
    ) -> None:
        db = self.db
        now = time.time()
        db.execute("BEGIN IMMEDIATE")
        if params:
            self._params(run_id, params)
        rows = [(run_id, key, step, value, now) for key, step, value in points]
        db.executemany("INSERT INTO metric_history VALUES (?, ?, ?, ?, ?)", rows)
        latest = {row[1]: row for row in rows}  # steps ascend: the last point per key wins
        db.executemany(
            "INSERT INTO metrics VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE"
            " SET value = excluded.value, step = excluded.step, timestamp = excluded.timestamp",
            [(r[0], r[1], r[3], r[2], r[4]) for r in latest.values()],
        )
        db.execute("UPDATE runs SET status = 'FINISHED', end_time = ? WHERE id = ?", (now, run_id))
        db.execute("COMMIT")

    def _params(self, run_id: str, params: dict[str, Any]) -> None:
        self.db.executemany(
            "INSERT INTO params VALUES (?, ?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE"
            " SET value_num = excluded.value_num, value_text = excluded.value_text",
            [
                (run_id, k, v if isinstance(v, float | int) else None, str(v))
                for k, v in params.items()
            ],
        )

    def one_run(self) -> None:
        run_id = self._start(uuid.uuid4().hex[:8], {}, {})
        self._end(run_id, [("rmse", 0, 6.3)], {"alpha": 0.1})

    def series(self, points: int) -> None:
        run_id = self._start(uuid.uuid4().hex[:8], {}, {})
        self._end(run_id, [("loss", step, 1.0 / (step + 1)) for step in range(points)])

    def series_batch(self, points: int) -> None:
        self.series(points)

    def create_run(
        self, name: str, params: dict[str, Any], metrics: dict[str, float], tags: dict[str, str]
    ) -> None:
        run_id = self._start(name, params, tags)
        self._end(run_id, [(key, 0, value) for key, value in metrics.items()])

    def fetch_all(self) -> Any:
        import pandas as pd

        db = self.db
        runs = pd.DataFrame(
            db.execute(
                "SELECT id, name, status, start_time, end_time FROM runs WHERE experiment = ?",
                (EXPERIMENT,),
            ).fetchall(),
            columns=["run_id", "run_name", "status", "start_time", "end_time"],
        ).set_index("run_id")
        parts = [runs]
        for table, value in (("params", "value_text"), ("metrics", "value"), ("tags", "value")):
            long = pd.DataFrame(
                db.execute(f"SELECT run_id, key, {value} FROM {table}").fetchall(),
                columns=["run_id", "key", "value"],
            )
            parts.append(
                long.pivot(index="run_id", columns="key", values="value").add_prefix(f"{table}.")
            )
        return pd.concat(parts, axis=1)

    def _frame_of(self, ids: list[str]) -> list[str]:
        """The runs DataFrame of ``ids`` (as the trackers return one); their names in order."""
        import pandas as pd

        db = self.db
        marks = ",".join("?" * len(ids))
        runs = pd.DataFrame(
            db.execute(
                f"SELECT id, name, status, start_time, end_time FROM runs WHERE id IN ({marks})",
                ids,
            ).fetchall(),
            columns=["run_id", "run_name", "status", "start_time", "end_time"],
        ).set_index("run_id")
        parts = [runs]
        for table, value in (("params", "value_text"), ("metrics", "value"), ("tags", "value")):
            long = pd.DataFrame(
                db.execute(
                    f"SELECT run_id, key, {value} FROM {table} WHERE run_id IN ({marks})", ids
                ).fetchall(),
                columns=["run_id", "key", "value"],
            )
            parts.append(
                long.pivot(index="run_id", columns="key", values="value").add_prefix(f"{table}.")
            )
        frame = pd.concat(parts, axis=1).loc[ids]
        return list(frame["run_name"])

    def filtered(self) -> list[str]:
        ids = [
            row[0]
            for row in self.db.execute(
                "SELECT r.id FROM runs r"
                " JOIN metrics m0 ON m0.run_id = r.id AND m0.key = 'm0'"
                " JOIN params p0 ON p0.run_id = r.id AND p0.key = 'p0'"
                " LEFT JOIN metrics m1 ON m1.run_id = r.id AND m1.key = 'm1'"
                " WHERE r.experiment = ? AND m0.value < 50 AND p0.value_text = 's3'"
                " ORDER BY m1.value IS NULL, m1.value, r.start_time DESC LIMIT 10",
                (EXPERIMENT,),
            )
        ]
        return self._frame_of(ids)

    def top(self) -> list[str]:
        ids = [
            row[0]
            for row in self.db.execute(
                "SELECT r.id FROM runs r"
                " LEFT JOIN metrics m ON m.run_id = r.id AND m.key = 'm0'"
                " WHERE r.experiment = ?"
                " ORDER BY m.value IS NULL, m.value DESC, r.start_time DESC LIMIT 10",
                (EXPERIMENT,),
            )
        ]
        return self._frame_of(ids)


TOOLS: dict[str, type[Tool]] = {"nbtrack": Nbtrack, "mlflow": Mlflow, "raw": Raw}


# -- workloads ---------------------------------------------------------------------------------


def per_run(tool: Tool, args: argparse.Namespace) -> dict[str, Any]:
    for _ in range(max(3, args.runs // 20)):  # warm-up: imports, cached statements
        tool.one_run()
    samples = [timed(tool.one_run)[0] for _ in range(args.runs)]
    return {"runs": args.runs, "median_s": statistics.median(samples), "samples": samples}


def series(tool: Tool, args: argparse.Namespace) -> dict[str, Any]:
    tool.one_run()  # warm-up
    loop = [timed(lambda: tool.series(args.points))[0] for _ in range(args.repeats)]
    batch = [timed(lambda: tool.series_batch(args.batch_points))[0] for _ in range(args.repeats)]
    return {
        "points": args.points,
        "loop_s": statistics.median(loop),
        "loop_samples": loop,
        "batch_points": args.batch_points,
        "batch_s": statistics.median(batch),
        "batch_samples": batch,
    }


def _store_bytes(tool: Tool) -> int:
    total = 0
    for path in tool.db_files():
        if Path(f"{path}-wal").exists():
            db = sqlite3.connect(path)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
        for suffix in ("", "-wal", "-journal"):
            part = Path(f"{path}{suffix}")
            total += part.stat().st_size if part.exists() else 0
    return total


def _folder_bytes(folder: Path, skip: set[Path]) -> int:
    """Bytes under ``folder`` that are not the store (MLflow's artifact folders, say)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if path.suffix != ".py" and not any(str(path).startswith(str(s)) for s in skip):
                total += path.stat().st_size
    return total


def _queries(tool: Tool, count: int, repeats: int) -> dict[str, Any]:
    """Fetch-all, the filtered query and the top-10 query, each ``repeats`` times."""
    fetch, shape = [], None
    for _ in range(repeats):
        seconds, frame = timed(tool.fetch_all)
        fetch.append(seconds)
        shape = list(frame.shape)
    assert shape is not None and shape[0] == count, (shape, count)
    filtered = [timed(tool.filtered) for _ in range(repeats)]
    top = [timed(tool.top) for _ in range(repeats)]
    return {
        "runs": count,
        "fetch_s": statistics.median(fetch),
        "fetch_samples": fetch,
        "frame_shape": shape,
        "filter_s": statistics.median(s for s, _ in filtered),
        "filter_samples": [s for s, _ in filtered],
        "filter_ok": filtered[-1][1] == expected_filter_names(0, count),
        "top_s": statistics.median(s for s, _ in top),
        "top_samples": [s for s, _ in top],
        "top_ok": top[-1][1] == expected_top_names(0, count),
    }


def bulk(tool: Tool, args: argparse.Namespace) -> dict[str, Any]:
    tool.one_run()  # warm-up (imports, first-run caches); one more run in every frame
    tool.top()  # imports pandas and warms the query path, on a store of one run
    rows = [make_run(i) for i in range(args.runs)]
    seconds, _ = timed(lambda: [tool.create_run(*row) for row in rows])
    progress(f"created {args.runs:,} runs in {seconds:.1f} s")
    result: dict[str, Any] = {
        "runs": args.runs,
        "create_s": seconds,
        "store_bytes": _store_bytes(tool),
        "other_bytes": _folder_bytes(tool.folder, set(tool.db_files())),
    }
    result["small"] = _queries(tool, args.runs + 1, args.repeats)
    progress(f"queried {args.runs:,} runs")
    if args.scale > 1:
        more = [make_run(i) for i in range(args.runs, args.runs * args.scale)]
        seconds, _ = timed(lambda: [tool.create_run(*row) for row in more])
        total = args.runs * args.scale
        progress(f"added {len(more):,} runs in {seconds:.1f} s")
        result["fill_more_s"] = seconds
        result["fill_more_runs"] = len(more)
        result["store_bytes_large"] = _store_bytes(tool)
        result["large"] = _queries(tool, total + 1, args.repeats_large)
        progress(f"queried {total:,} runs")
    return result


WORKLOADS = {"per_run": per_run, "series": series, "bulk": bulk}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tool", choices=sorted(TOOLS))
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--batch-points", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--repeats-large", type=int, default=3)
    parser.add_argument("--scale", type=int, default=1, help="also measure at runs x scale")
    args = parser.parse_args()
    folder = Path.cwd() / f"{args.tool}-{args.workload}"
    folder.mkdir()
    os.chdir(folder)
    tool = TOOLS[args.tool](folder)
    result = WORKLOADS[args.workload](tool, args)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
