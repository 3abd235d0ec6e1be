"""The runs table: sort any column, page through, mark the best run (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nbtrack.panels._data import (
    METRIC,
    PARAM,
    TAG,
    _is_numeric,
    as_float,
    as_text,
    fmt,
    labels_for,
)

PAGE_SIZE = 25
#: The tag the model registry sets on runs with registered versions ("name/3, …").
REGISTERED = f"{TAG}registered"
_FIRST = ("run_name", "status", "start_time", "duration_s")


@dataclass(frozen=True)
class Column:
    """A table column: frame column ``key``, header ``label``, ``group`` and alignment."""

    key: str
    label: str
    group: str
    numeric: bool


@dataclass(frozen=True)
class TableInfo:
    """One page of display text, plus what the header and pager show."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    row_ids: tuple[str, ...]
    total: int
    page: int
    pages: int
    sort_by: str | None
    ascending: bool
    best: str | None


def table_columns(df: pd.DataFrame, color: str | None = None) -> list[Column]:
    """Order: name/status/time, metrics (colour metric first), params, tags, then ids.

    >>> frame = pd.DataFrame(columns=["run_id", "params.lr", "metrics.a", "metrics.b"])
    >>> cols = table_columns(frame, "metrics.b")
    >>> [c.label for c in cols]
    ['b', 'a', 'lr', 'run_id']
    """
    present = [c for c in df.columns]
    metrics = [c for c in present if c.startswith(METRIC)]
    if color in metrics:
        metrics = [color] + [m for m in metrics if m != color]
    params = [c for c in present if c.startswith(PARAM)]
    tags = [c for c in present if c.startswith(TAG)]
    head = [c for c in _FIRST if c in present]
    if REGISTERED in tags:  # runs with registered model versions: shown up front
        tags.remove(REGISTERED)
        head.insert(min(2, len(head)), REGISTERED)
    tail = [c for c in ("experiment", "parent_run_id", "run_id") if c in present]
    if "experiment" in tail and df["experiment"].nunique(dropna=True) <= 1:
        tail.remove("experiment")
    if "parent_run_id" in tail and df["parent_run_id"].isna().all():
        tail.remove("parent_run_id")
    keys = head + metrics + params + tags + tail
    labels = labels_for(metrics + params + tags)
    out = []
    for k in keys:
        group = (
            "metric"
            if k.startswith(METRIC)
            else "param"
            if k.startswith(PARAM)
            else "tag"
            if k.startswith(TAG) and k != REGISTERED
            else "run"
        )
        names = {"run_name": "run", "duration_s": "duration (s)", REGISTERED: "registered"}
        label = labels.get(k, names.get(k, k))
        numeric = k not in ("run_id",) and (_is_numeric(df[k]) if len(df) else k == "duration_s")
        out.append(Column(k, str(label), group, bool(numeric)))
    return out


def sort_order(df: pd.DataFrame, by: str | None, ascending: bool = True) -> np.ndarray:
    """Row positions sorted by ``by``; missing values always last, ties keep frame order.

    >>> sort_order(pd.DataFrame({"m": [2.0, None, 1.0]}), "m", ascending=False).tolist()
    [0, 2, 1]
    """
    n = len(df)
    if not by or by not in df.columns or n == 0:
        return np.arange(n)
    s = df[by]
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        key = pd.Series(s.to_numpy())
    elif _is_numeric(s):
        vals = as_float(s)
        key = pd.Series(np.where(np.isnan(vals), np.nan, vals))
    else:
        key = pd.Series([t.casefold() if t is not None else None for t in as_text(s)], dtype=object)
    ordered = key.sort_values(ascending=ascending, na_position="last", kind="stable")
    return np.asarray(ordered.index.to_numpy(), dtype=np.intp)


def table_info(
    df: pd.DataFrame,
    *,
    sort_by: str | None = None,
    ascending: bool = True,
    page: int = 0,
    page_size: int = PAGE_SIZE,
    color: str | None = None,
    best: str | None = None,
) -> TableInfo:
    """One page of the runs table as text (escaping happens where it is drawn).

    >>> df = pd.DataFrame({"run_id": ["a", "b"], "run_name": ["<b>x</b>", "y"],
    ...                    "metrics.m": [1.0, float("nan")]})
    >>> info = table_info(df, sort_by="metrics.m", ascending=False)
    >>> info.rows[0][:2], info.rows[1][:2]
    (('<b>x</b>', '1'), ('y', ''))
    """
    cols = table_columns(df, color)
    total = len(df)
    pages = max(1, -(-total // page_size))
    page = min(max(page, 0), pages - 1)
    order = sort_order(df, sort_by, ascending)[page * page_size : (page + 1) * page_size]
    part = df.iloc[order]
    columns_text = []
    for c in cols:
        values = part[c.key].tolist()
        if c.key == "duration_s":
            columns_text.append([fmt(v) if v is not None else "" for v in values])
        else:
            columns_text.append([fmt(v) for v in values])
    rows = tuple(tuple(col[i] for col in columns_text) for i in range(len(part)))
    ids = tuple(str(i) for i in part["run_id"].tolist()) if "run_id" in part.columns else ()
    return TableInfo(tuple(cols), rows, ids, total, page, pages, sort_by, ascending, best)
