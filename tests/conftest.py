"""Shared fixtures.

``store_uri`` is parametrised over the two supported backends: every test that
uses it (directly or through ``tracker`` / ``ip``) runs against a fresh SQLite
file in a temp dir **and** a fresh schema of a real PostgreSQL server started
for the session (see ``pg_server.py``). Without PostgreSQL installed the
PostgreSQL cases are skipped, unless ``NBTRACK_REQUIRE_POSTGRES=1`` (CI sets
it) turns that into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbtrack.tracking import Tracker
from nbtrack.tracking import tracker as tracker_module
from pg_server import PostgresServer, find_bindir

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    """The session's PostgreSQL server, or None when it cannot be had here."""
    bindir = find_bindir()
    reason = None
    server = None
    if bindir is None:
        reason = "PostgreSQL is not installed (apt-get install postgresql)"
    else:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            reason = "psycopg is not installed (pip install nbtrack[postgres])"
    if reason is None and bindir is not None:
        server = PostgresServer(bindir)
        server.start()
    elif os.environ.get("NBTRACK_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"NBTRACK_REQUIRE_POSTGRES=1 but {reason}")
    yield server
    if server is not None:
        server.stop()


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> str:
    """URI of a brand-new SQLite store file (for tests about SQLite itself)."""
    return f"sqlite:///{tmp_path / 'nbtrack.db'}"


@pytest.fixture(params=BACKENDS)
def store_uri(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """URI of a brand-new store: a SQLite file, or an empty PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nbtrack.db'}"
    server: PostgresServer | None = request.getfixturevalue("postgres")
    if server is None:
        pytest.skip("PostgreSQL is not available here")
    # Teams pair PostgreSQL with an artifact location of their choosing.
    monkeypatch.setenv("NBTRACK_ARTIFACTS", str(tmp_path / "artifacts"))
    return server.fresh_schema_url()


@pytest.fixture
def backend(store_uri: str) -> str:
    """``"sqlite"`` or ``"postgresql"``: the backend of this test's store."""
    return store_uri.split(":", 1)[0].split("+", 1)[0]


@pytest.fixture
def tracker(store_uri: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Tracker]:
    """A fresh tracker on ``store_uri``, installed as the process default."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NBTRACK_URI", store_uri)  # for subprocesses of the test
    fresh = Tracker(store_uri)
    monkeypatch.setattr(tracker_module, "_default", fresh)
    yield fresh
    for run in list(fresh._active):
        run.end()
    fresh.close()


@pytest.fixture(scope="session")
def session_ip() -> Any:
    """One real IPython shell for the session, with nbtrack loaded."""
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    assert shell is not None
    shell.history_manager.enabled = False
    shell.run_line_magic("load_ext", "nbtrack")
    return shell


@pytest.fixture
def ip(session_ip: Any, tracker: Tracker) -> Iterator[Any]:
    """The real IPython shell, logging to ``tracker``.

    ``ip.run_cell_magic("track", line, cell)`` raises what the cell raised
    (the magic re-raises after recording the run), so tests see errors.
    """
    session_ip.user_ns.pop("__session__", None)
    yield session_ip
    session_ip.run_line_magic("config", "TrackMagics.quiet = False")
