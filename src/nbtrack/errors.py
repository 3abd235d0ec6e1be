"""Exceptions a user can meet; each message is one readable line."""

from __future__ import annotations


class NbtrackError(Exception):
    """Base class of every error nbtrack raises on purpose."""


class StoreError(NbtrackError):
    """The store could not be read or written (driver errors are wrapped in this)."""


class StoreVersionError(StoreError):
    """The store was written by a newer nbtrack than this one."""


class RunNotFoundError(NbtrackError, LookupError):
    """No run has the given id."""


class ModelNotFoundError(NbtrackError, LookupError):
    """No registered model, version or alias has the given name."""


class ArtifactError(NbtrackError):
    """An artifact cannot be stored or read (missing blob, hash mismatch, no artifact root)."""
