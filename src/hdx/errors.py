"""One error type for every user-facing failure.

The CLI turns an :class:`HDXError` into a one-line message on stderr and exit code 2. Messages name
what is wrong (the field, file or value) and how to fix it.
"""

from __future__ import annotations


class HDXError(Exception):
    """A user-facing error: bad input, missing data, impossible budget. Printed as one line."""


class ConfigError(HDXError):
    """An invalid configuration file or value."""


class DataError(HDXError):
    """Missing or corrupt data."""


class Interrupted(HDXError):
    """Ctrl-C during a run: the message says how to resume; exit code 130."""
