"""Where a panel's runs come from: a tracker (live) or a fixed DataFrame."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import pandas as pd


class TrackerLike(Protocol):
    """What panels need from :class:`nbtrack.tracking.Tracker`."""

    def runs(
        self,
        experiment: str | None = None,
        filter: str | None = None,
        order_by: Any = None,
        limit: int | None = None,
    ) -> pd.DataFrame: ...

    def metric_histories(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> pd.DataFrame: ...


class Source:
    """Runs for one panel: ``tracker.runs(experiment, filter)``, optionally limited to ``run_ids``.

    With ``frame`` (a ``runs()`` DataFrame) the panel shows that frame; a
    filter is then answered by the tracker and intersected with it.
    """

    def __init__(
        self,
        tracker: TrackerLike | None,
        *,
        experiment: str | None = None,
        filter: str | None = None,
        run_ids: Sequence[str] | None = None,
        frame: pd.DataFrame | None = None,
    ) -> None:
        self.tracker = tracker
        self.experiment = experiment
        self.filter = filter
        self.run_ids = None if run_ids is None else [str(r) for r in run_ids]
        self.frame = frame

    @property
    def events(self) -> Any:
        """The tracker's EventBus when the panel can follow new runs, else None."""
        if self.tracker is None or self.frame is not None or self.run_ids is not None:
            return None
        return getattr(self.tracker, "events", None)

    def fetch(self, filter: str | None = None) -> pd.DataFrame:
        """One query. A malformed filter raises ``ValueError`` (the panel shows it inline)."""
        text = (filter or "").strip() or None
        if self.frame is not None:
            df = self.frame
            if text:
                if self.tracker is None:
                    raise ValueError("filtering a DataFrame needs a store: pass tracker=")
                keep = set(self.tracker.runs(self.experiment, filter=text)["run_id"].astype(str))
                df = df[df["run_id"].astype(str).isin(keep)]
            return df.reset_index(drop=True)
        if self.tracker is None:
            return pd.DataFrame(columns=["run_id", "run_name"])
        df = self.tracker.runs(self.experiment, filter=text)
        if self.run_ids is not None:
            df = df[df["run_id"].astype(str).isin(self.run_ids)]
        return df.reset_index(drop=True)

    def histories(self, run_ids: Sequence[str], keys: Sequence[str] | None) -> pd.DataFrame:
        """Step histories of many runs in one query; empty without a tracker."""
        if self.tracker is None or not run_ids:
            return pd.DataFrame(columns=["run_id", "key", "step", "value", "timestamp"])
        return self.tracker.metric_histories(list(run_ids), keys)
