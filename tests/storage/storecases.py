"""Constants and tools shared by the storage tests (a module, not a second conftest:
tests elsewhere import from ``conftest`` by name)."""

from __future__ import annotations

import os
from pathlib import Path

from eotdl.storage import ObjectStore, TransferOptions

#: Small parts (S3's minimum) so multipart paths run on small files; quick retries.
OPTIONS = TransferOptions(workers=4, part_size=5 * 1024 * 1024, attempts=3, backoff=0.05)
MULTIPART_SIZE = 12 * 1024 * 1024


def plant_corruption(store: ObjectStore, key: str, data: bytes) -> None:
    """Replace an object's bytes behind the store's back, as a bad disk or a bug would."""
    root = getattr(store, "root", None)
    if root is not None:
        target = Path(root) / key
        os.chmod(target, 0o644)
        target.write_bytes(data)
        return
    s3 = store.client  # type: ignore[attr-defined]
    s3.put_object(Bucket=store.bucket, Key=store._full(key), Body=data)  # type: ignore[attr-defined]
