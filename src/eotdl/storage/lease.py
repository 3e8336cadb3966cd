"""A lease on a store: one small object written put-if-absent, so one writer at a time.

Taking the lease is a conditional write (``If-None-Match: *`` on S3, a hard link in a folder):
of two machines that try at once, exactly one succeeds. The object says who holds it (pid,
host, since) and until when; the holder renews it while it works. A lease whose holder died is
taken over once it has expired, or at once when its holder was a process on this host that no
longer runs. This module knows nothing of what the lease protects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eotdl.errors import BusyError
from eotdl.storage.objects import ObjectExistsError, ObjectMissingError

if TYPE_CHECKING:
    from eotdl.storage.base import ObjectStore
    from eotdl.storage.objects import ObjectInfo

#: How long a lease lasts without renewal (a crashed holder blocks others this long at most).
DEFAULT_TTL = 300.0
#: Tokens of the leases this process holds now.
_active: set[str] = set()


@dataclass(frozen=True)
class Holder:
    """Who holds a lease (or a lock): process, host, since when, until when."""

    pid: int
    host: str
    since: float
    expires: float
    token: str = ""

    @classmethod
    def me(cls, ttl: float) -> Holder:
        now = time.time()
        return cls(os.getpid(), socket.gethostname(), now, now + ttl, uuid.uuid4().hex)

    def to_bytes(self) -> bytes:
        data = {
            "pid": self.pid,
            "host": self.host,
            "since": self.since,
            "expires": self.expires,
            "token": self.token,
        }
        return json.dumps(data, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes) -> Holder | None:
        try:
            raw: Any = json.loads(data)
            return cls(
                int(raw["pid"]),
                str(raw["host"]),
                float(raw["since"]),
                float(raw.get("expires", 0.0)),
                str(raw.get("token", "")),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def describe(self) -> str:
        since = dt.datetime.fromtimestamp(self.since, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"pid {self.pid} on host {self.host} since {since}"

    def is_stale(self, now: float | None = None) -> bool:
        """Expired, or held by a process of this host that is gone."""
        if self.expires and (now or time.time()) > self.expires:
            return True
        if self.host != socket.gethostname():
            return False
        if self.pid == os.getpid():  # ours, from a lease this process could not release
            return self.token not in _active
        return not pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lease:
    """A held lease: renewed in the background until :meth:`release`."""

    def __init__(self, store: ObjectStore, key: str, holder: Holder, ttl: float) -> None:
        self.store = store
        self.key = key
        self.holder = holder
        self.ttl = ttl
        _active.add(holder.token)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="eotdl-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            holder = Holder(
                self.holder.pid,
                self.holder.host,
                self.holder.since,
                time.time() + self.ttl,
                self.holder.token,
            )
            with contextlib.suppress(Exception):  # the work itself will meet a dead store
                if _read(self.store, self.key) == self.holder:
                    self.store.put_named(self.key, holder.to_bytes(), overwrite=True)
                    self.holder = holder

    def release(self, remove: bool = True) -> None:
        """Stop renewing; remove the lease object if it is still ours (unless ``remove`` is
        off, for a store known to be gone: the lease then expires, or is taken over at once
        by a later process of this host)."""
        self._stop.set()
        self._thread.join()
        _active.discard(self.holder.token)
        if not remove:
            return
        with contextlib.suppress(Exception):
            current = _read(self.store, self.key)
            if current is not None and current.token == self.holder.token:
                self.store.delete(self.key)


def _read(store: ObjectStore, key: str) -> Holder | None:
    try:
        with store.open(key) as handle:
            data = handle.read(4096)
    except ObjectMissingError:
        return None
    return Holder.from_bytes(data)


def acquire_lease(store: ObjectStore, key: str, what: str, ttl: float = DEFAULT_TTL) -> Lease:
    """Take the lease ``key`` on ``store``, or raise BusyError naming its holder.

    ``what`` names the protected thing in the message ("the site at s3://…"). A stale lease is
    taken over under a claim (see :func:`_claim`), so of several processes that find the same
    stale lease at once exactly one replaces it: none deletes a lease another has just taken.
    """
    for _ in range(3):
        holder = Holder.me(ttl)
        if _put_if_absent(store, key, holder):
            return Lease(store, key, holder, ttl)
        current = _read(store, key)
        if current is None:
            info = store.head(key)
            if info is None:
                continue  # released between our write and our read: try again
            stale = _object_identity(info)
            age = time.time() - info.modified.timestamp() if info.modified else 0.0
            if age <= ttl:
                raise BusyError(
                    f"{what} is busy (an unreadable lease {store.href(key)} is {age:.0f} s old)",
                    hint=f"retry later; it is taken over after {ttl:.0f} s",
                )
        elif not current.is_stale():
            raise BusyError(
                f"{what} is busy (being written by {current.describe()})",
                hint="retry when that run has finished"
                f" (a crashed writer's lease expires after {ttl:.0f} s)",
            )
        else:
            stale = _holder_identity(current)
        # what was judged stale is what may be replaced: the identity comes from the same read
        claim = _claim(store, key, stale)
        if claim is None:
            continue  # another process is taking it over: the next round sees its lease
        try:
            if _identity(store, key) != stale:
                continue  # replaced since we looked
            store.delete(key)
            holder = Holder.me(ttl)
            if _put_if_absent(store, key, holder):
                return Lease(store, key, holder, ttl)
        finally:
            store.delete(claim)
    raise BusyError(f"{what} is busy (its lease keeps changing hands)", hint="retry later")


#: A claim older than this belongs to a taker that died between its claim and its release.
CLAIM_TTL = 60.0


def _put_if_absent(store: ObjectStore, key: str, holder: Holder) -> bool:
    """Write ``holder`` at ``key`` unless an object is there. The token counts as this
    process's own from before the write, so another thread never sees it as stale."""
    _active.add(holder.token)
    try:
        store.put_named(key, holder.to_bytes(), content_type="application/json")
    except ObjectExistsError:
        _active.discard(holder.token)
        return False
    except BaseException:
        _active.discard(holder.token)
        raise
    return True


