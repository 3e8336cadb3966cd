"""Errors a user can act on.

Every error raised for a user's mistake (bad input, a missing file, a store that refuses us)
is an :class:`EotdlError`: the CLI prints its message and hint, with no traceback, and exits
non-zero. Anything else is a bug and shows its traceback.
"""

from __future__ import annotations


class EotdlError(Exception):
    """An error caused by input or environment, with a message that says what and where.

    ``hint`` says how to fix it; ``exit_code`` is what the CLI exits with.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class InputError(EotdlError):
    """A file, URL or value given by the user is malformed or not what was expected."""


class SchemaUnavailableError(EotdlError):
    """A JSON schema is neither in the local cache nor reachable."""


class StorageError(EotdlError):
    """The object store refused or failed an operation."""


class LabError(EotdlError):
    """The lab on disk is missing or inconsistent."""


class BusyError(EotdlError):
    """Another writer holds the lock on what we were about to write: retry later.

    Exits with 75 (``EX_TEMPFAIL``), distinct from the 1 of other errors, so a script can
    tell "try again" from "fix something".
    """

    exit_code = 75
