"""Contour of a metric over two params: info (with the interpolated grid) -> plotly dict.

Interpolation is numpy-only (scipy is not a core dependency): runs are binned
onto a regular grid, empty cells are seeded by inverse-distance weighting of
the filled ones and then relaxed towards a harmonic (Laplace) surface that
passes exactly through the binned runs. Categorical params are not refused:
their categories become an ordered axis (sorted by the metric's mean), one
grid line per category. Log-scaled params are interpolated in log space.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nbtrack.panels import _style
from nbtrack.panels._data import Axis, Mode, build_axis, metric_mode, params_of, run_labels, varies
from nbtrack.panels._scatter import axis_layout

GRID = 48
_RELAX_STEPS = 160


@dataclass(frozen=True)
class ContourInfo:
    """The grid (``z[j, i]`` at ``gx[i], gy[j]``, plot coordinates) and the runs on top.

    ``reason`` says why nothing can be drawn (fewer than two varying params,
    no finite metric value …); the grid is then empty.
    """

    x: Axis | None
    y: Axis | None
    z: Axis | None
    mode: Mode
    gx: np.ndarray
    gy: np.ndarray
    grid: np.ndarray
    run_ids: tuple[str, ...]
    names: tuple[str, ...]
    selected: np.ndarray
    reason: str | None = None


def default_params(df: pd.DataFrame, metric: str | None) -> tuple[str | None, str | None]:
    """The two varying params that explain most of ``metric``, else the first two.

    "Explain" is the correlation ratio (share of the metric's variance between
    groups of runs with similar param values: up to five quantile bins for
    numbers, one group per category), so a U-shaped effect counts too.

    >>> df = pd.DataFrame({"params.a": [1, 2, 3, 4], "params.b": [1, 1, 1, 1],
    ...                    "params.c": [3, 1, 2, 4], "params.d": [1, 1, 2, 2],
    ...                    "metrics.m": [4, 1, 1, 4]})
    >>> default_params(df, "metrics.m")
    ('params.a', 'params.c')
    """
    cand = [c for c in params_of(df) if varies(df[c])]
    if metric and metric in df.columns and len(cand) > 2:
        m = build_axis(df, metric, log=False).values
        scores = {c: _explained(build_axis(df, c), m) for c in cand}
        cand = sorted(cand, key=lambda c: -scores[c])
    picked: list[str | None] = [*cand[:2], None, None]
    return picked[0], picked[1]


def _explained(axis: Axis, metric: np.ndarray) -> float:
    ok = np.isfinite(axis.values) & np.isfinite(metric)
    if ok.sum() < 3:
        return 0.0
    v, m = axis.values[ok], metric[ok]
    if axis.kind == "numeric" and len(np.unique(v)) > 5:
        edges = np.quantile(v, [0.2, 0.4, 0.6, 0.8])
        groups = np.searchsorted(edges, v)
    else:
        groups = np.unique(v, return_inverse=True)[1]
    total = float(((m - m.mean()) ** 2).sum())
    if total == 0:
        return 0.0
    sums = np.bincount(groups, weights=m)
    counts = np.bincount(groups)
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    between = float((counts * (means - m.mean()) ** 2).sum())
    return between / total


def contour_info(
    df: pd.DataFrame,
    x: str | None,
    y: str | None,
    z: str | None,
    *,
    mode: Mode | None = None,
    selected: Collection[str] = (),
    grid: int = GRID,
) -> ContourInfo:
    """Interpolate metric ``z`` over params ``x`` and ``y``.

    >>> df = pd.DataFrame({"run_id": list("abcd"), "params.x": [0, 1, 0, 1],
    ...                    "params.y": [0, 0, 1, 1], "metrics.m": [0.0, 1, 1, 2]})
    >>> info = contour_info(df, "params.x", "params.y", "metrics.m", grid=5)
    >>> info.grid.shape, float(info.grid[0, 0]), float(info.grid[-1, -1])
    ((5, 5), 0.0, 2.0)
    """
    ids = tuple(str(i) for i in df["run_id"].tolist()) if "run_id" in df.columns else ()
    chosen = set(selected)
    sel = np.array([i in chosen for i in ids], dtype=bool)
    names = tuple(run_labels(df)) if ids else ()
    mode = mode or metric_mode(z)
    empty = np.empty((0, 0))

    def fail(
        reason: str, ax: Axis | None = None, ay: Axis | None = None, az: Axis | None = None
    ) -> ContourInfo:
        return ContourInfo(
            ax, ay, az, mode, np.empty(0), np.empty(0), empty, ids, names, sel, reason
        )

    if not ids:
        return fail("No runs to compare yet.")
    if not x or not y or x == y:
        return fail("A contour needs two different params that vary across runs.")
    if not z or z not in df.columns:
        return fail("Pick a metric to draw.")
    az = build_axis(df, z, log=False)
    ax = build_axis(df, x, order_by=az.values)
    ay = build_axis(df, y, order_by=az.values)
    ok = np.isfinite(ax.values) & np.isfinite(ay.values) & np.isfinite(az.values)
    if not ok.any():
        return fail(
            f"No run has {ax.label}, {ay.label} and a finite {az.label} together.", ax, ay, az
        )
    gx, gy = _grid_axis(ax, ok, grid), _grid_axis(ay, ok, grid)
    z_grid = interpolate(ax.values[ok], ay.values[ok], az.values[ok], gx, gy)
    return ContourInfo(ax, ay, az, mode, gx, gy, z_grid, ids, names, sel)


def _grid_axis(a: Axis, ok: np.ndarray, n: int) -> np.ndarray:
    if a.kind == "categorical":
        return np.arange(len(a.categories), dtype="float64")
    vals = a.values[ok]
    lo, hi = float(vals.min()), float(vals.max())
    if lo == hi:
        lo, hi = a.lo, a.hi
    pad = (hi - lo) * 0.04
    return np.linspace(lo - pad, hi + pad, n)


def interpolate(
    px: np.ndarray, py: np.ndarray, pz: np.ndarray, gx: np.ndarray, gy: np.ndarray
) -> np.ndarray:
    """Fill a ``(len(gy), len(gx))`` grid from scattered points, numpy only.

    Points are averaged into their nearest cell; other cells start from an
    inverse-distance-weighted guess and are relaxed (Jacobi steps of the
    Laplace equation) with the data cells held fixed, which gives a smooth
    surface through the data without IDW's bull's-eyes.

    >>> g = interpolate(np.array([0., 1.]), np.array([0., 0.]), np.array([0., 10.]),
    ...                 np.linspace(0, 1, 3), np.array([0.]))
    >>> [round(float(v), 6) for v in g[0]]
    [0.0, 5.0, 10.0]
    """
    ix = _nearest(gx, px)
    iy = _nearest(gy, py)
    ny, nx = len(gy), len(gx)
    total = np.zeros(ny * nx)
    count = np.zeros(ny * nx)
    flat = iy * nx + ix
    np.add.at(total, flat, pz)
    np.add.at(count, flat, 1.0)
    known = count > 0
    z = np.full(ny * nx, np.nan)
    z[known] = total[known] / count[known]
    if known.all():
        return z.reshape(ny, nx)
    if known.sum() == 1:
        return np.full((ny, nx), z[known][0])
    # seed by IDW in grid-index units (so both axes weigh the same)
    kx, ky = (np.flatnonzero(known) % nx).astype(float), (np.flatnonzero(known) // nx).astype(float)
    ux, uy = (
        (np.flatnonzero(~known) % nx).astype(float),
        (np.flatnonzero(~known) // nx).astype(float),
    )
    d2 = (ux[:, None] - kx[None, :]) ** 2 + (uy[:, None] - ky[None, :]) ** 2
    w = 1.0 / d2
    z[~known] = (w @ z[known]) / w.sum(axis=1)
    z2 = z.reshape(ny, nx)
    fixed = known.reshape(ny, nx)
    for _ in range(_RELAX_STEPS):
        p = np.pad(z2, 1, mode="edge")
        avg = (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]) / 4.0
        z2 = np.where(fixed, z2, avg)
    return z2


def _nearest(grid: np.ndarray, values: np.ndarray) -> np.ndarray:
    if len(grid) == 1:
        return np.zeros(len(values), dtype=int)
    idx = np.clip(np.searchsorted(grid, values), 1, len(grid) - 1)
    left = grid[idx - 1]
    right = grid[idx]
    return np.where(values - left <= right - values, idx - 1, idx)


def _to_raw(a: Axis, v: np.ndarray) -> np.ndarray:
    return np.power(10.0, v) if a.log else v


def contour_figure(info: ContourInfo, height: int = 480) -> dict[str, Any]:
    """Draw :class:`ContourInfo`: a filled contour, the runs as dots, selected runs ringed."""
    if info.reason or info.x is None or info.y is None or info.z is None:
        return _style.message(info.reason or "Nothing to draw.", "Contour")
    ax, ay, az = info.x, info.y, info.z
    traces: list[dict[str, Any]] = [
        {
            "type": "contour",
            "name": _style.esc(az.label),
            "x": _style.array(_to_raw(ax, info.gx)),
            "y": _style.array(_to_raw(ay, info.gy)),
            "z": [_style.array(row) for row in info.grid],
            "colorscale": _style.COLORSCALE,
            "reversescale": info.mode == "max",
            "contours": {
                "coloring": "heatmap",
                "showlabels": True,
                "labelfont": {"size": 10, "color": "white"},
            },
            "line": {"smoothing": 0.85, "width": 0.5, "color": "rgba(255,255,255,0.5)"},
            "colorbar": {"title": {"text": _style.esc(az.label)}, "thickness": 12},
            "hovertemplate": (
                f"{_style.esc(ax.label)}: %{{x}}<br>{_style.esc(ay.label)}: %{{y}}<br>"
                f"{_style.esc(az.label)} ≈ %{{z:.4g}}<extra>interpolated</extra>"
            ),
        }
    ]
    ok = np.isfinite(ax.values) & np.isfinite(ay.values)
    idx = np.flatnonzero(ok)
    zt = [("" if not np.isfinite(v) else f"{v:.4g}") for v in az.values[idx]]
    traces.append(
        {
            "type": "scattergl" if len(idx) > 2000 else "scatter",
            "mode": "markers",
            "name": "runs",
            "x": _style.array(ax.raw()[idx]),
            "y": _style.array(ay.raw()[idx]),
            "customdata": [info.run_ids[i] for i in idx],
            "text": [
                f"<b>{_style.esc(info.names[i])}</b><br>{_style.esc(az.label)}: {t}"
                for i, t in zip(idx, zt, strict=True)
            ],
            "hovertemplate": "%{text}<extra></extra>",
            "showlegend": False,
            "marker": {"size": 7, "color": "white", "line": {"width": 1, "color": "#222"}},
        }
    )
    sel = idx[info.selected[idx]] if info.selected.size else idx[:0]
    if sel.size:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "selected",
                "hoverinfo": "skip",
                "x": _style.array(ax.raw()[sel]),
                "y": _style.array(ay.raw()[sel]),
                "marker": {
                    "size": 14,
                    "color": "rgba(0,0,0,0)",
                    "line": {"width": 2.5, "color": _style.ACCENT},
                },
            }
        )
    xl, yl = axis_layout(ax), axis_layout(ay)
    for a, lay, g in ((ax, xl, info.gx), (ay, yl, info.gy)):
        if a.kind == "numeric":
            lay["range"] = [float(g[0]), float(g[-1])]
        lay["showgrid"] = False
    title = f"{az.label} over {ax.label} × {ay.label} · {len(idx)} runs"
    return {
        "data": traces,
        "layout": _style.layout(
            title, height=height, xaxis=xl, yaxis=yl, clickmode="event", showlegend=False
        ),
    }
