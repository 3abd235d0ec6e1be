"""Artifact names: relative POSIX paths that cannot leave the place they are written to.

A name is refused with ``ValueError`` when it, or any percent-decoding of it,
is empty, absolute (``/x``, ``C:x``, ``//host``), contains a ``..`` or ``.``
segment, a backslash, a NUL or another control character. Names never become
paths in the artifact root (blobs are keyed by their sha256), but they do when
an artifact is downloaded, so they are checked on the way in and on the way out.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MAX_NAME_LENGTH = 500
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def validate_name(name: object, what: str = "artifact name") -> str:
    """Return ``name`` if it is a safe relative artifact name, else raise ``ValueError``.

    >>> validate_name("plots/loss.html")
    'plots/loss.html'
    >>> validate_name("../etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: artifact name must not contain '..' or '.' segments: '../etc/passwd'
    """
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, got {type(name).__name__}: {name!r:.80}")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}")
    # Check the name as given and every percent-decoding of it (%2e%2e, %252e%252e, ...).
    seen = name
    for _ in range(5):
        _check_plain(seen, name, what)
        decoded = unquote(seen, errors="strict") if "%" in seen else seen
        if decoded == seen:
            return name
        seen = decoded
    raise ValueError(f"{what} is percent-encoded too many times: {name!r:.80}")


def _check_plain(text: str, original: str, what: str) -> None:
    shown = f"{original!r:.80}"
    if not text or not text.strip():
        raise ValueError(f"{what} must not be empty")
    if "\x00" in text:
        raise ValueError(f"{what} must not contain NUL characters: {shown}")
    if "\\" in text:
        raise ValueError(f"{what} must use '/' and no backslashes: {shown}")
    if _CONTROL.search(text):
        raise ValueError(f"{what} must not contain control characters: {shown}")
    if text.startswith("/") or _DRIVE.match(text):
        raise ValueError(f"{what} must be relative, not absolute: {shown}")
    segments = text.split("/")
    if any(segment in ("..", ".") for segment in segments):
        raise ValueError(f"{what} must not contain '..' or '.' segments: {shown}")
    if any(segment == "" for segment in segments[:-1]) or text.endswith("/"):
        raise ValueError(
            f"{what} must not contain empty segments ('//' or a trailing '/'): {shown}"
        )


def validate_digest(digest: str) -> str:
    """A sha256 hex digest (64 lowercase hex characters), or ``ValueError``.

    >>> validate_digest("0" * 64) == "0" * 64
    True
    """
    if not isinstance(digest, str) or not _HEX_DIGEST.match(digest):
        raise ValueError(f"not a sha256 hex digest: {digest!r:.80}")
    return digest
