"""Static fallback: the same figures as plain plotly HTML (no widgets, no kernel needed).

Used where widgets do not run (plain IPython, nbconvert HTML, GitHub): one
output carries plotly.js once and draws every figure; the runs table is an
escaped HTML table, readable even where scripts are stripped.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from nbtrack.panels._contour import contour_figure, contour_info, default_params
from nbtrack.panels._data import Mode, best_run, metric_mode, metrics_of, params_of, short
from nbtrack.panels._history import history_figure, history_info, pick_runs
from nbtrack.panels._parallel import parallel_figure, parallel_info
from nbtrack.panels._scatter import scatter_figure, scatter_info
from nbtrack.panels._source import Source
from nbtrack.panels._table import table_info

STATIC_ROWS = 20


class StaticPanel:
    """The comparison as static plotly figures (``figures``) and a top-runs table.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"run_id": ["a"], "metrics.m": [1.0]})
    >>> panel = StaticPanel.build(Source(None, frame=frame))
    >>> sorted(panel.figures)
    ['contour', 'history', 'parallel', 'scatter']
    """

    def __init__(
        self, df: pd.DataFrame, figures: dict[str, dict[str, Any]], color: str | None, mode: Mode
    ) -> None:
        self.runs = df
        self.figures = figures
        self.color = color
        self.mode = mode

    @classmethod
    def build(
        cls, source: Source, color: str | None = None, mode: str | None = None
    ) -> StaticPanel:
        """Query once and draw every figure."""
        df = source.fetch(source.filter)
        metrics = metrics_of(df)
        color = color if color in metrics else (metrics[0] if metrics else None)
        best_is: Mode = "max" if (mode or metric_mode(color)) == "max" else "min"
        best = best_run(df, color, best_is)
        cx, cy = default_params(df, color)
        params = params_of(df)
        x = cx or (params[0] if params else None)
        ids, basis = pick_runs(df, [], color, best_is)
        hist = (
            source.histories(ids, [short(color)] if color else None)
            if ids and color
            else pd.DataFrame()
        )
        names = dict(
            zip(df["run_id"].astype(str), df.get("run_name", df["run_id"]).astype(str), strict=True)
        )
        figures = {
            "parallel": parallel_figure(parallel_info(df, color, mode=best_is)),
            "scatter": scatter_figure(
                scatter_info(df, x, color, cy or color, mode=best_is, best=best)
            ),
            "contour": contour_figure(contour_info(df, cx, cy, color, mode=best_is)),
            "history": history_figure(history_info(hist, color, ids, names, basis)),
        }
        return cls(df, figures, color, best_is)

    def _table_html(self) -> str:
        best = best_run(self.runs, self.color, self.mode)
        info = table_info(
            self.runs,
            sort_by=self.color,
            ascending=self.mode == "min",
            page_size=STATIC_ROWS,
            color=self.color,
            best=best,
        )
        head = "".join(f"<th>{html.escape(c.label)}</th>" for c in info.columns)
        body = []
        for rid, row in zip(info.row_ids, info.rows, strict=True):
            mark = ' style="background:#fff8d6"' if rid == best else ""
            body.append(
                f"<tr{mark}>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
            )
        more = (
            f"<p>… {info.total - len(info.rows)} more runs</p>"
            if info.total > len(info.rows)
            else ""
        )
        return (
            f"<p><b>{info.total}</b> runs (static view; best ★ highlighted)</p>"
            f'<table style="font-size:12px"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>{more}"
        )

    def _repr_html_(self) -> str:
        import plotly.io as pio

        parts = [self._table_html()]
        for i, fig in enumerate(self.figures.values()):
            parts.append(
                pio.to_html(
                    fig,
                    full_html=False,
                    include_plotlyjs=i == 0,
                    validate=False,
                    config={"displaylogo": False, "responsive": True},
                    default_width="100%",
                )
            )
        return '<div class="nbtrack-static">' + "\n".join(parts) + "</div>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}

    def __repr__(self) -> str:
        return f"<nbtrack comparison: {len(self.runs)} runs, colour {self.color or '-'} (static)>"
