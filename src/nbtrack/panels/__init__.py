"""Comparison panels: runs table, parallel coordinates, scatter, contour, history.

Each plot is a pure ``*_info(runs_frame, …)`` function returning a small
dataclass, and a thin ``*_figure(info)`` returning a plotly JSON dict; the
widget (:class:`ComparePanel`) and the static fallback (:class:`StaticPanel`)
only arrange them. ipywidgets/anywidget/plotly are imported on first use.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from nbtrack.panels._static import StaticPanel
    from nbtrack.panels._widget import ComparePanel

__all__ = ["compare", "widgets_available"]


def widgets_available() -> bool:
    """True inside a running Jupyter kernel (where ipywidgets have a front end to talk to).

    Plain IPython and scripts get the static fallback. This only looks at
    modules already imported; it never imports IPython.
    """
    kernelapp = sys.modules.get("ipykernel.kernelapp")
    if kernelapp is None:
        return False
    try:
        return bool(kernelapp.IPKernelApp.initialized())
    except Exception:
        return False


def compare(
    experiment: str | None = None,
    filter: str | None = None,
    runs: pd.DataFrame | Sequence[str] | None = None,
    color: str | None = None,
    static: bool | None = None,
    tracker: Any = None,
    mode: str | None = None,
) -> ComparePanel | StaticPanel:
    """Compare runs in one panel (tabs: Runs, Parallel coordinates, Scatter, Contour, History).

    Args:
        experiment: only this experiment's runs (default: all).
        filter: a query (``"metrics.rmse < 6.5 and params.model = 'xgb'"``); the
            panel's filter box starts with it.
        runs: a ``runs()`` DataFrame to show as is, or a list of run ids.
        color: the metric that colours the plots and marks the best run
            (``"rmse"`` or ``"metrics.rmse"``; default: the first metric).
        static: ``True`` for static plotly figures, ``False`` for the widget,
            ``None`` to choose: the widget inside a Jupyter kernel, else static.
        tracker: where runs come from (default: ``nbtrack.tracking.default_tracker()``).
        mode: ``"min"``/``"max"``: which end of ``color`` is best (default:
            guessed from its name, e.g. accuracy is maximised).

    The widget follows new runs of the same kernel live (coalesced: one query
    per refresh, at most one refresh a second).

    Example:
        >>> import nbtrack
        >>> nbtrack.compare("sweep", color="rmse")  # doctest: +SKIP
    """
    from nbtrack.panels._source import Source

    if tracker is None:
        from nbtrack.tracking import default_tracker

        tracker = default_tracker()
    frame = None
    run_ids = None
    if runs is not None:
        if hasattr(runs, "columns"):
            frame = runs
        else:
            run_ids = [str(r) for r in runs]
    if color and not color.startswith("metrics."):
        color = f"metrics.{color}"
    source = Source(tracker, experiment=experiment, filter=filter, run_ids=run_ids, frame=frame)
    if static is None:
        static = not widgets_available()
    if static:
        from nbtrack.panels._static import StaticPanel

        return StaticPanel.build(source, color, mode)
    from nbtrack.panels._widget import ComparePanel

    return ComparePanel(source, color=color, mode=mode)  # type: ignore[arg-type]
