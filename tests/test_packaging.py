"""Loading: cheap import, the extension hook, and autoload through the startup file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "plotly", "ipywidgets", "sqlalchemy", "IPython", "numpy", "alembic")


def test_import_nbtrack_imports_nothing_heavy() -> None:
    code = f"import sys, nbtrack\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _ipython_has_track(env_extra: dict[str, str], tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "NBTRACK_NO_AUTOLOAD"}
    env.update(env_extra, IPYTHONDIR=str(tmp_path / "ipython"))
    code = "print('track' in get_ipython().magics_manager.magics['cell'])"
    out = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--colors=nocolor", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_startup_file_autoloads_and_can_be_switched_off(tmp_path: Path) -> None:
    startup = Path(sys.prefix) / "etc" / "ipython" / "startup" / "50-nbtrack-autoload.py"
    assert startup.is_file(), f"pip install did not ship the startup file to {startup}"
    assert _ipython_has_track({}, tmp_path) == "True"
    assert _ipython_has_track({"NBTRACK_NO_AUTOLOAD": "1"}, tmp_path) == "False"
