"""Where a lab's heavy work runs: the ``[compute] cluster`` setting and ``--cluster`` values.

``local`` is a Dask cluster of worker processes on this machine; ``tcp://HOST:PORT`` (or
``tls://``) the scheduler of a running cluster, whose workers read and write the lab's store
themselves (S3, or a folder shared at the same path), so no bytes pass through the client.
No value means the default of each command (QA: threads in this process).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from eotdl.errors import InputError

LOCAL = "local"
SCHEMES = ("tcp://", "tls://", "inproc://")


def check_cluster(value: str) -> str:
    """``value`` if it names a cluster: ``local`` or a scheduler address."""
    text = value.strip()
    if text == LOCAL or (text.startswith(SCHEMES) and len(text) > len("tcp://")):
        return text
    raise InputError(
        f"{value!r} is not a cluster",
        hint="use 'local' or the address of a Dask scheduler, e.g. tcp://127.0.0.1:8786",
    )


def lab_cluster(root: Path) -> str | None:
    """The lab's ``[compute] cluster`` setting in ``eotdl.toml`` (None when unset)."""
    path = root / "eotdl.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    value = (data.get("compute") or {}).get("cluster")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(f"{path}: [compute] cluster must be a string")
    return check_cluster(value)
