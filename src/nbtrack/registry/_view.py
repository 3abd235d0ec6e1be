"""What ``%track_models`` shows: the registry as an escaped HTML table with a text twin (pure)."""

from __future__ import annotations

import datetime
import html
from collections.abc import Sequence

from nbtrack.display import format_value
from nbtrack.store.registry import ModelRow, VersionRow

MAX_METRICS = 4


class RegistryView:
    """Registered models and their versions, newest first, with lineage.

    >>> RegistryView([], [])
    (no registered models: nbtrack.register_model(run, "name") makes one)
    """

    def __init__(
        self, models: Sequence[ModelRow], versions: Sequence[VersionRow], limit: int | None = None
    ) -> None:
        self.models = list(models)
        self.versions = list(versions)
        self.limit = limit

    def _by_model(self) -> list[tuple[ModelRow, list[VersionRow]]]:
        grouped: dict[str, list[VersionRow]] = {}
        for version in self.versions:
            grouped.setdefault(version.name, []).append(version)
        out = []
        for model in self.models:
            rows = grouped.get(model.name, [])
            out.append((model, rows[: self.limit] if self.limit else rows))
        return out

    @staticmethod
    def _cells(version: VersionRow) -> list[str]:
        metrics = list(version.metrics.items())
        shown = ", ".join(f"{k}={format_value(v)}" for k, v in metrics[:MAX_METRICS])
        if len(metrics) > MAX_METRICS:
            shown += f", … {len(metrics) - MAX_METRICS} more"
        run = f"{version.run_name or '?'} [{(version.run_id or '')[:8]}]"
        when = datetime.datetime.fromtimestamp(version.created_at, datetime.timezone.utc)
        tags = ", ".join(f"{k}={v}" for k, v in version.tags.items())
        return [
            str(version.version),
            ", ".join(f"@{a}" for a in version.aliases),
            run,
            version.experiment or "",
            version.artifact,
            shown,
            f"{when:%Y-%m-%d %H:%M} UTC by {version.created_by or '?'}",
            " · ".join(p for p in (version.description or "", tags) if p),
        ]

    def __repr__(self) -> str:
        if not self.models:
            return '(no registered models: nbtrack.register_model(run, "name") makes one)'
        lines = []
        for model, versions in self._by_model():
            head = f"{model.name} · {model.latest_version} version(s)"
            if model.description:
                head += f" · {model.description}"
            lines.append(head)
            for version in versions:
                lines.append("  v" + " | ".join(self._cells(version)))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        if not self.models:
            return f"<div class='nbtrack-models'>{e(repr(self))}</div>"
        headers = ["version", "aliases", "run", "experiment", "artifact", "metrics at registration",
                   "registered", "description / tags"]  # fmt: skip
        left = 'style="text-align:left"'
        parts = ['<div class="nbtrack-models">']
        for model, versions in self._by_model():
            aliases = ", ".join(f"@{a}→v{v}" for a, v in sorted(model.aliases.items()))
            tags = ", ".join(f"{k}={v}" for k, v in model.tags.items())
            info = " · ".join(p for p in (model.description or "", aliases, tags) if p)
            parts.append(
                f"<div><b>{e(model.name)}</b> <span style='color:#666'>"
                f"{model.latest_version} version(s){' · ' + e(info) if info else ''}</span></div>"
            )
            head = "".join(f"<th {left}>{e(h)}</th>" for h in headers)
            body = "".join(
                "<tr>" + "".join(f"<td {left}>{e(c)}</td>" for c in self._cells(v)) + "</tr>"
                for v in versions
            )
            parts.append(f'<table class="nbtrack-model-versions"><tr>{head}</tr>{body}</table>')
        parts.append("</div>")
        return "".join(parts)
