"""A sweep's progress bar: ``tqdm.auto`` (a widget in Jupyter, text elsewhere).

tqdm is optional: without it the bar is silent and the sweep runs the same.
"""

from __future__ import annotations

import contextlib
import math
import threading
from typing import Any


class Progress:
    """Trials done out of ``total``, with the best loss so far.

    >>> bar = Progress(total=3, desc="sweep", enabled=False)
    >>> bar.update(0.5); bar.update(0.2); bar.best
    0.2
    """

    def __init__(
        self, total: int | None, desc: str, enabled: bool = True, mode: str = "min"
    ) -> None:
        self.best = math.nan
        self.done = 0
        self.mode = mode
        self._lock = threading.Lock()
        self._bar: Any = None
        if enabled:
            try:
                from tqdm.auto import tqdm

                self._bar = tqdm(total=total, desc=desc, unit="trial", dynamic_ncols=True)
            except Exception:  # no tqdm (or no front end for it): no bar
                self._bar = None

    def update(self, loss: float | None) -> None:
        """One more trial done; ``loss`` None for a failed or pruned trial."""
        with self._lock:
            self.done += 1
            if loss is not None and not math.isnan(loss):
                better = loss < self.best if self.mode == "min" else loss > self.best
                if math.isnan(self.best) or better:
                    self.best = loss
            if self._bar is not None:
                try:
                    if not math.isnan(self.best):
                        self._bar.set_postfix(best=f"{self.best:.5g}", refresh=False)
                    self._bar.update(1)
                except Exception:  # a closed front end must not stop the sweep
                    self._bar = None

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                with contextlib.suppress(Exception):
                    self._bar.close()
                self._bar = None
