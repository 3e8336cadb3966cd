"""Where eotdl keeps its local caches (file hashes, JSON schemas, compiled templates).

One policy for every cache: ``$EOTDL_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/eotdl``,
else ``~/.cache/eotdl``. Each cache takes a subfolder or file of its own under it.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The eotdl cache folder (not created here: each cache makes what it needs)."""
    base = os.environ.get("EOTDL_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "eotdl"