def _identity(store: ObjectStore, key: str) -> str | None:
    """What the object at ``key`` is, to tell whether it changed: its holder's token, or
    for an unreadable object its date and size."""
    current = _read(store, key)
    if current is not None:
        return _holder_identity(current)
    info = store.head(key)
    return None if info is None else _object_identity(info)


def _holder_identity(holder: Holder) -> str:
    return f"token:{holder.token}:{holder.since}:{holder.pid}:{holder.host}"


def _object_identity(info: ObjectInfo) -> str:
    modified = info.modified.timestamp() if info.modified else 0.0
    return f"object:{modified}:{info.size}"


def _claim(store: ObjectStore, key: str, stale: str | None) -> str | None:
    """The right to replace the stale lease ``stale`` at ``key``: a put-if-absent object named
    for it, so one process only holds it. The holder removes it once its own lease is written;
    one left by a crashed taker is cleared after :data:`CLAIM_TTL`. None when another holds it."""
    digest = hashlib.sha256((stale or "").encode()).hexdigest()[:16]
    claim = f"{key}.takeover-{digest}"
    try:
        store.put_named(claim, Holder.me(CLAIM_TTL).to_bytes(), content_type="application/json")
    except ObjectExistsError:
        info = store.head(claim)
        if info is not None and info.modified is not None:
            if time.time() - info.modified.timestamp() > CLAIM_TTL:
                store.delete(claim)
        return None
    return claim


@contextlib.contextmanager
def leased(store: ObjectStore, key: str, what: str, ttl: float = DEFAULT_TTL) -> Iterator[Lease]:
    """Hold the lease ``key`` for the duration of a ``with`` block."""
    lease = acquire_lease(store, key, what, ttl)
    try:
        yield lease
    finally:
        lease.release()
