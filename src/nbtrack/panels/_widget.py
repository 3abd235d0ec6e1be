"""The live panel: ipywidgets tabs and pickers around small anywidget plots.

plotly.js (~4.8 MB) is carried by ONE library widget per kernel
(:func:`plotly_lib`); every plot widget only references it, and the browser
evaluates it once per page. Five plotly ``FigureWidget`` s would ship and
parse it five times.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as widgets
import pandas as pd
import traitlets as t

from nbtrack.panels import _style
from nbtrack.panels._contour import contour_figure, contour_info, default_params
from nbtrack.panels._data import (
    Mode,
    best_run,
    fmt,
    metric_mode,
    metrics_of,
    params_of,
    run_labels,
    short,
)
from nbtrack.panels._history import history_figure, history_info, longest_series, pick_runs
from nbtrack.panels._live import LiveLink
from nbtrack.panels._parallel import parallel_figure, parallel_info
from nbtrack.panels._scatter import scatter_figure, scatter_info
from nbtrack.panels._source import Source
from nbtrack.panels._table import PAGE_SIZE, table_info

_HERE = Path(__file__).parent
TABS = ("Runs", "Parallel coordinates", "Scatter", "Contour", "History")


@cache
def _plotly_js() -> tuple[str, str]:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    source = path.read_text(encoding="utf-8")
    head = source[:200]
    version = (
        head.split("plotly.js v", 1)[1].split()[0] if "plotly.js v" in head else plotly.__version__
    )
    return source, version


class PlotlyLib(anywidget.AnyWidget):
    """Carries plotly.js once; plot widgets reference it. Draws nothing."""

    _esm = (_HERE / "_lib.js").read_text(encoding="utf-8")
    source = t.Unicode().tag(sync=True)
    version = t.Unicode().tag(sync=True)


_LIB: PlotlyLib | None = None
_LIB_LOCK = threading.Lock()


def plotly_lib() -> PlotlyLib:
    """The kernel's single plotly.js carrier (re-created if it was closed)."""
    global _LIB
    with _LIB_LOCK:
        if _LIB is None or _LIB.comm is None:
            source, version = _plotly_js()
            _LIB = PlotlyLib(source=source, version=version)
        return _LIB


class Plot(anywidget.AnyWidget):
    """One plotly figure (a JSON dict); ``selected`` holds run ids picked in the browser."""

    _esm = (_HERE / "_plot.js").read_text(encoding="utf-8")
    figure = t.Dict().tag(sync=True)
    selected = t.List(t.Unicode()).tag(sync=True)
    plotly_version = t.Unicode().tag(sync=True)
    _lib = t.Instance(PlotlyLib).tag(sync=True, **widgets.widget_serialization)


class RunsTable(anywidget.AnyWidget):
    """A page of the runs table; sort/page/selection come back from the browser."""

    _esm = (_HERE / "_table.js").read_text(encoding="utf-8")
    _css = (_HERE / "_table.css").read_text(encoding="utf-8")
    columns = t.List(t.Dict()).tag(sync=True)
    rows = t.List(t.List(t.Unicode())).tag(sync=True)
    row_ids = t.List(t.Unicode()).tag(sync=True)
    total = t.Int(0).tag(sync=True)
    page = t.Int(0).tag(sync=True)
    pages = t.Int(1).tag(sync=True)
    sort_by = t.Unicode(None, allow_none=True).tag(sync=True)
    ascending = t.Bool(True).tag(sync=True)
    metric_ascending = t.Bool(True).tag(sync=True)
    best = t.Unicode(None, allow_none=True).tag(sync=True)
    selected = t.List(t.Unicode()).tag(sync=True)


def _dropdown(description: str, width: str = "230px") -> widgets.Dropdown:
    return widgets.Dropdown(
        description=description,
        options=[],
        layout=widgets.Layout(width=width),
        style={"description_width": "initial"},
    )


