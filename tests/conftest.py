"""Shared fixtures: a fresh SQLite store in a temp dir, a tracker on it, and a
real IPython shell with the extension loaded that re-raises cell errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nbtrack.tracking import Tracker
from nbtrack.tracking import tracker as tracker_module


@pytest.fixture
def store_uri(tmp_path: Path) -> str:
    """URI of a brand-new SQLite store file."""
    return f"sqlite:///{tmp_path / 'nbtrack.db'}"


@pytest.fixture
def tracker(store_uri: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Tracker]:
    """A fresh tracker on ``store_uri``, installed as the process default."""
    monkeypatch.chdir(tmp_path)
    fresh = Tracker(store_uri)
    monkeypatch.setattr(tracker_module, "_default", fresh)
    yield fresh
    for run in list(fresh._active):
        run.end()
    fresh.close()


@pytest.fixture(scope="session")
def session_ip():  # type: ignore[no-untyped-def]
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    assert shell is not None
    shell.history_manager.enabled = False
    shell.run_line_magic("load_ext", "nbtrack")
    return shell


@pytest.fixture
def ip(session_ip, tracker: Tracker):  # type: ignore[no-untyped-def]
    """The real IPython shell, with nbtrack loaded and logging to ``tracker``."""
    session_ip.user_ns.pop("__session__", None)
    yield session_ip
    session_ip.run_line_magic("config", "TrackMagics.quiet = False")
