"""User-facing errors: bad input is reported as one line naming the offending key, file or value.

The CLI catches :class:`SicError` and prints ``error: <message>`` without a traceback; anything
else is a bug and keeps its traceback.

Example:
    >>> from sic.utils.errors import DataError
    >>> str(DataError("data root 'x' does not exist"))
    "data root 'x' does not exist"
"""

from __future__ import annotations

__all__ = ["CheckpointError", "ConfigError", "DataError", "SicError"]


class SicError(Exception):
    """Base class of errors caused by user input (files, configs, arguments)."""


class ConfigError(SicError):
    """A configuration value is invalid or inconsistent with another."""


class DataError(SicError):
    """A data file or directory is missing, malformed or inconsistent."""


class CheckpointError(SicError):
    """A checkpoint is missing, unreadable or does not fit the model."""
