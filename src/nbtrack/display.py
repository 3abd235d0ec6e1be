"""What a tracked cell shows: one compact line, as escaped HTML with a text twin.

Pure formatting; nothing here imports IPython. Every name and value a user
chose goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbtrack.tracking.run import Run

#: Metrics where a larger value is better; everything else is minimised.
_HIGHER_IS_BETTER = (
    "acc", "accuracy", "auc", "roc_auc", "f1", "precision", "recall", "r2",
    "score", "map", "ndcg", "iou", "dice", "bleu", "rouge",
)  # fmt: skip

MAX_SHOWN = 6
MAX_VALUE_CHARS = 40


def higher_is_better(metric: str) -> bool:
    """Guess a metric's direction from its name.

    >>> higher_is_better("val_accuracy"), higher_is_better("rmse")
    (True, False)
    """
    name = metric.lower()
    return any(
        name == word or name.endswith(("_" + word, "-" + word)) or name.startswith(word + "_")
        for word in _HIGHER_IS_BETTER
    )


def format_value(value: Any) -> str:
    """Short text for a param or metric value."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _pairs(values: dict[str, Any]) -> list[tuple[str, str]]:
    items = [(k, format_value(v)) for k, v in list(values.items())[:MAX_SHOWN]]
    if len(values) > MAX_SHOWN:
        items.append(("…", f"{len(values) - MAX_SHOWN} more"))
    return items


class RunSummary:
    """The line shown after a ``%%track`` cell (built from memory: no query).

    >>> RunSummary("3f2a9c1d00", "swift-otter-417", "demo", "FINISHED", 0.12,
    ...            {"alpha": 0.1}, {"rmse": 6.31}, rank=(2, 10), rank_metric="rmse")
    ✓ run swift-otter-417 [3f2a9c1d] · demo · FINISHED 0.12 s · alpha=0.1 · rmse=6.31 \
· #2/10 by rmse
    """

    def __init__(
        self,
        run_id: str,
        name: str,
        experiment: str,
        status: str,
        duration_s: float | None,
        params: dict[str, Any],
        metrics: dict[str, float],
        rank: tuple[int, int] | None = None,
        rank_metric: str | None = None,
        warnings: tuple[str, ...] = (),
    ) -> None:
        self.run_id, self.name, self.experiment = run_id, name, experiment
        self.status, self.duration_s = status, duration_s
        self.params, self.metrics = params, metrics
        self.rank, self.rank_metric, self.warnings = rank, rank_metric, warnings

    def _status(self) -> str:
        duration = self.duration_s
        return self.status + (f" {duration:.2f} s" if duration is not None else "")

    def _rank(self) -> str:
        if self.rank is None or self.rank_metric is None:
            return ""
        return f"#{self.rank[0]}/{self.rank[1]} by {self.rank_metric}"

    def __repr__(self) -> str:
        mark = "✓" if self.status == "FINISHED" else "✗"
        pieces = [f"{mark} run {self.name} [{self.run_id[:8]}]", self.experiment, self._status()]
        for group in (_pairs(self.params), _pairs(self.metrics)):
            if group:
                pieces.append(", ".join(f"{k}={v}" for k, v in group))
        if self._rank():
            pieces.append(self._rank())
        return "\n".join([" · ".join(pieces)] + [f"  ! {w}" for w in self.warnings])

    def _repr_html_(self) -> str:
        e = html.escape
        ok = self.status == "FINISHED"
        color = "#2e7d32" if ok else "#c62828"

        def group(items: list[tuple[str, str]], css: str) -> str:
            return " ".join(f'<span style="{css}">{e(k)}=<b>{e(v)}</b></span>' for k, v in items)

        parts = [
            f'<span style="color:{color}">{"✓" if ok else "✗"}</span>',
            f'<b>{e(self.name)}</b> <code title="{e(self.run_id)}">{e(self.run_id[:8])}</code>',
            f'<span style="color:#666">{e(self.experiment)}</span>',
            f'<span style="color:{color}">{e(self._status())}</span>',
        ]
        params, metrics = _pairs(self.params), _pairs(self.metrics)
        if params:
            parts.append(group(params, "color:#1565c0"))
        if metrics:
            parts.append(group(metrics, "color:#6a1b9a"))
        if self._rank():
            parts.append(f"<span>{e(self._rank())}</span>")
        notes = "".join(f'<div style="color:#b26a00">! {e(w)}</div>' for w in self.warnings)
        return (
            f'<div class="nbtrack-summary" style="font-size:0.9em">{" · ".join(parts)}{notes}</div>'
        )


def run_html(run: Run) -> str:
    """A small escaped HTML table of one run (``Run._repr_html_``)."""
    e = html.escape
    rows = [
        ("run", f"{run.name} [{run.id}]"),
        ("experiment", run.experiment),
        ("status", run.status),
    ]
    rows += [(f"params.{k}", format_value(v)) for k, v in run.params.items()]
    rows += [(f"metrics.{k}", format_value(v)) for k, v in run.metrics.items()]
    rows += [(f"tags.{k}", v) for k, v in run.tags.items()]
    left = 'style="text-align:left"'
    cells = "".join(f"<tr><th {left}>{e(k)}</th><td {left}>{e(str(v))}</td></tr>" for k, v in rows)
    return f'<table class="nbtrack-run">{cells}</table>'
