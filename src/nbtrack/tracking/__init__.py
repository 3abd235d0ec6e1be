"""Tracking core: runs, the open-run stack, buffering and metadata capture."""

from nbtrack.tracking.run import ActiveRun, Run
from nbtrack.tracking.tracker import Tracker, default_tracker

__all__ = ["ActiveRun", "Run", "Tracker", "default_tracker"]
