"""What is recorded about every run without being asked: who, where, with what.

Everything here is cheap after the first call: package versions and the git
root are cached per process, and the git dirty flag is one ``git status``
started in the background when the run starts and read when it ends.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import platform
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

#: Files bigger than this are fingerprinted by size and mtime only.
MAX_HASHED_BYTES = 2 * 1024**3


@cache
def host() -> str:
    return socket.gethostname()


@cache
def user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


_own_start: dict[int, float | None] = {}


def own_process_start() -> float | None:
    """:func:`process_start` of this process (cached; a forked child has a new pid)."""
    pid = os.getpid()
    if pid not in _own_start:
        _own_start[pid] = process_start(pid)
    return _own_start[pid]


def process_start(pid: int) -> float | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux), else None.

    Together with the pid it names a process even after its pid is reused.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; split after the ")" that closes the command name (it may hold spaces).
    fields = stat.rsplit(")", 1)[1].split()
    return float(fields[19])


def process_alive(pid: int, start: float | None) -> bool:
    """True if process ``pid`` exists and, when known, started at ``start``."""
    if pid == os.getpid():
        return True
    if start is not None and Path("/proc").is_dir():
        return process_start(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- packages -------------------------------------------------------------------


@cache
def _distributions_by_module() -> Mapping[str, list[str]]:
    from importlib.metadata import packages_distributions

    return packages_distributions()


_version_cache: dict[str, str | None] = {}


def _version_of(distribution: str) -> str | None:
    if distribution not in _version_cache:
        from importlib.metadata import PackageNotFoundError, version

        try:
            _version_cache[distribution] = version(distribution)
        except PackageNotFoundError:
            _version_cache[distribution] = None
    return _version_cache[distribution]


def warm_up() -> None:
    """Build the module -> distribution map in a daemon thread.

    Scanning the installed distributions takes 0.3–1.5 s; doing it while a
    kernel starts keeps that cost off the first tracked cell.
    """
    threading.Thread(target=_distributions_by_module, name="nbtrack-warm-up", daemon=True).start()


_packages_cache: tuple[int, dict[str, str]] = (-1, {})


def imported_packages() -> dict[str, str]:
    """Versions of the installed distributions whose modules this process has imported.

    Cached until the number of loaded modules changes.

    >>> "SQLAlchemy" in imported_packages()
    True
    """
    global _packages_cache
    count = len(sys.modules)
    if _packages_cache[0] == count:
        return dict(_packages_cache[1])
    by_module = _distributions_by_module()
    stdlib = sys.stdlib_module_names
    found: dict[str, str] = {}
    for name in list(sys.modules):
        if "." in name or name in stdlib or name.startswith("_"):
            continue
        for distribution in by_module.get(name, ()):
            version = _version_of(distribution)
            if version is not None:
                found[distribution] = version
    result = dict(sorted(found.items(), key=lambda item: item[0].lower()))
    _packages_cache = (count, result)
    return dict(result)


# -- git ------------------------------------------------------------------------


@cache
def _git_dir(folder: str) -> Path | None:
    for candidate in (Path(folder), *Path(folder).parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # worktree or submodule: "gitdir: <path>"
            target = dot_git.read_text().partition("gitdir:")[2].strip()
            return (candidate / target).resolve()
    return None


def _read_ref(git_dir: Path, ref: str) -> str | None:
    common = git_dir
    common_file = git_dir / "commondir"
    if common_file.is_file():
        common = (git_dir / common_file.read_text().strip()).resolve()
    for base in (git_dir, common):
        path = base / ref
        if path.is_file():
            return path.read_text().strip()
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            sha, _, name = line.partition(" ")
            if name == ref:
                return sha
    return None


class GitProbe:
    """Git state of the work tree holding ``folder``, started without blocking.

    The commit and branch are read from ``.git`` directly (microseconds). The
    dirty flag comes from ``git status``, spawned when the run starts so it
    runs alongside the cell, and read when the run ends. (Spawning it from a
    thread, or writing its answer after the run, measured slower: see the
    README's performance notes.)
    """

    def __init__(self, folder: str) -> None:
        self.git_dir = _git_dir(os.path.abspath(folder))
        self._status: subprocess.Popen[bytes] | None = None
        if self.git_dir is None:
            return
        try:
            self._status = subprocess.Popen(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
            )
        except OSError:  # git not installed: commit and branch are still known
            self._status = None

    def dirty(self, timeout: float = 30) -> bool | None:
        """The dirty flag, waiting up to ``timeout`` seconds for git; None if unknown."""
        if self._status is None:
            return None
        try:
            out, _ = self._status.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._status.kill()
            self._status.communicate()
            return None
        return bool(out.strip()) if self._status.returncode == 0 else None

    def refs(self) -> dict[str, Any]:
        """``git_commit`` and ``git_branch`` (None outside a work tree)."""
        if self.git_dir is None:
            return {"git_commit": None, "git_branch": None}
        head = (self.git_dir / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return {"git_commit": head, "git_branch": None}
        ref = head[4:].strip()
        branch = ref.removeprefix("refs/heads/")
        return {"git_commit": _read_ref(self.git_dir, ref), "git_branch": branch}


# -- data fingerprints ------------------------------------------------------------------


def fingerprint(path: str) -> dict[str, Any]:
    """sha256 and size of a file, for data versioning.

    >>> import tempfile; f = tempfile.NamedTemporaryFile(delete=False); _ = f.write(b"x"); f.close()
    >>> fingerprint(f.name)["size"]
    1
    """
    stat = os.stat(path)
    entry: dict[str, Any] = {"path": os.path.abspath(path), "size": stat.st_size}
    if stat.st_size <= MAX_HASHED_BYTES:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        entry["sha256"] = digest.hexdigest()
    else:
        entry["sha256"] = None
        entry["mtime"] = stat.st_mtime
    return entry


def datasets(param_values: Mapping[str, Any], folder: str) -> dict[str, dict[str, Any]]:
    """Fingerprints of the params whose value is the path of an existing file."""
    found: dict[str, dict[str, Any]] = {}
    for key, value in param_values.items():
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or not value or len(value) > 4096 or "\x00" in value:
            continue
        path = value if os.path.isabs(value) else os.path.join(folder, value)
        try:
            if os.path.isfile(path):
                found[key] = fingerprint(path)
        except OSError:
            continue
    return found


def static_meta() -> dict[str, Any]:
    """The part of the metadata that does not change within a process."""
    return {"user": user(), "host": host(), "python": platform.python_version()}
