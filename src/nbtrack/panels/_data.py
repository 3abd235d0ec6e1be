"""Shared pure helpers: which columns are params/metrics, axes, best run.

Everything here is a pure function of a ``runs()`` DataFrame (columns
``run_id``, ``run_name``, ``params.<k>``, ``metrics.<k>``, ``tags.<k>`` …), so
the plot modules can be tested without a store, a kernel or a browser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Kind = Literal["numeric", "categorical"]
Mode = Literal["min", "max"]

PARAM, METRIC, TAG = "params.", "metrics.", "tags."
#: A positive numeric column gets a log axis when max/min reaches this ratio.
LOG_RATIO = 100.0
#: Metric names (substrings) where bigger is better; every other metric is minimised.
_MAXIMISED = (
    "acc",
    "auc",
    "f1",
    "r2",
    "score",
    "precision",
    "recall",
    "map",
    "ndcg",
    "iou",
    "dice",
    "bleu",
    "rouge",
    "reward",
    "return",
    "gain",
    "throughput",
    "spearman",
)


def params_of(df: pd.DataFrame) -> list[str]:
    """Param columns in frame order.

    >>> params_of(pd.DataFrame(columns=["run_id", "params.lr", "metrics.rmse"]))
    ['params.lr']
    """
    return [c for c in df.columns if str(c).startswith(PARAM)]


def metrics_of(df: pd.DataFrame) -> list[str]:
    """Metric columns in frame order."""
    return [c for c in df.columns if str(c).startswith(METRIC)]


def short(column: str) -> str:
    """``params.lr`` -> ``lr``; other names unchanged."""
    for prefix in (PARAM, METRIC, TAG):
        if column.startswith(prefix):
            return column[len(prefix) :]
    return column


def labels_for(columns: Sequence[str]) -> dict[str, str]:
    """Short labels, keeping the prefix only where two columns would collide.

    >>> labels_for(["params.lr", "metrics.rmse", "metrics.lr"])
    {'params.lr': 'params.lr', 'metrics.rmse': 'rmse', 'metrics.lr': 'metrics.lr'}
    """
    counts: dict[str, int] = {}
    for c in columns:
        counts[short(c)] = counts.get(short(c), 0) + 1
    return {c: short(c) if counts[short(c)] == 1 else c for c in columns}


def metric_mode(column: str | None) -> Mode:
    """Guess whether a metric is minimised or maximised from its name.

    >>> metric_mode("metrics.val_accuracy"), metric_mode("metrics.rmse")
    ('max', 'min')
    """
    name = short(column or "").lower()
    return "max" if any(part in name for part in _MAXIMISED) else "min"


def varies(series: pd.Series) -> bool:
    """True when a column holds at least two distinct values (missing counts as one)."""
    if len(series) < 2:
        return False
    return bool(series.nunique(dropna=False) > 1)


def _is_numeric(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series.dtype):
        return False
    if pd.api.types.is_numeric_dtype(series.dtype):
        return True
    if series.dtype != object:
        return False
    present = series.dropna()
    return len(present) > 0 and all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        for v in present
    )


def as_float(series: pd.Series) -> np.ndarray:
    """A numeric column as float64 with missing as NaN (±inf kept)."""
    values = pd.to_numeric(series, errors="coerce")
    return np.asarray(values.to_numpy(dtype="float64", na_value=np.nan), dtype="float64")


def as_text(series: pd.Series) -> list[str | None]:
    """Each value as display text, ``None`` where missing."""
    out: list[str | None] = []
    for v in series.tolist():
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out.append(None)
        else:
            out.append(str(v))
    return out


@dataclass(frozen=True)
class Axis:
    """One column mapped onto a plot axis.

    ``values`` are plot coordinates: the numbers themselves for numeric axes
    (``log10`` of them when ``log``), category codes ``0..k-1`` for
    categorical ones. NaN marks a missing (or non-finite) value: a gap.
    """

    column: str
    label: str
    kind: Kind
    values: np.ndarray
    lo: float
    hi: float
    log: bool = False
    categories: tuple[str, ...] = ()
    n_missing: int = 0
    n_nonfinite: int = 0

    def raw(self) -> np.ndarray:
        """Coordinates back in data units (``10**v`` on log axes)."""
        return np.power(10.0, self.values) if self.log else self.values


def build_axis(
    df: pd.DataFrame,
    column: str,
    label: str | None = None,
    *,
    order_by: np.ndarray | None = None,
    log: bool | None = None,
) -> Axis:
    """Encode ``df[column]`` as an :class:`Axis`.

    Numbers stay numbers (log scale when positive and spanning ``LOG_RATIO``);
    anything else is categorical with its full text as the label. Categories
    are sorted by text, or by the mean of ``order_by`` (e.g. the metric a
    contour shows) so that a categorical axis becomes an *ordered* one.

    >>> ax = build_axis(pd.DataFrame({"params.lr": [1e-4, 1e-2, None]}), "params.lr")
    >>> ax.kind, ax.log, ax.n_missing
    ('numeric', True, 1)
    """
    series = df[column] if column in df.columns else pd.Series([None] * len(df), dtype=object)
    label = label or short(column)
    if _is_numeric(series):
        raw = as_float(series)
        finite = np.isfinite(raw)
        n_missing = int(np.isnan(raw).sum())
        n_nonfinite = int((~finite).sum()) - n_missing
        vals = np.where(finite, raw, np.nan)
        good = vals[finite]
        if log is None:
            log = bool(good.size and good.min() > 0 and good.max() / good.min() >= LOG_RATIO)
        if log:
            with np.errstate(divide="ignore", invalid="ignore"):
                vals = np.where(vals > 0, np.log10(vals), np.nan)
            good = vals[np.isfinite(vals)]
        lo, hi = _span(good)
        return Axis(column, label, "numeric", vals, lo, hi, bool(log), (), n_missing, n_nonfinite)
    text = as_text(series)
    present = sorted({t for t in text if t is not None})
    if order_by is not None and present:
        metric = np.asarray(order_by, dtype="float64")
        means = {}
        for cat in present:
            picked = metric[[t == cat for t in text]]
            picked = picked[np.isfinite(picked)]
            means[cat] = picked.mean() if picked.size else math.inf
        present.sort(key=lambda c: (means[c], c))
    codes = {c: i for i, c in enumerate(present)}
    vals = np.array([np.nan if t is None else codes[t] for t in text], dtype="float64")
    n_missing = sum(t is None for t in text)
    lo, hi = (0.0, float(len(present) - 1)) if present else (0.0, 1.0)
    return Axis(column, label, "categorical", vals, lo, hi, False, tuple(present), n_missing, 0)


def _span(good: np.ndarray) -> tuple[float, float]:
    if good.size == 0:
        return 0.0, 1.0
    lo, hi = float(good.min()), float(good.max())
    if lo == hi:  # a constant column still gets a readable axis around its value
        pad = 0.5 if lo == 0 else abs(lo) * 0.1
        return lo - pad, hi + pad
    return lo, hi


def best_run(df: pd.DataFrame, metric: str | None, mode: Mode = "min") -> str | None:
    """Run id with the best finite value of ``metric``, or None.

    >>> df = pd.DataFrame({"run_id": ["a", "b"], "metrics.rmse": [2.0, float("nan")]})
    >>> best_run(df, "metrics.rmse")
    'a'
    """
    if not metric or metric not in df.columns or df.empty:
        return None
    vals = as_float(df[metric])
    ok = np.isfinite(vals)
    if not ok.any():
        return None
    idx = np.where(ok, vals if mode == "min" else -vals, np.inf).argmin()
    return str(df["run_id"].iloc[int(idx)])


def run_labels(df: pd.DataFrame) -> list[str]:
    """The name a person recognises a run by: ``run_name`` or a short id."""
    ids = [str(i) for i in df["run_id"].tolist()] if "run_id" in df.columns else []
    names = as_text(df["run_name"]) if "run_name" in df.columns else [None] * len(ids)
    return [n if n else i[:8] for n, i in zip(names, ids, strict=True)]


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick positions covering ``[lo, hi]``.

    >>> nice_ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12) + 0.0)
        t += step
    return ticks


def fmt(value: object) -> str:
    """Compact display text: 4 significant digits for floats, '' for missing.

    >>> fmt(0.000123456), fmt(float("inf")), fmt(None), fmt(12)
    ('0.0001235', 'inf', '', '12')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.4g}"
    if isinstance(value, pd.Timestamp):
        return str(value.strftime("%Y-%m-%d %H:%M:%S"))
    return str(value)
