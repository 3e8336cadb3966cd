"""What the stores hand back: object listings, stored objects, transfer summaries, checks,
and the errors a transfer raises."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from eotdl.errors import EotdlError, StorageError

T = TypeVar("T")
R = TypeVar("R")
#: A download request: (key, destination, file:checksum or None, size or None).
GetRequest = tuple[str, "str | os.PathLike[str]", "str | None", "int | None"]
#: Where a backend streams the bytes it reads.
Sink = Callable[[memoryview], None]


@dataclass(frozen=True)
class ObjectInfo:
    """An object as listed: key (relative to the store), size in bytes, last modified."""

    key: str
    size: int
    modified: dt.datetime | None = None


@dataclass(frozen=True)
class StoredObject:
    """An object in the store with its ``file:checksum`` and ``file:size``.

    ``uploaded`` is True when this call sent the bytes, False when they were already there.
    """

    key: str
    href: str
    checksum: str
    size: int
    uploaded: bool = False


@dataclass(frozen=True)
class TransferFailure:
    """One file or object that could not be transferred, and why."""

    name: str
    message: str
    error: BaseException | None = field(default=None, compare=False, repr=False)


@dataclass
class TransferSummary:
    """What a batch did. ``objects`` maps each source path (uploads) or destination path
    (downloads), as a string, to its :class:`StoredObject`."""

    direction: str
    objects: dict[str, StoredObject] = field(default_factory=dict)
    sent: int = 0
    skipped: int = 0
    failed: list[TransferFailure] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0
    #: Damaged objects (wrong size in the store) replaced by the right bytes.
    repaired: int = 0

    @property
    def rate(self) -> float:
        """Bytes per second actually transferred."""
        return self.bytes / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "direction": self.direction,
            "sent": self.sent,
            "skipped": self.skipped,
            "failed": [{"name": f.name, "message": f.message} for f in self.failed],
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
        }

    def describe(self) -> str:
        verb = "uploaded" if self.direction == "upload" else "downloaded"
        return (
            f"{self.sent} {verb}, {self.skipped} already there, {len(self.failed)} failed;"
            f" {self.bytes / 1e6:.1f} MB in {self.seconds:.1f} s ({self.rate / 1e6:.1f} MB/s)"
        )


@dataclass
class Usage:
    """How many objects and bytes lie under a prefix, in total and per first-level folder."""

    prefix: str
    objects: int = 0
    bytes: int = 0
    folders: dict[str, tuple[int, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "prefix": self.prefix,
            "objects": self.objects,
            "bytes": self.bytes,
            "folders": {k: {"objects": n, "bytes": b} for k, (n, b) in self.folders.items()},
        }


class ObjectMissingError(StorageError):
    """There is no object at this key."""


class ObjectExistsError(StorageError):
    """A write that must not replace an object found one there (put-if-absent lost)."""


class StoreUnavailableError(StorageError):
    """The store as a whole cannot be used (unreachable, credentials refused, disk full):
    a batch stops at the first such error instead of failing every file the same way."""


class TransferError(StorageError):
    """Some files of a batch failed; ``summary`` says which, and what did succeed."""

    def __init__(self, summary: TransferSummary) -> None:
        verb = "upload" if summary.direction == "upload" else "download"
        total = summary.sent + summary.skipped + len(summary.failed)
        by_message: dict[str, list[TransferFailure]] = {}
        down = [f for f in summary.failed if isinstance(f.error, StoreUnavailableError)]
        if down:  # one cause for all of these, however their messages differ
            by_message[down[0].message] = down
        for failure in summary.failed:
            if not isinstance(failure.error, StoreUnavailableError):
                by_message.setdefault(failure.message, []).append(failure)
        if len(by_message) == 1:
            message, group = next(iter(by_message.items()))
            names = ", ".join(f.name for f in group[:3]) + (", …" if len(group) > 3 else "")
            text = f"{len(group)} of {total} files failed to {verb} ({names}): {message}"
        else:
            lines = [f"{len(summary.failed)} of {total} files failed to {verb}:"]
            lines += [f"  {f.name}: {f.message}" for f in summary.failed[:10]]
            if len(summary.failed) > 10:
                lines.append(f"  … and {len(summary.failed) - 10} more")
            text = "\n".join(lines)
        hints = {f.error.hint for f in summary.failed if isinstance(f.error, EotdlError)}
        hints.discard(None)
        hint = hints.pop() if len(hints) == 1 else None
        super().__init__(text, hint=hint or "run the same command again: what is done is skipped")
        self.summary = summary

    def first_error(self) -> BaseException:
        """The first failure's own error (with its own hint), or this one."""
        failure = self.summary.failed[0]
        if isinstance(failure.error, EotdlError):
            return failure.error
        return StorageError(failure.message, hint=self.hint)


class Breaker:
    """Stops a batch at the first StoreUnavailableError: what has not started fails at once."""

    def __init__(self) -> None:
        self.error: StoreUnavailableError | None = None

    def guard(self, work: Callable[[T], R]) -> Callable[[T], R]:
        def run(item: T) -> R:
            if self.error is not None:
                raise StoreUnavailableError(self.error.message, hint=self.error.hint)
            try:
                return work(item)
            except StoreUnavailableError as exc:
                self.error = self.error or exc
                raise

        return run


@dataclass(frozen=True)
class ObjectCheck:
    """The result of re-hashing one object: "ok", "missing", "corrupt" or "error" (unreadable)."""

    key: str
    status: str
    message: str = ""
    size: int | None = None
    checksum: str | None = None


def message_of(exc: BaseException | None) -> str:
    """One line for a failed file: the user-facing message, or the error's type and text."""
    if isinstance(exc, EotdlError):  # SourceChangedError and InputError too
        return exc.message
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return f"{type(exc).__name__}: {exc}"
