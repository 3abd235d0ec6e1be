"""Parallel coordinates: runs -> :class:`ParallelInfo` -> plotly ``parcoords`` dict.

Unlike MLflow's, the default axes are only the columns that vary, labels are
never truncated, strings are categorical axes with their full text, columns
that span decades get a log axis, and missing values sit in their own
"missing" slot at the foot of the axis instead of dropping the run's line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nbtrack.panels import _style
from nbtrack.panels._data import (
    Axis,
    Mode,
    build_axis,
    fmt,
    labels_for,
    metric_mode,
    metrics_of,
    nice_ticks,
    params_of,
    varies,
)

MISSING = "∅ missing"
_MAX_TICKS = 25


@dataclass(frozen=True)
class Dimension:
    """One parcoords axis: coordinates (missing moved to ``missing_at``), range, ticks."""

    axis: Axis
    values: np.ndarray
    range: tuple[float, float]
    tickvals: tuple[float, ...]
    ticktext: tuple[str, ...]
    missing_at: float | None


@dataclass(frozen=True)
class ParallelInfo:
    """Everything the drawing needs; rows are ordered worst-first so the best line is on top."""

    dimensions: tuple[Dimension, ...]
    color: Axis | None
    mode: Mode
    run_ids: tuple[str, ...]
    available: tuple[str, ...]
    hidden: tuple[str, ...]


def parallel_info(
    df: pd.DataFrame,
    color: str | None = None,
    *,
    mode: Mode | None = None,
    columns: Sequence[str] | None = None,
    extra: Sequence[str] = (),
) -> ParallelInfo:
    """Build the parallel-coordinates info for ``runs()`` output.

    ``columns`` fixes the axes; otherwise the params and metrics that vary
    (all of them for a single run), plus ``extra``. The colour metric is the
    last axis.

    >>> df = pd.DataFrame({"run_id": ["a", "b"], "params.lr": [0.1, 0.2],
    ...                    "params.seed": [1, 1], "metrics.rmse": [3.0, 2.0]})
    >>> info = parallel_info(df, "metrics.rmse")
    >>> [d.axis.label for d in info.dimensions], info.hidden
    (['lr', 'rmse'], ('params.seed',))
    """
    available = params_of(df) + metrics_of(df)
    if columns is not None:
        chosen = [c for c in columns if c in available]
        hidden: list[str] = [c for c in available if c not in chosen]
    else:
        chosen = available if len(df) <= 1 else [c for c in available if varies(df[c])]
        hidden = [c for c in available if c not in chosen]
        chosen += [c for c in extra if c in available and c not in chosen]
        hidden = [c for c in hidden if c not in chosen]
    if color in chosen:  # the colour metric reads best as the right-most axis
        chosen = [c for c in chosen if c != color] + [color]
    mode = mode or metric_mode(color)
    color_axis = None
    order = np.arange(len(df))
    if color and color in df.columns:
        color_axis = build_axis(df, color, log=False)
        key = color_axis.values if mode == "max" else -color_axis.values
        # worst first, missing first of all: plotly draws later lines on top
        order = np.argsort(np.where(np.isnan(key), -np.inf, key), kind="stable")
    labels = labels_for(chosen)
    dims = tuple(_dimension(build_axis(df, c, labels[c]), order) for c in chosen)
    if color_axis is not None:
        color_axis = _reorder(color_axis, order)
    ids = (
        tuple(str(i) for i in np.asarray(df["run_id"].tolist(), dtype=object)[order])
        if len(df)
        else ()
    )
    return ParallelInfo(dims, color_axis, mode, ids, tuple(available), tuple(hidden))


def _reorder(axis: Axis, order: np.ndarray) -> Axis:
    return Axis(
        axis.column,
        axis.label,
        axis.kind,
        axis.values[order],
        axis.lo,
        axis.hi,
        axis.log,
        axis.categories,
        axis.n_missing,
        axis.n_nonfinite,
    )


def _dimension(axis: Axis, order: np.ndarray) -> Dimension:
    values = axis.values[order] if len(order) else axis.values
    lo, hi = axis.lo, axis.hi
    if axis.kind == "categorical":
        ticks = [float(i) for i in range(len(axis.categories))]
        text = list(axis.categories)
        step = math.ceil(len(ticks) / _MAX_TICKS) if ticks else 1
        ticks, text = ticks[::step], text[::step]
        pad = 0.25
    elif axis.log:
        ticks = [
            float(d)
            for d in range(math.floor(lo), math.ceil(hi) + 1)
            if lo - 1e-9 <= d <= hi + 1e-9
        ]
        if len(ticks) < 3:
            ticks = [math.log10(v) for v in _log_ticks(lo, hi)]
        text = [fmt(10.0**t) for t in ticks]
        pad = 0.0
    else:
        ticks = nice_ticks(lo, hi)
        text = [fmt(t) for t in ticks]
        pad = 0.0
    lo, hi = lo - pad, hi + pad
    missing_at = None
    if np.isnan(values).any():
        missing_at = lo - max(hi - lo, 1e-12) * 0.12
        values = np.where(np.isnan(values), missing_at, values)
        ticks, text = [missing_at, *ticks], [MISSING, *text]
        lo = missing_at
    return Dimension(axis, values, (lo, hi), tuple(ticks), tuple(text), missing_at)


def _log_ticks(lo: float, hi: float) -> list[float]:
    out = []
    for d in range(math.floor(lo), math.ceil(hi) + 1):
        for m in (1, 2, 5):
            v = m * 10.0**d
            if lo - 1e-9 <= math.log10(v) <= hi + 1e-9:
                out.append(v)
    return out or [10.0**lo]


def _colorscale_with_grey(reverse: bool) -> list[list[Any]]:
    stops = [
        "#440154",
        "#482878",
        "#3e4989",
        "#31688e",
        "#26828e",
        "#1f9e89",
        "#35b779",
        "#6ece58",
        "#b5de2b",
        "#fde725",
    ]
    if reverse:
        stops = stops[::-1]
    eps = 0.02
    scale: list[list[Any]] = [[0.0, "#c7c7c7"], [eps * 0.999, "#c7c7c7"]]
    scale += [[eps + (1 - eps) * i / (len(stops) - 1), c] for i, c in enumerate(stops)]
    return scale


def parallel_figure(info: ParallelInfo, height: int = 480) -> dict[str, Any]:
    """Draw :class:`ParallelInfo` as a plotly figure dict (thin: no decisions here)."""
    if not info.run_ids:
        return _style.message("No runs to compare yet.", "Parallel coordinates")
    if not info.dimensions:
        return _style.message(
            "Nothing varies across these runs: add axes with the picker.", "Parallel coordinates"
        )
    long_labels = len(info.dimensions) > 6 or max(len(d.axis.label) for d in info.dimensions) > 14
    trace: dict[str, Any] = {
        "type": "parcoords",
        "labelangle": -20 if long_labels else 0,
        "labelside": "top",
        "labelfont": {"size": 12},
        "tickfont": {"size": 10},
        "rangefont": {"size": 1, "color": "rgba(0,0,0,0)"},
        "unselected": {"line": {"opacity": 0.08}},
        "dimensions": [
            {
                "label": _style.esc(d.axis.label),
                "values": _style.array(d.values, "f4"),
                "range": list(d.range),
                "tickvals": list(d.tickvals),
                # parcoords draws tick text as plain SVG text (no markup): no escaping
                "ticktext": list(d.ticktext),
            }
            for d in info.dimensions
        ],
    }
    if info.color is not None:
        c = info.color
        vals = c.values
        cmin, cmax = c.lo, c.hi
        line: dict[str, Any] = {
            "showscale": True,
            "colorbar": {"title": {"text": _style.esc(c.label)}, "thickness": 12},
        }
        if np.isnan(vals).any():
            eps = 0.02
            floor = cmin - (cmax - cmin) * eps / (1 - eps)
            vals = np.where(np.isnan(vals), floor, vals)
            line.update(colorscale=_colorscale_with_grey(info.mode == "max"), cmin=floor, cmax=cmax)
        else:
            line.update(
                colorscale=_style.COLORSCALE, reversescale=info.mode == "max", cmin=cmin, cmax=cmax
            )
        line["color"] = _style.array(vals, "f4")
        trace["line"] = line
    else:
        trace["line"] = {"color": "#1f77b4"}
    top = 130 if long_labels else 95
    title = f"{len(info.run_ids)} runs" + (f" · colour: {info.color.label}" if info.color else "")
    return {
        "data": [trace],
        "layout": _parcoords_layout(title, height, top, list(info.run_ids)),
    }


def _parcoords_layout(title: str, height: int, top: int, run_ids: list[str]) -> dict[str, Any]:
    lay = _style.layout(
        title,
        height=height,
        margin={"l": 60, "r": 60, "t": top, "b": 30},
        meta={"run_ids": run_ids},
    )
    # title in the top strip, clear of the axis labels below it
    lay["title"].update(
        y=0.985,
        yref="container",
        yanchor="top",
        subtitle={"text": "drag along an axis to select runs"},
    )
    return lay
