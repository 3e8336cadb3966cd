"""Object storage: one interface, two backends chosen by URL (``file://`` and ``s3://``).

Bytes are content-addressed (``objects/sha256/ab/cdef….tif``), transfers stream, run in
parallel, retry, resume and verify. This package knows nothing of STAC.

:func:`open_store` opens a store by URL: an :class:`ObjectStore` whose ``put_file``/``put_files``
give :class:`StoredObject` records (a :class:`TransferSummary` for many) and whose
``get_file``/``get_files`` verify what they read; ``head`` gives :class:`ObjectInfo`,
``usage`` a :class:`Usage`, re-hashing an object an :class:`ObjectCheck`.
:class:`TransferOptions` tunes the transfers. Errors: :class:`ObjectMissingError`,
:class:`StoreUnavailableError`, :class:`TransferError` (with a :class:`TransferFailure` per
file) and :class:`SourceChangedError` (a file changed while it was being stored).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from eotdl.errors import InputError
from eotdl.exports import public_dir
from eotdl.storage.base import ObjectStore
from eotdl.storage.objects import (
    ObjectCheck,
    ObjectInfo,
    ObjectMissingError,
    StoredObject,
    StoreUnavailableError,
    TransferError,
    TransferFailure,
    TransferSummary,
    Usage,
)
from eotdl.storage.source import SourceChangedError
from eotdl.storage.transfer import TransferOptions

__all__ = [
    "ObjectCheck",
    "ObjectInfo",
    "ObjectMissingError",
    "ObjectStore",
    "SourceChangedError",
    "StoredObject",
    "StoreUnavailableError",
    "TransferError",
    "TransferFailure",
    "TransferOptions",
    "TransferSummary",
    "Usage",
    "open_store",
]


def __dir__() -> list[str]:
    return public_dir(sys.modules[__name__])


def open_store(
    url: str,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    public_url: str | None = None,
    *,
    options: TransferOptions | None = None,
) -> ObjectStore:
    """The store at ``url``: ``file:///abs/folder`` (or a plain folder path) or ``s3://bucket/prefix``.

    For S3, ``endpoint_url``, ``region`` and ``profile`` override the standard AWS settings
    (``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``AWS_PROFILE``, credentials files).
    """
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise InputError(f"store URL {url!r} names no bucket", hint="use s3://bucket/prefix")
        from eotdl.storage.s3store import S3Store

        return S3Store(
            parsed.netloc,
            parsed.path,
            endpoint_url=endpoint_url or None,
            region=region or None,
            profile=profile or None,
            public_url=public_url or "",
            options=options,
        )
    from eotdl.storage.filestore import FileStore

    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InputError(f"store URL {url!r}: file URLs must be local (file:///abs/path)")
        return FileStore(Path(url2pathname(parsed.path)), public_url or "", options)
    if parsed.scheme and len(parsed.scheme) > 1:  # not a Windows drive letter
        raise InputError(
            f"unsupported store URL {url!r}",
            hint="use a folder, file:///abs/path or s3://bucket/prefix",
        )
    if not url:
        raise InputError(
            "empty store URL", hint="use a folder, file:///abs/path or s3://bucket/prefix"
        )
    return FileStore(Path(os.path.expanduser(url)), public_url or "", options)