class ComparePanel(widgets.VBox):  # type: ignore[misc]
    """Tabs of runs table, parallel coordinates, scatter, contour and history.

    Build it with :func:`nbtrack.compare`. ``selected`` is the shared
    selection (run ids); :meth:`refresh` re-reads the runs in place (live
    updates call it); ``runs`` is the frame currently shown.
    """

    selected = t.List(t.Unicode())

    def __init__(
        self,
        source: Source,
        *,
        color: str | None = None,
        mode: Mode | None = None,
        live: bool = True,
    ) -> None:
        self._source = source
        self._lock = threading.RLock()
        self._quiet = False
        self._mode_fixed = mode is not None
        self._history_auto = True
        self._df = pd.DataFrame(columns=["run_id"])
        lib = plotly_lib()
        self.filter_box = widgets.Text(
            value=source.filter or "",
            continuous_update=False,
            description="filter",
            placeholder="metrics.rmse < 6.5 and params.model = 'xgboost'",
            layout=widgets.Layout(flex="1 1 auto", min_width="280px"),
            style={"description_width": "initial"},
        )
        self.color_picker = _dropdown("colour / best", "260px")
        self.mode_picker = widgets.ToggleButtons(
            options=[("min", "min"), ("max", "max")],
            value=mode or "min",
            tooltips=["best = lowest", "best = highest"],
            style={"button_width": "58px"},
        )
        self.status = widgets.HTML()
        self.table = RunsTable()
        self.parallel_plot = Plot(_lib=lib, plotly_version=lib.version)
        self.parallel_axes = widgets.TagsInput(
            allow_duplicates=False, layout=widgets.Layout(width="100%")
        )
        self.scatter_x, self.scatter_y, self.scatter_color = (
            _dropdown("x"),
            _dropdown("y"),
            _dropdown("colour"),
        )
        self.scatter_plot = Plot(_lib=lib, plotly_version=lib.version)
        self.contour_x, self.contour_y, self.contour_z = (
            _dropdown("x"),
            _dropdown("y"),
            _dropdown("metric"),
        )
        self.contour_plot = Plot(_lib=lib, plotly_version=lib.version)
        self.history_key = _dropdown("metric")
        self.history_plot = Plot(_lib=lib, plotly_version=lib.version)
        self.tabs = widgets.Tab(
            children=[
                self.table,
                widgets.VBox(
                    [widgets.HBox([widgets.Label("axes"), self.parallel_axes]), self.parallel_plot]
                ),
                widgets.VBox(
                    [
                        widgets.HBox([self.scatter_x, self.scatter_y, self.scatter_color]),
                        self.scatter_plot,
                    ]
                ),
                widgets.VBox(
                    [
                        widgets.HBox([self.contour_x, self.contour_y, self.contour_z]),
                        self.contour_plot,
                    ]
                ),
                widgets.VBox([widgets.HBox([self.history_key]), self.history_plot]),
            ],
            titles=TABS,
        )
        header = widgets.HBox(
            [self.filter_box, self.color_picker, self.mode_picker],
            layout=widgets.Layout(align_items="center", flex_flow="row wrap"),
        )
        lib_view = widgets.Box([lib], layout=widgets.Layout(display="none"))
        super().__init__(
            [header, self.status, self.tabs, lib_view], layout=widgets.Layout(width="100%")
        )
        self.add_class("nbtrack-panel")
        self.color_picker.value = None
        self._wire()
        self._requested_color = color
        self.live: LiveLink | None = None
        if live and source.events is not None:
            # Trials of worker processes (joblib, Dask, other hosts) announce nothing
            # in this process: poll the store for them while the panel lives.
            watch = getattr(source.tracker, "watch", None)
            self.live = LiveLink(
                self,
                source.events,
                experiment=source.experiment,
                on_close=watch() if watch is not None else None,
            )
        self.refresh()

    # -- wiring ---------------------------------------------------------------------------
    def _wire(self) -> None:
        def on(widget: Any, handler: Any, name: str = "value") -> None:
            widget.observe(lambda change: None if self._quiet else handler(), names=name)

        self.filter_box.observe(lambda c: self._apply_filter(c["new"]), names="value")
        on(self.color_picker, self._color_changed)
        on(self.mode_picker, self._mode_changed)
        on(self.parallel_axes, self._draw_parallel)
        for w in (self.scatter_x, self.scatter_y, self.scatter_color):
            on(w, self._draw_scatter)
        for w in (self.contour_x, self.contour_y, self.contour_z):
            on(w, self._draw_contour)
        on(self.history_key, self._history_picked)
        for name in ("sort_by", "ascending", "page"):
            on(self.table, self._draw_table, name)
        for w in (self.table, self.parallel_plot, self.scatter_plot, self.contour_plot):
            w.observe(lambda c: self._select(c["new"]), names="selected")
        self.observe(lambda c: self._selection_changed(), names="selected")

    def _select(self, ids: Sequence[str]) -> None:
        if list(ids) != list(self.selected):
            self.selected = list(ids)

    @property
    def runs(self) -> pd.DataFrame:
        """The runs currently shown (after the filter box)."""
        return self._df

    @property
    def color(self) -> str | None:
        """The colour / best metric column."""
        value = self.color_picker.value
        return None if value is None else str(value)

    @property
    def mode(self) -> Mode:
        """``"min"`` or ``"max"``: which end of :attr:`color` is best."""
        return self.mode_picker.value  # type: ignore[no-any-return]

    @property
    def best(self) -> str | None:
        """Run id of the best run for :attr:`color`."""
        return best_run(self._df, self.color, self.mode)

    # -- data -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the runs (one query) and update every tab in place."""
        try:
            df = self._source.fetch(self.filter_box.value)
        except ValueError as error:
            self._error(str(error))
            return
        with self._lock:
            self._set_frame(df)

    def _apply_filter(self, text: str) -> None:
        try:
            df = self._source.fetch(text)
        except ValueError as error:  # bad grammar: show it inline, keep what was shown
            self._error(str(error))
            return
        with self._lock:
            self._set_frame(df)

    def _error(self, text: str) -> None:
        self._status(error=text)

    def _set_frame(self, df: pd.DataFrame) -> None:
        self._df = df
        params, metrics = params_of(df), metrics_of(df)
        numeric_first = metrics + params
        self._quiet = True
        try:
            color = self._keep(
                self.color_picker,
                metrics,
                self._requested_color or self.color or _default_metric(metrics),
            )
            self._requested_color = None
            if not self._mode_fixed:
                self.mode_picker.value = metric_mode(color)
            self.table.metric_ascending = self.mode == "min"
            cx, cy = default_params(df, color)
            self._keep(
                self.scatter_x,
                numeric_first,
                self.scatter_x.value or cx or (params[0] if params else None),
            )
            self._keep(self.scatter_y, numeric_first, self.scatter_y.value or color)
            self._keep(
                self.scatter_color,
                numeric_first,
                self.scatter_color.value or (cy if cy else color),
                allow_none=True,
            )
            self._keep(self.contour_x, params, self.contour_x.value or cx)
            self._keep(self.contour_y, params, self.contour_y.value or cy)
            self._keep(self.contour_z, metrics, self.contour_z.value or color)
            self._keep(self.history_key, metrics, self.history_key.value or color)
            self.parallel_axes.allowed_tags = params + metrics
            if self.parallel_axes.value:
                self.parallel_axes.value = [
                    c for c in self.parallel_axes.value if c in params + metrics
                ]
            alive = set(df["run_id"].astype(str)) if "run_id" in df.columns else set()
            self.selected = [i for i in self.selected if i in alive]
        finally:
            self._quiet = False
        self._draw_all()

    @staticmethod
    def _keep(
        picker: widgets.Dropdown, columns: list[str], wanted: str | None, allow_none: bool = False
    ) -> str | None:
        options: list[tuple[str, str | None]] = [(c, c) for c in columns]
        if allow_none:
            options = [("(none)", None), *options]
        if [o[1] for o in picker.options] != [o[1] for o in options]:
            picker.options = options
        value = wanted if wanted in columns else (None if allow_none or not columns else columns[0])
        picker.value = value
        return value

    # -- drawing ----------------------------------------------------------------------------
    def _draw_all(self) -> None:
        self._draw_table()
        self._draw_parallel()
        self._draw_scatter()
        self._draw_contour()
        self._draw_history()
        self._status()

    def _status(self, error: str | None = None) -> None:
        df = self._df
        best = self.best
        parts = [f"<b>{len(df)}</b> runs", f"{len(self.selected)} selected"]
        if best is not None and self.color:
            row = df[df["run_id"].astype(str) == best].iloc[0]
            name = run_labels(row.to_frame().T)[0]
            parts.append(
                f"best: <b>{_style.esc(name)}</b> ({_style.esc(short(self.color))} = "
                f"{_style.esc(fmt(row[self.color]))})"
            )
        if getattr(self, "live", None) is not None:
            parts.append('<span style="color:#2e7d32">● live</span>')
        text = " · ".join(parts)
        if error:
            text += (
                f'<div style="color:#b00020;white-space:pre-wrap">filter error: '
                f"{_style.esc(error)}</div>"
            )
        self.status.value = f'<div style="font-size:12px;color:#444">{text}</div>'

    def _draw_table(self) -> None:
        sort_by = self.table.sort_by if self.table.sort_by in self._df.columns else self.color
        ascending = self.table.ascending if self.table.sort_by == sort_by else self.mode == "min"
        info = table_info(
            self._df,
            sort_by=sort_by,
            ascending=ascending,
            page=self.table.page,
            page_size=PAGE_SIZE,
            color=self.color,
            best=self.best,
        )
        with self.table.hold_sync():
            self.table.columns = [c.__dict__ for c in info.columns]
            self.table.rows = [list(r) for r in info.rows]
            self.table.row_ids = list(info.row_ids)
            self.table.total, self.table.pages, self.table.page = info.total, info.pages, info.page
            self._quiet = True
            self.table.sort_by, self.table.ascending = info.sort_by, info.ascending
            self._quiet = False
            self.table.best = info.best
            self.table.selected = list(self.selected)

    def _draw_parallel(self) -> None:
        columns = list(self.parallel_axes.value) or None
        info = parallel_info(self._df, self.color, mode=self.mode, columns=columns)
        self.parallel_plot.figure = parallel_figure(info)
        if not self.parallel_axes.value and info.dimensions:
            self._quiet = True
            self.parallel_axes.value = [d.axis.column for d in info.dimensions]
            self._quiet = False

    def _draw_scatter(self) -> None:
        info = scatter_info(
            self._df,
            self.scatter_x.value,
            self.scatter_y.value,
            self.scatter_color.value,
            mode=self.mode,
            selected=self.selected,
            best=self.best,
        )
        self.scatter_plot.figure = scatter_figure(info)

    def _draw_contour(self) -> None:
        info = contour_info(
            self._df,
            self.contour_x.value,
            self.contour_y.value,
            self.contour_z.value,
            mode=self.mode,
            selected=self.selected,
        )
        self.contour_plot.figure = contour_figure(info)

    def _history_picked(self) -> None:
        self._history_auto = False
        self._draw_history()

    def _draw_history(self) -> None:
        key = self.history_key.value
        ids, basis = pick_runs(self._df, self.selected, self.color or key, self.mode)
        if self._history_auto and ids:
            # until the user picks one: the metric with the longest step series
            hist = self._source.histories(ids, None)
            key = longest_series(hist, self.color) or key
            self._quiet = True
            if key in [o[1] for o in self.history_key.options]:
                self.history_key.value = key
            self._quiet = False
            self.history_plot.figure = history_figure(
                history_info(hist, key, ids, self._names(), basis)
            )
            return
        hist = (
            self._source.histories(ids, [short(key)] if key else None)
            if ids and key
            else pd.DataFrame()
        )
        self.history_plot.figure = history_figure(
            history_info(hist, key, ids, self._names(), basis)
        )

    def _names(self) -> dict[str, str]:
        if not len(self._df):
            return {}
        return dict(zip(self._df["run_id"].astype(str), run_labels(self._df), strict=True))

    def _color_changed(self) -> None:
        self._quiet = True
        try:
            if not self._mode_fixed:
                self.mode_picker.value = metric_mode(self.color)
            pickers = [self.contour_z] + ([] if self._history_auto else [self.history_key])
            for picker in pickers:
                if self.color in [o[1] for o in picker.options]:
                    picker.value = self.color
            self.parallel_axes.value = []
        finally:
            self._quiet = False
        self._draw_all()

    def _mode_changed(self) -> None:
        self._mode_fixed = True
        self.table.metric_ascending = self.mode == "min"
        self._draw_all()

    def _selection_changed(self) -> None:
        with self._lock:
            self.table.selected = list(self.selected)
            for w in (self.scatter_plot, self.contour_plot, self.parallel_plot):
                if w.selected and set(w.selected) != set(self.selected):
                    w.selected = []
            self._draw_scatter()
            self._draw_contour()
            self._draw_history()
            self._status()

    def close(self) -> None:
        """Stop live updates and close the widgets (the shared plotly library stays)."""
        if self.live is not None:
            self.live.close()
        for w in (
            self.table,
            self.parallel_plot,
            self.scatter_plot,
            self.contour_plot,
            self.history_plot,
        ):
            w.close()
        super().close()


def _default_metric(metrics: list[str]) -> str | None:
    return metrics[0] if metrics else None
