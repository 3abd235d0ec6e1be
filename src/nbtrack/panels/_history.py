"""Metric history (value per step) of a few runs: info -> plotly line chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nbtrack.panels import _style
from nbtrack.panels._data import Mode, as_float, metric_mode, short

#: At most this many curves (the selection, else the best runs).
MAX_CURVES = 20


@dataclass(frozen=True)
class Curve:
    """One run's series; NaN/inf values are NaN (drawn as a gap)."""

    run_id: str
    name: str
    steps: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class HistoryInfo:
    """Curves of metric ``key`` and why these runs were picked (``basis``)."""

    key: str | None
    curves: tuple[Curve, ...]
    basis: str


def pick_runs(
    df: pd.DataFrame,
    selected: Sequence[str],
    color: str | None,
    mode: Mode | None = None,
    limit: int = MAX_CURVES,
) -> tuple[list[str], str]:
    """Which runs the history shows: the selection, else the best by ``color``, else the latest.

    >>> df = pd.DataFrame({"run_id": ["a", "b", "c"], "metrics.loss": [3.0, 1.0, 2.0]})
    >>> pick_runs(df, [], "metrics.loss", limit=2)
    (['b', 'c'], 'best 2 by loss')
    """
    ids = [str(i) for i in df["run_id"].tolist()] if "run_id" in df.columns else []
    if selected:
        keep = [i for i in selected if i in set(ids)][:limit]
        return keep, f"{len(keep)} selected runs"
    if color and color in df.columns and len(ids):
        vals = as_float(df[color])
        key = vals if (mode or metric_mode(color)) == "min" else -vals
        order = np.argsort(np.where(np.isfinite(key), key, np.inf), kind="stable")[:limit]
        return [ids[i] for i in order], f"best {len(order)} by {short(color)}"
    return ids[-limit:], f"latest {min(limit, len(ids))} runs"


def longest_series(histories: pd.DataFrame, prefer: str | None = None) -> str | None:
    """The ``metrics.<key>`` with the most points per run (``prefer`` wins ties).

    >>> h = pd.DataFrame({"run_id": ["a", "a", "a"], "key": ["rmse", "loss", "loss"]})
    >>> longest_series(h, "metrics.rmse")
    'metrics.loss'
    """
    if histories is None or not len(histories):
        return None
    counts = histories.groupby(["key", "run_id"]).size().groupby(level=0).max()
    best = counts.max()
    if prefer and short(prefer) in counts.index and counts[short(prefer)] == best:
        return prefer
    return f"metrics.{counts.idxmax()}"


def history_info(
    histories: pd.DataFrame,
    key: str | None,
    run_ids: Sequence[str],
    names: dict[str, str] | None = None,
    basis: str = "",
) -> HistoryInfo:
    """Group ``metric_histories()`` rows (``run_id, key, step, value``) into curves.

    Steps default to the logging order where a run logged without ``step``.

    >>> h = pd.DataFrame({"run_id": ["a", "a"], "key": ["loss", "loss"],
    ...                   "step": [0, 1], "value": [1.0, float("inf")]})
    >>> history_info(h, "metrics.loss", ["a"]).curves[0].values.tolist()
    [1.0, nan]
    """
    names = names or {}
    name = short(key) if key else None
    curves = []
    if name and len(histories):
        rows = histories[histories["key"] == name]
        groups = dict(tuple(rows.groupby("run_id", sort=False))) if len(rows) else {}
        for rid in run_ids:
            g = groups.get(rid)
            if g is None or not len(g):
                continue
            steps = pd.to_numeric(g["step"], errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
            if np.isnan(steps).any():
                steps = np.arange(len(g), dtype="float64")
            vals = pd.to_numeric(g["value"], errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
            vals = np.where(np.isfinite(vals), vals, np.nan)
            order = np.argsort(steps, kind="stable")
            curves.append(Curve(rid, names.get(rid, rid[:8]), steps[order], vals[order]))
    return HistoryInfo(key, tuple(curves), basis)


def history_figure(info: HistoryInfo, height: int = 440) -> dict[str, Any]:
    """Draw :class:`HistoryInfo` as one line per run; gaps stay gaps."""
    if not info.key:
        return _style.message("No metrics logged yet.", "History")
    label = short(info.key)
    if not info.curves:
        return _style.message(
            f"No step history of {label} for these runs (log with nbtrack.log(step=…, …)).",
            "History",
        )
    traces = []
    for c in info.curves:
        few = len(c.steps) < 30
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if few else "lines",
                "name": _style.esc(c.name),
                "x": _style.array(c.steps),
                "y": _style.array(c.values),
                "connectgaps": False,
                "customdata": [c.run_id] * len(c.steps),
                "hovertemplate": f"<b>{_style.esc(c.name)}</b><br>step %{{x}}<br>"
                f"{_style.esc(label)}: %{{y:.4g}}<extra></extra>",
                "line": {"width": 1.8},
                "marker": {"size": 5},
            }
        )
    title = f"{label} per step · {info.basis}" if info.basis else f"{label} per step"
    return {
        "data": traces,
        "layout": _style.layout(
            title,
            height=height,
            xaxis=_style.axis("step"),
            yaxis=_style.axis(label),
            legend={"font": {"size": 11}},
            hovermode="closest",
        ),
    }
