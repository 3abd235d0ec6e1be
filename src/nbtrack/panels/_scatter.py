"""Scatter of any two params/metrics, coloured by a third: info -> plotly dict."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nbtrack.panels import _style
from nbtrack.panels._data import Axis, Mode, build_axis, metric_mode, run_labels


@dataclass(frozen=True)
class ScatterInfo:
    """Points to draw; runs missing x or y are counted in ``n_hidden`` (a gap, not a crash)."""

    x: Axis | None
    y: Axis | None
    color: Axis | None
    mode: Mode
    run_ids: tuple[str, ...]
    names: tuple[str, ...]
    selected: np.ndarray
    best: str | None
    n_hidden: int


def scatter_info(
    df: pd.DataFrame,
    x: str | None,
    y: str | None,
    color: str | None = None,
    *,
    mode: Mode | None = None,
    selected: Collection[str] = (),
    best: str | None = None,
) -> ScatterInfo:
    """Build the scatter info; ``x``/``y``/``color`` are ``runs()`` column names.

    >>> df = pd.DataFrame({"run_id": ["a", "b"], "run_name": ["r1", None],
    ...                    "params.lr": [0.1, None], "metrics.rmse": [1.0, 2.0]})
    >>> info = scatter_info(df, "params.lr", "metrics.rmse")
    >>> info.names, info.n_hidden
    (('r1', 'b'), 1)
    """
    ids = tuple(str(i) for i in df["run_id"].tolist()) if "run_id" in df.columns else ()
    ax = build_axis(df, x) if x else None
    ay = build_axis(df, y) if y else None
    ac = build_axis(df, color, log=False) if color and color in df.columns else None
    shown = np.ones(len(df), dtype=bool)
    for a in (ax, ay):
        if a is not None:
            shown &= ~np.isnan(a.values)
    chosen = set(selected)
    sel = np.array([i in chosen for i in ids], dtype=bool)
    return ScatterInfo(
        ax,
        ay,
        ac,
        mode or metric_mode(color),
        ids,
        tuple(run_labels(df)),
        sel,
        best,
        int((~shown).sum()) if ax and ay else 0,
    )


def axis_layout(a: Axis) -> dict[str, Any]:
    """Plotly axis for an :class:`Axis`: log type, or category names as tick text."""
    if a.kind == "categorical":
        return _style.axis(
            a.label,
            tickvals=list(range(len(a.categories))),
            ticktext=[_style.esc(c) for c in a.categories],
            range=[a.lo - 0.5, a.hi + 0.5],
            zeroline=False,
        )
    if a.log:
        return _style.axis(a.label, type="log")
    return _style.axis(a.label)


def _column_text(a: Axis) -> np.ndarray:
    if a.kind == "categorical":
        cats = np.array([_style.esc(c) for c in a.categories] + [""], dtype=object)
        codes = np.where(np.isnan(a.values), len(a.categories), a.values).astype(int)
        return np.asarray(cats[codes], dtype=object)
    raw = a.raw()
    text = np.char.mod("%.4g", np.where(np.isnan(raw), 0.0, raw)).astype(object)
    text[np.isnan(raw)] = ""
    return text


def _hover(info: ScatterInfo) -> list[str]:
    """Hover text per run: its name, then x, y and colour (all escaped)."""
    seen: set[str] = set()
    out = np.array([f"<b>{_style.esc(n)}</b>" for n in info.names], dtype=object)
    for a in (info.x, info.y, info.color):
        if a is None or a.column in seen:
            continue
        seen.add(a.column)
        out = out + f"<br>{_style.esc(a.label)}: " + _column_text(a)
    return out.tolist()  # type: ignore[no-any-return]


def scatter_figure(info: ScatterInfo, height: int = 460) -> dict[str, Any]:
    """Draw :class:`ScatterInfo`; selected runs get a red ring, the best run a star."""
    if not info.run_ids:
        return _style.message("No runs to compare yet.", "Scatter")
    if info.x is None or info.y is None:
        return _style.message("Pick x and y.", "Scatter")
    x, y = info.x.raw(), info.y.raw()
    marker: dict[str, Any] = {"size": 9, "opacity": 0.85, "line": {"width": 0.5, "color": "#fff"}}
    if info.color is not None:
        marker.update(
            color=_style.array(info.color.values),
            colorscale=_style.COLORSCALE,
            reversescale=info.mode == "max",
            showscale=True,
            colorbar={"title": {"text": _style.esc(info.color.label)}, "thickness": 12},
        )
    if info.selected.any():
        marker["opacity"] = 0.35
    traces: list[dict[str, Any]] = [
        {
            "type": "scattergl" if len(x) > 2000 else "scatter",
            "mode": "markers",
            "name": "runs",
            "showlegend": False,
            "x": _style.array(x),
            "y": _style.array(y),
            "customdata": list(info.run_ids),
            "text": _hover(info),
            "hovertemplate": "%{text}<extra></extra>",
            "marker": marker,
        }
    ]
    sel = np.flatnonzero(info.selected)
    if sel.size:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "selected",
                "showlegend": True,
                "x": _style.array(x[sel]),
                "y": _style.array(y[sel]),
                "customdata": [info.run_ids[i] for i in sel],
                "hoverinfo": "skip",
                "marker": {
                    "size": 15,
                    "color": "rgba(0,0,0,0)",
                    "line": {"width": 2.5, "color": _style.ACCENT},
                },
            }
        )
    if info.best in info.run_ids:
        b = info.run_ids.index(info.best)
        if np.isfinite(x[b]) and np.isfinite(y[b]):
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": f"best: {_style.esc(info.names[b])}",
                    "x": [float(x[b])],
                    "y": [float(y[b])],
                    "hoverinfo": "skip",
                    "showlegend": True,
                    "marker": {
                        "symbol": "star",
                        "size": 18,
                        "color": "#ffd60a",
                        "line": {"width": 1.5, "color": "#333"},
                    },
                }
            )
    title = f"{_style.esc(info.y.label)} vs {_style.esc(info.x.label)}"
    if info.n_hidden:
        title += f" · {info.n_hidden} runs without a value not shown"
    lay = _style.layout(
        "",
        height=height,
        xaxis=axis_layout(info.x),
        yaxis=axis_layout(info.y),
        dragmode="lasso",
        clickmode="event",
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
    )
    lay["title"]["text"] = title
    return {"data": traces, "layout": lay}
