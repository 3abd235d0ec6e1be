"""The README documents every magic option and CLI command, and both set-up commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nbtrack.cli import _parser
from nbtrack.magics import TrackMagics

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def _magic_options(name: str) -> list[str]:
    parser = getattr(TrackMagics, name).parser
    return [
        s
        for action in parser._actions
        for s in action.option_strings
        if s != "-h" and s != "--help"
    ]


@pytest.mark.parametrize(
    "magic", ["track", "track_connect", "track_experiment", "track_compare", "track_models"]
)
def test_every_magic_and_its_options_are_in_the_readme(magic: str) -> None:
    prefix = "%%" if magic == "track" else "%"
    assert f"{prefix}{magic}" in README
    for option in _magic_options(magic):
        assert re.search(rf"`[^`]*{re.escape(option)}\b[^`]*`", README), f"{magic} {option}"


def test_every_cli_command_is_in_the_readme() -> None:
    commands = _parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command, parser in commands.items():
        assert f"nbtrack {command}" in README
        for action in parser._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert option in README, f"nbtrack {command} {option}"


def test_the_two_setup_commands_exist_and_ci_calls_the_test_one() -> None:
    for script in ("scripts/run", "scripts/test"):
        assert f"`{script}`" in README
        assert (ROOT / script).stat().st_mode & 0o111
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
