"""Param importance: which params move a metric, from a ``runs()`` DataFrame (NumPy only).

The method is a first-order variance decomposition (the main-effect part of
fANOVA) estimated by grouping runs, with the small-sample bias removed:

1. The metric is replaced by its ranks, so one diverging trial (loss 1e6)
   cannot make whichever param caused it "explain everything".
2. Each param splits the runs into groups: one per category for strings and
   booleans, quantile bins for numbers (about √n bins, at most 10, so each
   holds several runs; bins ignore the scale, so log-uniform params need no
   special case), missing values as a group of their own.
3. The share of the metric's variance *between* those groups is the
   correlation ratio η². With g groups over n runs, pure noise scores
   (g-1)/(n-1) on average, so η² is corrected to ε² = (SS_between - (g-1)·MS_within)
   / SS_total (Kelley's epsilon squared), clipped at 0: a param that does not
   matter scores about 0 even with 15 runs.
4. Importances are the ε² normalised to sum to 1 (as Optuna reports them);
   ``eta2`` and ``epsilon2`` keep the absolute values and ``spearman`` gives
   the direction for numeric params.

Marginal effects only: interactions are not attributed, and params a sampler
(TPE) moved together share credit. That is the price of working with a
handful of runs and no scikit-learn; fANOVA with random forests needs both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

COLUMNS = ["param", "importance", "epsilon2", "eta2", "spearman", "kind", "n_runs", "n_groups"]
MAX_BINS = 10


def default_metric(frame: pd.DataFrame) -> str | None:
    """``metrics.loss`` when present (sweeps), else the first metric column."""
    metrics = [c for c in frame.columns if str(c).startswith("metrics.")]
    for preferred in ("metrics.loss", "metrics.value"):
        if preferred in metrics:
            return preferred
    return metrics[0] if metrics else None


def param_importance(
    frame: pd.DataFrame,
    metric: str | None = None,
    params: Sequence[str] | None = None,
    *,
    rank: bool = True,
) -> pd.DataFrame:
    """Rank params by how much of ``metric`` they explain (see the module docstring).

    Args:
        frame: a ``runs()`` DataFrame (``params.<k>`` and ``metrics.<k>`` columns).
        metric: ``"rmse"`` or ``"metrics.rmse"``; default :func:`default_metric`.
        params: param names or columns to rank (default: every param that varies).
        rank: use the metric's ranks (robust to outliers) instead of its values.

    Returns:
        One row per param, most important first: ``param`` (name without
        ``params.``), ``importance`` (sums to 1 unless nothing matters),
        ``epsilon2``, ``eta2``, ``spearman`` (NaN for categorical), ``kind``,
        ``n_runs``, ``n_groups``.

    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"params.lr": rng.uniform(0, 1, 40),
    ...                    "params.seed": rng.integers(0, 9, 40)})
    >>> df["metrics.loss"] = (df["params.lr"] - 0.3) ** 2 + rng.normal(0, 0.001, 40)
    >>> param_importance(df, "loss")["param"].tolist()
    ['lr', 'seed']
    """
    metric = metric or default_metric(frame)
    if metric is not None and not metric.startswith("metrics."):
        metric = f"metrics.{metric}"
    if metric is None or metric not in frame.columns:
        return pd.DataFrame(columns=COLUMNS)
    y = pd.to_numeric(frame[metric], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    keep = np.isfinite(y)
    data, y = frame.loc[keep], y[keep]
    if params is None:
        columns = [c for c in data.columns if str(c).startswith("params.")]
    else:
        columns = [p if p.startswith("params.") else f"params.{p}" for p in params]
    n = len(y)
    rows = []
    if n >= 3:
        target = _ranks(y) if rank else y
        for column in columns:
            if column not in data.columns or data[column].nunique(dropna=False) < 2:
                continue
            groups, kind = group_codes(data[column], n_bins(n))
            eta2, eps2, n_groups = variance_share(groups, target)
            rho = _spearman(data[column], y) if kind == "numeric" else math.nan
            rows.append([column[len("params.") :], 0.0, eps2, eta2, rho, kind, n, n_groups])
    out = pd.DataFrame(rows, columns=COLUMNS)
    total = float(out["epsilon2"].sum()) if len(out) else 0.0
    if total > 0:
        out["importance"] = out["epsilon2"] / total
    out = out.sort_values(["importance", "eta2"], ascending=False, kind="stable")
    return out.reset_index(drop=True)


def n_bins(n: int) -> int:
    """Bins for a numeric param over ``n`` runs: about √n, 2 to :data:`MAX_BINS`.

    >>> n_bins(16), n_bins(1000)
    (4, 10)
    """
    return int(min(MAX_BINS, max(2, round(math.sqrt(n)))))


def group_codes(series: pd.Series, bins: int) -> tuple[np.ndarray, str]:
    """Group index of each run: quantile bins for numbers, one per category;
    missing values form one more group."""
    numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )
    if not numeric and series.dtype == object:
        present = series.dropna()
        numeric = len(present) > 0 and all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            for v in present
        )
    if numeric:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(values)
        distinct = np.unique(values[finite])
        codes = np.full(len(values), -1, dtype=np.int64)
        if len(distinct) <= bins:
            codes[finite] = np.searchsorted(distinct, values[finite])
        else:
            edges = np.quantile(values[finite], np.linspace(0, 1, bins + 1)[1:-1])
            codes[finite] = np.searchsorted(np.unique(edges), values[finite], side="right")
        codes[~finite] = codes.max() + 1
        return np.unique(codes, return_inverse=True)[1], "numeric"
    text = series.astype(object).where(series.notna(), "\0missing").astype(str)
    return np.unique(text.to_numpy(), return_inverse=True)[1], "categorical"


def variance_share(groups: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """``(eta², epsilon², number of groups)`` of ``y`` split by ``groups``.

    >>> variance_share(np.array([0, 0, 1, 1]), np.array([1.0, 1.0, 3.0, 3.0]))
    (1.0, 1.0, 2)
    """
    n = len(y)
    counts = np.bincount(groups)
    present = counts > 0
    g = int(present.sum())
    total = float(((y - y.mean()) ** 2).sum())
    if n < 2 or g < 2 or total == 0:
        return 0.0, 0.0, g
    means = np.bincount(groups, weights=y)[present] / counts[present]
    between = float((counts[present] * (means - y.mean()) ** 2).sum())
    within = total - between
    eta2 = between / total
    if n - g <= 0:  # one run per group: no estimate of the noise, no credit
        return eta2, 0.0, g
    eps2 = (between - (g - 1) * within / (n - g)) / total
    return eta2, max(0.0, float(eps2)), g


def _ranks(y: np.ndarray) -> np.ndarray:
    ranks: np.ndarray = pd.Series(y).rank(method="average").to_numpy(dtype="float64")
    return ranks


def _spearman(series: pd.Series, y: np.ndarray) -> float:
    x = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(x)
    if ok.sum() < 3:
        return math.nan
    rx, ry = _ranks(x[ok]), _ranks(y[ok])
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])
