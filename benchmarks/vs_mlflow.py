"""nbtrack vs MLflow (SQLite backend) vs raw sqlite3: the same workloads, one run (issue 6).

    .venv/bin/python benchmarks/vs_mlflow.py               # full sizes (about 10 minutes)
    .venv/bin/python benchmarks/vs_mlflow.py --quick       # 200 runs instead of 1,000
    .venv/bin/python benchmarks/vs_mlflow.py --mlflow-10k  # MLflow at 10,000 runs too (+15 min)

Not part of CI. MLflow gets its own venv, made once and reused:
``benchmarks/.mlflow-venv`` with ``mlflow==3.17.2`` (the newest MLflow if that
version cannot be installed). Every workload runs as a subprocess of
``_vs_mlflow_worker.py``, in a scratch folder outside any git work tree: MLflow
in its venv, nbtrack and raw sqlite3 in this interpreter. All three get the
same data (fixed seed) through their public APIs; raw sqlite3 writes the same
rows into a schema of nbtrack's shape with the same pragmas.

Workloads: import time; per-run overhead (start, one param, one metric, end);
a 10,000-point metric series; creating 1,000 runs x 20 params x 5 metrics x 5
tags; fetching them all as a DataFrame; a filtered, ordered top-10 query and
an unfiltered top-10 ``order_by``; store size. The queries run again at 10x the
runs for nbtrack and raw sqlite3 (and MLflow with ``--mlflow-10k``) to show how
their cost grows. The Markdown table is printed and saved to
``benchmarks/results/vs_mlflow.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_vs_mlflow_worker.py"
MLFLOW_VENV = HERE / ".mlflow-venv"
MLFLOW_VERSION = "3.17.2"
RESULTS = HERE / "results" / "vs_mlflow.md"
#: MLflow's telemetry would try the network (there is none here); nothing else is changed.
MLFLOW_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the MLflow venv ---------------------------------------------------------------------------


def mlflow_python() -> Path:
    """The MLflow venv's python, creating the venv on first use."""
    python = MLFLOW_VENV / "bin" / "python"
    if python.exists() and _mlflow_version(python):
        return python
    log(f"creating {MLFLOW_VENV} (once; a few minutes) ...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(MLFLOW_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if subprocess.run([*pip, f"mlflow=={MLFLOW_VERSION}"]).returncode != 0:
        log(f"mlflow=={MLFLOW_VERSION} could not be installed; installing the newest mlflow")
        subprocess.run([*pip, "mlflow"], check=True)
    return python


def _mlflow_version(python: Path) -> str | None:
    done = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def versions(python: Path, distributions: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sqlite3, sys; "
        f"d = {{n: m.version(n) for n in {distributions!r}}}; "
        "d['sqlite'] = sqlite3.sqlite_version; d['python'] = sys.version.split()[0]; "
        "print(json.dumps(d))"
    )
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


# -- running workloads -------------------------------------------------------------------------


def import_seconds(python: Path, code: str, repeats: int, env: dict[str, str]) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([str(python), "-c", code], check=True, env=env, cwd=tempfile.gettempdir())
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def worker(
    python: Path, tool: str, workload: str, scratch: Path, env: dict[str, str], *options: str
) -> dict[str, Any]:
    log(f"  {tool} {workload} {' '.join(options)}")
    start = time.perf_counter()
    done = subprocess.run(
        [str(python), str(scratch / WORKER.name), tool, workload, *options],
        cwd=scratch,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{tool} {workload} failed (exit {done.returncode})")
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    result = dict(json.loads(lines[-1].removeprefix("RESULT ")))
    log(f"    done in {time.perf_counter() - start:.1f} s")
    return result


# -- formatting -------------------------------------------------------------------------------


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 1:
        return f"{value:,.1f} s" if value < 100 else f"{value:,.0f} s"
    if value >= 0.001:
        return f"{value * 1000:.0f} ms" if value >= 0.1 else f"{value * 1000:.1f} ms"
    return f"{value * 1000:.2f} ms"


def megabytes(value: float | None) -> str:
    return "—" if value is None else f"{value / 1e6:.1f} MB"


def versus_mlflow(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs:
        return "—"
    ratio = theirs / ours
    return f"**{ratio:,.0f}× faster**" if ratio >= 10 else f"{ratio:.1f}× faster"


def versus_raw(ours: float | None, raw: float | None) -> str:
    if not ours or not raw:
        return "—"
    return f"{ours / raw:.1f}× raw"


def growth(small: float | None, large: float | None) -> str:
    return "—" if not small or not large else f"{large / small:.1f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 runs instead of 1,000")
    parser.add_argument("--mlflow-10k", action="store_true", help="MLflow at 10x the runs too")
    args = parser.parse_args()
    n_runs = 200 if args.quick else 1_000
    scale = 10
    began = time.time()
    load_before = os.getloadavg()

    ours_py = Path(sys.executable)
    ml_py = mlflow_python()
    ours_v = versions(ours_py, ["nbtrack", "SQLAlchemy", "pandas"])
    ml_v = versions(ml_py, ["mlflow", "SQLAlchemy", "pandas"])
    if ml_v["mlflow"] != MLFLOW_VERSION:
        log(f"note: measuring mlflow {ml_v['mlflow']}, not {MLFLOW_VERSION}")
    log(f"nbtrack {ours_v['nbtrack']} ({ours_py}); mlflow {ml_v['mlflow']} ({ml_py})")

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("NBTRACK_", "MLFLOW_"))}
    ml_env = {**base_env, **MLFLOW_ENV}
    py = {"nbtrack": ours_py, "raw": ours_py, "mlflow": ml_py}
    env = {"nbtrack": base_env, "raw": base_env, "mlflow": ml_env}
    tools = ["nbtrack", "mlflow", "raw"]
    r: dict[str, dict[str, Any]] = {tool: {} for tool in tools}

    log("import time ...")
    modules = {"nbtrack": "nbtrack", "mlflow": "mlflow", "raw": "sqlite3"}
    for tool in tools:
        repeats = 5 if tool == "mlflow" else 11
        bare = import_seconds(py[tool], "pass", repeats, env[tool])
        full = import_seconds(py[tool], f"import {modules[tool]}", repeats, env[tool])
        r[tool]["import"], r[tool]["import_added"] = full, full - bare
        log(f"  {tool}: {full * 1000:.0f} ms ({(full - bare) * 1000:.0f} ms over bare python)")

    with tempfile.TemporaryDirectory(prefix="nbtrack-vs-mlflow-") as tmp:
        scratch = Path(tmp)
        shutil.copy(WORKER, scratch / WORKER.name)
        per_run = {"nbtrack": 200, "raw": 200, "mlflow": 50}
        loop_points = {"nbtrack": 10_000, "raw": 10_000, "mlflow": 1_000}
        for tool in tools:
            run = worker(py[tool], tool, "per_run", scratch, env[tool], f"--runs={per_run[tool]}")
            r[tool]["per_run"] = run
            r[tool]["series"] = worker(
                py[tool],
                tool,
                "series",
                scratch,
                env[tool],
                f"--points={loop_points[tool]}",
                "--batch-points=10000",
                f"--repeats={1 if tool == 'mlflow' else 3}",
            )
            big = tool != "mlflow" or args.mlflow_10k
            r[tool]["bulk"] = worker(
                py[tool],
                tool,
                "bulk",
                scratch,
                env[tool],
                f"--runs={n_runs}",
                f"--scale={scale if big else 1}",
                "--repeats=5",
                f"--repeats-large={1 if tool == 'mlflow' else 3}",
            )

    load_after = os.getloadavg()
    table = render(r, args, n_runs, scale, ours_v, ml_v, began, load_before, load_after)
    print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(table)
    log(f"saved to {RESULTS.relative_to(HERE.parent)}")


