"""The store layer: SQL only. Nothing here knows about IPython, pandas or plotting."""

from nbtrack.store.store import ParamRow, RunRecord, Store

__all__ = ["ParamRow", "RunRecord", "Store"]
