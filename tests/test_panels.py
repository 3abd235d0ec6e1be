"""Comparison panels: the pure info objects, the widget's state, live updates, the static view."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nbtrack.events import EventBus, RunEvent
from nbtrack.panels import _style, compare, widgets_available
from nbtrack.panels._contour import contour_figure, contour_info, default_params, interpolate
from nbtrack.panels._data import best_run, build_axis, fmt, labels_for, metric_mode, varies
from nbtrack.panels._history import history_figure, history_info, pick_runs
from nbtrack.panels._parallel import MISSING, parallel_figure, parallel_info
from nbtrack.panels._scatter import scatter_figure, scatter_info
from nbtrack.panels._static import StaticPanel
from nbtrack.panels._table import sort_order, table_info

EVIL = "<script>alert(1)</script>"


def make_runs(n: int = 40, n_params: int = 4, n_metrics: int = 2, seed: int = 0) -> pd.DataFrame:
    """A ``runs()``-shaped frame: log-spread lr, int depth, string model, constant seed."""
    rng = np.random.default_rng(seed)
    d: dict[str, Any] = {
        "run_id": [f"{i:032x}" for i in range(n)],
        "run_name": [f"run-{i}" for i in range(n)],
        "experiment": "demo",
        "status": "FINISHED",
        "start_time": pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"),
        "duration_s": rng.uniform(1, 5, n),
        "params.lr": 10 ** rng.uniform(-4, -1, n),
        "params.depth": rng.integers(2, 10, n),
        "params.model": rng.choice(["xgboost", "lightgbm", EVIL], n),
    }
    for j in range(3, n_params):
        d[f"params.p{j}"] = rng.normal(size=n)
    d["params.seed"] = 42
    d["metrics.rmse"] = (np.log10(d["params.lr"]) + 2.5) ** 2 + d["params.depth"] * 0.1
    for j in range(1, n_metrics):
        d[f"metrics.m{j}"] = rng.normal(size=n)
    return pd.DataFrame(d)


class FakeTracker:
    """The Tracker surface panels use, over a frame; counts queries."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.events = EventBus()
        self.queries = 0
        self.history_queries = 0

    def runs(
        self,
        experiment: str | None = None,
        filter: str | None = None,
        order_by: Any = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        self.queries += 1
        if filter and "!!" in filter:
            raise ValueError("unexpected token '!!' at position 0")
        df = self.df.query(filter) if filter else self.df
        return df.reset_index(drop=True)

    def metric_histories(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> pd.DataFrame:
        self.history_queries += 1
        rows = [
            (r, k, s, 1.0 / (s + 1) + i, None)
            for i, r in enumerate(run_ids)
            for k in (keys or ["rmse"])
            for s in range(5)
        ]
        return pd.DataFrame(rows, columns=["run_id", "key", "step", "value", "timestamp"])


def labels(info: Any) -> list[str]:
    return [d.axis.label for d in info.dimensions]


# -- shared helpers ------------------------------------------------------------------------


def test_helpers() -> None:
    assert metric_mode("metrics.accuracy") == "max" and metric_mode("metrics.loss") == "min"
    assert labels_for(["params.a", "metrics.a"]) == {
        "params.a": "params.a",
        "metrics.a": "metrics.a",
    }
    assert not varies(pd.Series([1, 1])) and varies(pd.Series([1, None]))
    assert fmt(float("-inf")) == "-inf" and fmt(np.float64(0.5)) == "0.5"
    assert (
        best_run(
            pd.DataFrame({"run_id": ["a", "b"], "metrics.acc": [0.5, 0.9]}), "metrics.acc", "max"
        )
        == "b"
    )
    assert best_run(pd.DataFrame({"run_id": ["a"], "metrics.m": [math.nan]}), "metrics.m") is None


def test_axis_encodings() -> None:
    df = pd.DataFrame(
        {
            "params.lr": [1e-4, 1e-2, None],
            "params.opt": ["b", "a", None],
            "params.flag": [True, False, True],
            "params.mixed": [1, "auto", 2.5],
            "metrics.m": [1.0, math.inf, -math.inf],
        }
    )
    lr = build_axis(df, "params.lr")
    assert lr.kind == "numeric" and lr.log and lr.n_missing == 1
    assert np.allclose(lr.values[:2], [-4, -2]) and (lr.lo, lr.hi) == (-4, -2)
    opt = build_axis(df, "params.opt")
    assert opt.kind == "categorical" and opt.categories == ("a", "b") and opt.values[0] == 1
    assert build_axis(df, "params.flag").categories == ("False", "True")
    assert build_axis(df, "params.mixed").categories == ("1", "2.5", "auto")
    m = build_axis(df, "metrics.m")
    assert m.n_nonfinite == 2 and np.isnan(m.values[1:]).all()
    const = build_axis(pd.DataFrame({"x": [3.0, 3.0]}), "x")
    assert const.lo < 3.0 < const.hi
    ordered = build_axis(df, "params.opt", order_by=np.array([0.0, 5.0, 1.0]))
    assert ordered.categories == ("b", "a")  # sorted by the metric's mean, not the text


# -- parallel coordinates ----------------------------------------------------------------------


def test_parallel_only_varying_columns_and_picker() -> None:
    df = make_runs(50)
    info = parallel_info(df, "metrics.rmse")
    assert labels(info) == ["lr", "depth", "model", "p3", "m1", "rmse"]  # colour metric last
    assert info.hidden == ("params.seed",)
    more = parallel_info(df, "metrics.rmse", extra=["params.seed"])
    assert "seed" in labels(more) and more.hidden == ()
    fixed = parallel_info(df, "metrics.rmse", columns=["params.lr", "metrics.rmse"])
    assert labels(fixed) == ["lr", "rmse"]


def test_parallel_categorical_log_and_full_labels() -> None:
    df = make_runs(60)
    df["params.a_really_long_parameter_name_that_mlflow_would_truncate"] = np.arange(60) % 2
    info = parallel_info(df, "metrics.rmse")
    dims = {d.axis.label: d for d in info.dimensions}
    model = dims["model"]
    assert model.axis.kind == "categorical" and set(model.ticktext) == {"xgboost", "lightgbm", EVIL}
    assert model.tickvals == (0.0, 1.0, 2.0)
    lr = dims["lr"]
    assert lr.axis.log and set(lr.tickvals) >= {-3.0, -2.0} and "0.001" in lr.ticktext
    assert not dims["depth"].axis.log
    fig = parallel_figure(info)
    trace = fig["data"][0]
    assert trace["type"] == "parcoords"
    assert "a_really_long_parameter_name_that_mlflow_would_truncate" in [
        d["label"] for d in trace["dimensions"]
    ]
    # labels go through plotly's markup parser (escaped); parcoords tick text is plain SVG text
    assert EVIL in trace["dimensions"][2]["ticktext"]
    assert all("<" not in d["label"] for d in trace["dimensions"])
    assert len(_style.decode(trace["dimensions"][0]["values"])) == 60
    # best run drawn last (on top)
    assert info.run_ids[-1] == best_run(df, "metrics.rmse")


def test_parallel_gaps_get_a_missing_slot() -> None:
    df = make_runs(10)
    df.loc[0, "params.lr"] = np.nan
    df.loc[1, "metrics.rmse"] = np.inf
    df.loc[2, "params.model"] = None
    info = parallel_info(df, "metrics.rmse")
    for name in ("lr", "model", "rmse"):
        d = next(d for d in info.dimensions if d.axis.label == name)
        assert d.missing_at is not None and d.ticktext[0] == MISSING
        assert np.isfinite(d.values).all() and d.range[0] == d.missing_at
    fig = parallel_figure(info)
    assert fig["data"][0]["line"]["colorscale"][0][1] == "#c7c7c7"  # missing colour is grey


def test_parallel_zero_one_and_constant() -> None:
    empty = make_runs(0)
    assert parallel_info(empty, "metrics.rmse").run_ids == ()
    assert parallel_figure(parallel_info(empty, "metrics.rmse"))["data"] == []
    one = parallel_info(make_runs(1), "metrics.rmse")
    assert len(one.dimensions) == 7  # a single run shows every column
    const = make_runs(5)
    for c in [
        "params.lr",
        "params.depth",
        "params.model",
        "params.p3",
        "metrics.rmse",
        "metrics.m1",
    ]:
        const[c] = const[c].iloc[0]
    info = parallel_info(const, "metrics.rmse")
    assert info.dimensions == () and "Nothing varies" in str(parallel_figure(info))
    no_metric = parallel_info(make_runs(5).drop(columns=["metrics.rmse", "metrics.m1"]), None)
    assert no_metric.color is None and parallel_figure(no_metric)["data"][0]["line"]["color"]


def test_parallel_10k_runs() -> None:
    df = make_runs(10_000, 20, 5)
    t0 = time.perf_counter()
    info = parallel_info(df, "metrics.rmse")
    fig = parallel_figure(info)
    assert time.perf_counter() - t0 < 1.0
    assert len(info.dimensions) == 25 and len(fig["layout"]["meta"]["run_ids"]) == 10_000


# -- scatter ------------------------------------------------------------------------------------


def test_scatter_info_and_figure() -> None:
    df = make_runs(30)
    df.loc[0, "params.lr"] = None
    best = best_run(df, "metrics.rmse")
    info = scatter_info(
        df,
        "params.lr",
        "metrics.rmse",
        "params.model",
        selected=[df.run_id[3], df.run_id[4]],
        best=best,
    )
    assert info.n_hidden == 1 and info.x is not None and info.x.log
    assert info.selected.sum() == 2
    fig = scatter_figure(info)
    assert [t["name"] for t in fig["data"]][:2] == ["runs", "selected"]
    assert fig["data"][2]["marker"]["symbol"] == "star"
    assert fig["layout"]["xaxis"]["type"] == "log"
    assert "1 runs without a value" in fig["layout"]["title"]["text"]
    text = fig["data"][0]["text"]
    assert text[1].startswith("<b>run-1</b>") and EVIL not in "".join(text)
    assert fig["data"][0]["customdata"][5] == df.run_id[5]
    cat = scatter_figure(scatter_info(df, "params.model", "metrics.rmse"))
    assert cat["layout"]["xaxis"]["tickvals"] == [0, 1, 2]


def test_scatter_edge_cases() -> None:
    assert scatter_figure(scatter_info(make_runs(0), None, None))["data"] == []
    one = scatter_figure(scatter_info(make_runs(1), "params.lr", "metrics.rmse"))
    assert len(one["data"]) == 1
    big = scatter_figure(scatter_info(make_runs(10_000), "params.lr", "metrics.rmse", "metrics.m1"))
    assert big["data"][0]["type"] == "scattergl"


# -- contour ------------------------------------------------------------------------------------


def test_interpolation_is_exact_at_data_and_smooth_between() -> None:
    gx = np.linspace(0, 1, 11)
    grid = interpolate(
        np.array([0.0, 1.0, 0.0, 1.0]),
        np.array([0.0, 0.0, 1.0, 1.0]),
        np.array([0.0, 1.0, 1.0, 2.0]),
        gx,
        gx,
    )
    assert grid.shape == (11, 11)
    assert grid[0, 0] == 0.0 and grid[-1, -1] == 2.0 and grid[0, -1] == 1.0
    assert 0.0 < grid[5, 5] < 2.0 and abs(grid[5, 5] - 1.0) < 0.1
    assert np.isfinite(grid).all()


def test_contour_numeric_log_and_categorical() -> None:
    df = make_runs(80)
    info = contour_info(df, "params.lr", "params.model", "metrics.rmse")
    assert info.reason is None and info.x is not None and info.y is not None
    assert info.x.log and info.grid.shape == (3, 48)  # one grid line per category
    assert info.gx[0] < -4 + 1e-9 < info.gx[-1]  # interpolated in log10 space
    means = df.groupby("params.model")["metrics.rmse"].mean().sort_values()
    assert info.y.categories == tuple(means.index)  # an ordered axis, not a refusal
    fig = contour_figure(info)
    assert [t["type"] for t in fig["data"]] == ["contour", "scatter"]
    assert fig["layout"]["xaxis"]["type"] == "log"
    assert fig["layout"]["yaxis"]["ticktext"][0] == _style.esc(means.index[0])
    both_numeric = contour_info(
        df, "params.lr", "params.depth", "metrics.rmse", selected=[df.run_id[0]]
    )
    assert both_numeric.grid.shape == (48, 48) and np.isfinite(both_numeric.grid).all()
    assert len(contour_figure(both_numeric)["data"]) == 3  # contour, runs, selected ring


def test_contour_reasons_not_crashes() -> None:
    df = make_runs(20)
    assert contour_info(make_runs(0), "params.lr", "params.depth", "metrics.rmse").reason
    assert contour_info(df, "params.lr", None, "metrics.rmse").reason
    assert contour_info(df, "params.lr", "params.lr", "metrics.rmse").reason
    nan = df.assign(**{"metrics.rmse": np.nan})
    info = contour_info(nan, "params.lr", "params.depth", "metrics.rmse")
    assert info.reason and "finite" in info.reason and contour_figure(info)["data"] == []
    one = contour_info(make_runs(1), "params.lr", "params.depth", "metrics.rmse")
    assert one.grid.shape == (48, 48) and np.isfinite(one.grid).all()
    partly = df.copy()
    partly.loc[:5, "metrics.rmse"] = np.inf
    assert contour_info(partly, "params.lr", "params.depth", "metrics.rmse").reason is None


def test_contour_default_params_explain_the_metric() -> None:
    assert default_params(make_runs(200), "metrics.rmse") == ("params.lr", "params.depth")
    assert default_params(make_runs(0), "metrics.rmse") == (None, None)


def test_contour_10k_runs_fast() -> None:
    df = make_runs(10_000, 20, 5)
    t0 = time.perf_counter()
    info = contour_info(df, "params.lr", "params.depth", "metrics.rmse")
    contour_figure(info)
    assert time.perf_counter() - t0 < 1.0 and info.grid.shape == (48, 48)


# -- history ------------------------------------------------------------------------------------


def test_history_gaps_and_picks() -> None:
    h = pd.DataFrame(
        {
            "run_id": ["a"] * 3 + ["b"] * 2,
            "key": ["loss"] * 5,
            "step": [2, 0, 1, None, None],
            "value": [3.0, 1.0, math.nan, 1.0, math.inf],
        }
    )
    info = history_info(h, "metrics.loss", ["a", "b", "c"], {"a": EVIL})
    a, b = info.curves
    assert a.steps.tolist() == [0, 1, 2] and np.isnan(a.values[1])
    assert b.steps.tolist() == [0, 1] and np.isnan(b.values[1])
    fig = history_figure(info)
    assert len(fig["data"]) == 2 and fig["data"][0]["connectgaps"] is False
    assert EVIL not in str(fig)
    assert "No step history" in str(history_figure(history_info(h, "metrics.acc", ["a"])))
    df = make_runs(30)
    ids, basis = pick_runs(df, [df.run_id[2]], "metrics.rmse")
    assert ids == [df.run_id[2]] and "selected" in basis
    ids, basis = pick_runs(df, [], "metrics.rmse", limit=3)
    assert ids[0] == best_run(df, "metrics.rmse") and basis == "best 3 by rmse"


# -- table ----------------------------------------------------------------------------------------


def test_table_sort_page_best() -> None:
    df = make_runs(60)
    df.loc[5, "metrics.rmse"] = np.nan
    df.loc[6, "metrics.rmse"] = np.inf
    best = best_run(df, "metrics.rmse")
    info = table_info(df, sort_by="metrics.rmse", ascending=True, color="metrics.rmse", best=best)
    assert info.pages == 3 and len(info.rows) == 25 and info.row_ids[0] == best
    labels_ = [c.label for c in info.columns]
    assert labels_[:5] == ["run", "status", "start_time", "duration (s)", "rmse"]
    assert "experiment" not in labels_  # one experiment: no column
    last = table_info(df, sort_by="metrics.rmse", ascending=False, page=99)
    assert last.page == 2 and last.row_ids[-1] == df.run_id[5]  # NaN last both ways
    desc = table_info(df, sort_by="metrics.rmse", ascending=False)
    assert desc.rows[0][labels_.index("rmse")] == "inf"
    by_text = sort_order(df, "params.model")
    assert df["params.model"].iloc[by_text].tolist() == sorted(df["params.model"], key=str.casefold)
    mixed = pd.DataFrame({"run_id": list("abc"), "params.x": [1, "auto", None]})
    assert sort_order(mixed, "params.x").tolist() == [0, 1, 2]
    empty = table_info(make_runs(0))
    assert empty.rows == () and empty.pages == 1


# -- the widget -----------------------------------------------------------------------------------


@pytest.fixture
def panel() -> Any:
    tracker = FakeTracker(make_runs(40))
    p = compare(tracker=tracker, static=False)
    yield p
    p.close()


def test_widget_state(panel: Any) -> None:
    import ipywidgets

    assert isinstance(panel, ipywidgets.VBox)
    assert panel.tabs.titles == ("Runs", "Parallel coordinates", "Scatter", "Contour", "History")
    assert panel.color == "metrics.rmse" and panel.mode == "min"
    assert (
        panel.table.total == 40 and len(panel.table.rows) == 25 and panel.table.best == panel.best
    )
    assert panel.parallel_plot.figure["data"][0]["type"] == "parcoords"
    assert (panel.contour_x.value, panel.contour_y.value) == ("params.lr", "params.depth")
    assert [t["type"] for t in panel.contour_plot.figure["data"]] == ["contour", "scatter"]
    assert len(panel.history_plot.figure["data"]) == 20  # best 20 runs without a selection
    assert "<b>40</b> runs" in panel.status.value
    # one library widget carries plotly.js for every plot
    libs = {
        id(p._lib)
        for p in (panel.parallel_plot, panel.scatter_plot, panel.contour_plot, panel.history_plot)
    }
    assert len(libs) == 1 and len(panel.parallel_plot._lib.source) > 1_000_000
    assert "plotly" not in panel.parallel_plot._esm[:0] and len(panel.parallel_plot._esm) < 20_000


def test_widget_selection_is_shared(panel: Any) -> None:
    ids = panel.runs.run_id.tolist()[:3]
    panel.table.selected = ids  # as the browser would after row clicks
    assert panel.selected == ids
    assert [t["name"] for t in panel.scatter_plot.figure["data"]][1] == "selected"
    assert len(panel.history_plot.figure["data"]) == 3
    assert "3 selected" in panel.status.value
    panel.parallel_plot.selected = ids[:1]  # a parcoords brush
    assert panel.table.selected == ids[:1] and len(panel.history_plot.figure["data"]) == 1
    panel.table.selected = []
    assert len(panel.history_plot.figure["data"]) == 20


def test_widget_pickers_sort_filter(panel: Any) -> None:
    panel.table.sort_by, panel.table.ascending = "run_name", False
    assert panel.table.rows[0][0] == "run-9"
    panel.table.page = 1
    assert len(panel.table.rows) == 15
    panel.parallel_axes.value = ["params.seed", "metrics.rmse"]
    assert [d["label"] for d in panel.parallel_plot.figure["data"][0]["dimensions"]] == [
        "seed",
        "rmse",
    ]
    panel.scatter_x.value = "params.model"
    assert panel.scatter_plot.figure["layout"]["xaxis"]["tickvals"] == [0, 1, 2]
    panel.filter_box.value = "`params.depth` > 5"
    assert (
        len(panel.runs) == (make_runs(40)["params.depth"] > 5).sum()
        and "error" not in panel.status.value
    )
    panel.filter_box.value = "!! broken"  # errors are shown, not raised, and keep the data
    assert (
        "filter error" in panel.status.value and "!!" in panel.status.value and len(panel.runs) > 0
    )
    panel.color_picker.value = "metrics.m1"
    assert panel.contour_z.value == "metrics.m1"
    assert panel.history_key.value == "metrics.rmse"  # the metric with a step series
    panel.history_key.value = "metrics.m1"  # the user's pick then sticks
    panel.color_picker.value = "metrics.rmse"
    assert panel.history_key.value == "metrics.rmse"  # follows the colour once picked by hand


def test_history_defaults_to_the_longest_series() -> None:
    tracker = FakeTracker(make_runs(6))
    original = tracker.metric_histories

    def histories(run_ids: Sequence[str], keys: Sequence[str] | None = None) -> pd.DataFrame:
        frame = original(run_ids, keys or ["rmse", "m1"])
        return frame[(frame.key != "rmse") | (frame.step == 0)]  # rmse: one point per run

    tracker.metric_histories = histories  # type: ignore[method-assign]
    p = compare(tracker=tracker, static=False)
    assert p.color == "metrics.rmse" and p.history_key.value == "metrics.m1"
    assert len(p.history_plot.figure["data"]) == 6
    p.close()


def test_widget_edge_inputs() -> None:
    for df in (
        make_runs(0),
        make_runs(1),
        make_runs(5).drop(columns=["metrics.rmse", "metrics.m1"]),
    ):
        p = compare(tracker=FakeTracker(df), static=False)
        assert p.table.total == len(df)
        for plot in (p.parallel_plot, p.scatter_plot, p.contour_plot, p.history_plot):
            assert "layout" in plot.figure
        p.close()
    weird = make_runs(12)
    weird.loc[0, "metrics.rmse"] = np.nan
    weird.loc[1, "metrics.rmse"] = np.inf
    weird.loc[2:4, "params.lr"] = None
    weird["run_name"] = EVIL
    p = compare(tracker=FakeTracker(weird), static=False)
    assert EVIL not in p.status.value and EVIL not in str(p.scatter_plot.figure)
    p.close()


def test_widget_build_10k_under_a_second() -> None:
    tracker = FakeTracker(make_runs(10_000, 20, 5))
    compare(tracker=FakeTracker(make_runs(3)), static=False).close()  # imports
    t0 = time.perf_counter()
    p = compare(tracker=tracker, static=False)
    assert time.perf_counter() - t0 < 1.0
    assert p.table.total == 10_000 and len(p.table.rows) == 25
    p.close()


def test_live_updates_coalesce_queries() -> None:
    tracker = FakeTracker(make_runs(10))
    p = compare(tracker=tracker, static=False)
    assert p.live is not None
    p.live._delay, p.live._min_interval = 0.05, 0.05
    widget_ids = (p.table.model_id, p.scatter_plot.model_id)
    before = tracker.queries
    tracker.df = make_runs(30)
    for i in range(30):  # a burst of events: one refresh, not thirty
        tracker.events.emit(RunEvent("ended", f"{i:032x}", "demo", "sqlite://"))
    p.live.flush()
    assert tracker.queries - before == 1 and p.table.total == 30
    assert (p.table.model_id, p.scatter_plot.model_id) == widget_ids  # updated in place
    tracker.df = make_runs(31)
    tracker.events.emit(RunEvent("ended", "x", "demo", "sqlite://"))
    deadline = time.monotonic() + 3
    while p.table.total != 31 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert p.table.total == 31
    p.close()
    assert not p.live.active
    tracker.events.emit(RunEvent("ended", "y", "demo", "sqlite://"))  # no crash after close


def test_live_with_a_real_store(tmp_path: Any) -> None:
    tracking = pytest.importorskip("nbtrack.tracking")
    tracker = tracking.Tracker(f"sqlite:///{tmp_path / 'live.db'}")
    tracker.set_experiment("sweep")
    with tracker.start_run(params={"lr": 0.1, "model": "a"}) as run:
        run.log_metric("rmse", 1.0)
    p = compare(tracker=tracker, static=False)
    assert p.live is not None
    p.live._delay, p.live._min_interval = 0.05, 0.05
    calls = []
    original = tracker.runs
    tracker.runs = lambda *a, **k: calls.append(1) or original(*a, **k)  # type: ignore[method-assign]
    for i in range(8):
        with tracker.start_run(params={"lr": 10.0**-i, "model": "ab"[i % 2]}) as run:
            for step in range(3):
                run.log(step=step, rmse=1.0 / (i + step + 1))
    deadline = time.monotonic() + 5
    while len(p.history_plot.figure["data"]) < 9 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert p.table.total == 9
    assert len(calls) < 8  # coalesced: fewer queries than runs
    assert len(p.history_plot.figure["data"]) == 9
    p.close()
    tracker.close()


# -- static fallback and choosing ----------------------------------------------------------


def test_static_panel() -> None:
    df = make_runs(25)
    df.loc[0, "run_name"] = EVIL
    static = compare(tracker=FakeTracker(df), static=True)
    assert isinstance(static, StaticPanel)
    html = static._repr_html_()
    assert html.count("plotly.js v") == 1  # the library once, four figures
    assert html.count('class="plotly-graph-div"') == 4
    assert EVIL not in html and "&lt;script&gt;" in html
    bundle = static._repr_mimebundle_()
    assert "25 runs" in bundle["text/plain"]
    assert compare(tracker=FakeTracker(make_runs(0)), static=True).figures["parallel"]["data"] == []


def test_auto_static_outside_a_kernel() -> None:
    assert not widgets_available()
    assert isinstance(compare(tracker=FakeTracker(make_runs(3))), StaticPanel)


def test_runs_argument_and_color_name() -> None:
    df = make_runs(20)
    tracker = FakeTracker(df)
    p = compare(tracker=tracker, runs=df.run_id[:5].tolist(), color="m1", static=False)
    assert p.table.total == 5 and p.color == "metrics.m1" and p.live is None
    p.close()
    q = compare(tracker=tracker, runs=df.iloc[:7], static=False)
    assert q.table.total == 7
    q.close()