def render(
    r: dict[str, dict[str, Any]],
    args: argparse.Namespace,
    n_runs: int,
    scale: int,
    ours_v: dict[str, str],
    ml_v: dict[str, str],
    began: float,
    load_before: tuple[float, ...],
    load_after: tuple[float, ...],
) -> str:
    tools = ["nbtrack", "mlflow", "raw"]

    def row(label: str, values: dict[str, float | None], fmt: Any = seconds) -> str:
        o, m, w = (values.get(t) for t in tools)
        return (
            f"| {label} | {fmt(o)} | {fmt(m)} | {fmt(w)} "
            f"| {versus_mlflow(o, m)} | {versus_raw(o, w)} |"
        )

    def pick(*path: str) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for tool in tools:
            value: Any = r[tool]
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            out[tool] = value
        return out

    series = {t: r[t]["series"] for t in tools}
    loop = {t: s["loop_s"] * 10_000 / s["points"] for t, s in series.items()}
    size = f"{n_runs:,} runs × 20 params × 5 metrics × 5 tags"
    rates = {t: n_runs / r[t]["bulk"]["create_s"] for t in tools}
    ml_points = series["mlflow"]["points"]
    lines = [
        f"nbtrack vs MLflow {ml_v['mlflow']} (SQLite backend) vs raw sqlite3 — "
        f"{'`--quick`, ' if args.quick else ''}"
        f"{datetime.date.fromtimestamp(began).isoformat()}",
        "",
        "| workload | nbtrack | MLflow | raw sqlite3 | nbtrack vs MLflow | nbtrack vs raw |",
        "|---|--:|--:|--:|--:|--:|",
        row("`import` (process start to exit)", pick("import")),
        row("`import`, over bare `python -c pass`", pick("import_added")),
        row("per run: start, 1 param, 1 metric, end (median)", pick("per_run", "median_s")),
        row(
            f"10,000-point series, `log_metric` loop (MLflow: {ml_points:,} points ×"
            f" {10_000 // ml_points}†)",
            loop,
        ),
        row(
            "10,000-point series, batch call (MLflow `log_batch`; nbtrack: the same loop)",
            pick("series", "batch_s"),
        ),
        row(f"create {size}†", pick("bulk", "create_s")),
        f"| … runs per second | {rates['nbtrack']:,.0f} | {rates['mlflow']:,.1f} "
        f"| {rates['raw']:,.0f} | | |",
        row(f"fetch all {n_runs:,} as a DataFrame (median of 5)", pick("bulk", "small", "fetch_s")),
        row("filtered, ordered top-10 (median of 5)", pick("bulk", "small", "filter_s")),
        row("top-10 `order_by` over all runs (median of 5)", pick("bulk", "small", "top_s")),
        row(
            f"store size after {n_runs:,} runs (WAL checkpointed)",
            pick("bulk", "store_bytes"),
            megabytes,
        ).replace("faster", "smaller"),
    ]
    big_n = n_runs * scale
    lines += [
        "",
        f"How query cost grows from {n_runs:,} to {big_n:,} runs (10× the runs; 10× the time"
        " is linear):",
        "",
        f"| query | nbtrack {n_runs:,} | nbtrack {big_n:,} | growth "
        f"| raw {n_runs:,} | raw {big_n:,} | growth "
        f"| MLflow {n_runs:,} | MLflow {big_n:,} | growth | nbtrack vs MLflow at {big_n:,} |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for label, key in (
        ("fetch all as a DataFrame", "fetch_s"),
        ("filtered, ordered top-10", "filter_s"),
        ("top-10 `order_by`", "top_s"),
    ):
        cells = []
        for tool in tools:
            small = r[tool]["bulk"]["small"][key]
            large = r[tool]["bulk"].get("large", {}).get(key)
            cells.append(f"{seconds(small)} | {seconds(large)} | {growth(small, large)}")
        ours_large = r["nbtrack"]["bulk"]["large"][key]
        ml_large = r["mlflow"]["bulk"].get("large", {}).get(key)
        lines.append(
            f"| {label} | {cells[0]} | {cells[2]} | {cells[1]} "
            f"| {versus_mlflow(ours_large, ml_large)} |"
        )
    if "large" not in r["mlflow"]["bulk"]:
        lines += [
            "",
            f"MLflow at {big_n:,} runs was not run (filling its store takes ~20 minutes here;"
            " pass `--mlflow-10k`). Measured earlier on this machine with MLflow 3.17.2:"
            " ~24 s to fetch 10,000 runs, ~10 s for a top-10 `order_by`, growing with the"
            " square of the run count.",
        ]
    fill = {
        t: r[t]["bulk"]["fill_more_runs"] / r[t]["bulk"]["fill_more_s"]
        for t in tools
        if "fill_more_s" in r[t]["bulk"]
    }
    checks = all(
        r[t]["bulk"][part][ok]
        for t in tools
        for part in ("small", "large")
        if part in r[t]["bulk"]
        for ok in ("filter_ok", "top_ok")
    )
    shapes = {t: r[t]["bulk"]["small"]["frame_shape"] for t in tools}
    other = r["mlflow"]["bulk"]["other_bytes"]
    cpu = _cpu_name()
    load = "/".join(f"{x:.1f}" for x in load_before)
    load2 = "/".join(f"{x:.1f}" for x in load_after)
    lines += [
        "",
        "- Times are medians where a count is given; † marks single shots (the MLflow"
        f" loop was {ml_points:,} points, scaled ×{10_000 // ml_points} to 10,000; the"
        f" per-run medians are over {r['nbtrack']['per_run']['runs']} runs, MLflow"
        f" {r['mlflow']['per_run']['runs']}). Imports: medians of 11 (MLflow 5).",
        f"- Filling the rest up to {big_n:,} runs went at "
        + ", ".join(f"{rate:,.0f} runs/s ({t})" for t, rate in fill.items())
        + ". Store size at "
        + f"{big_n:,} runs: nbtrack {megabytes(r['nbtrack']['bulk'].get('store_bytes_large'))},"
        f" raw {megabytes(r['raw']['bulk'].get('store_bytes_large'))}.",
        f"- Query results agree with the top-10 computed in Python for every tool: {checks}."
        f" DataFrame shapes at {n_runs:,} runs (+1 warm-up run): "
        + ", ".join(f"{t} {s[0]}×{s[1]}" for t, s in shapes.items())
        + (f"; MLflow also wrote {megabytes(other)} outside its database." if other else "."),
        "- Every tool through its public API, in its own process, from a scratch folder outside"
        " git: nbtrack `start_run(name, params, tags)` + `log_metrics` + `end_run`; MLflow"
        " `start_run(run_name, tags)` + `log_params` + `log_metrics` + `end_run` (its"
        " batching calls) with `sqlite:///` tracking URI and telemetry off; raw sqlite3 the"
        " same rows in the same two transactions per run (run row at start, the rest and"
        " the status at the end), WAL + `synchronous=NORMAL` as nbtrack. MLflow's SQLite"
        " store keeps SQLite's defaults (rollback journal, `synchronous=FULL`).",
        f"- Machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()},"
        f" Python {ours_v['python']}; load average {load} before, {load2} after — other jobs"
        " shared the machine, so single numbers carry ±20–30 % noise.",
        f"- Versions: nbtrack {ours_v['nbtrack']}, SQLAlchemy {ours_v['SQLAlchemy']},"
        f" pandas {ours_v['pandas']}; MLflow {ml_v['mlflow']} with SQLAlchemy"
        f" {ml_v['SQLAlchemy']}, pandas {ml_v['pandas']}; SQLite {ours_v['sqlite']}.",
        f"- Command: `python benchmarks/vs_mlflow.py{' --quick' if args.quick else ''}"
        f"{' --mlflow-10k' if args.mlflow_10k else ''}` ({(time.time() - began) / 60:.0f} min).",
    ]
    return "\n".join(lines) + "\n"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
