"""Rasters builders for the process-pool tests: one whose workers take a lock that the test
holds in the parent, and one whose workers are slow enough to be killed mid-run. They are
found by name in the workers, so they live in an importable module, not in a test."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from eotdl.builders.rasters import RastersBuilder

#: Held by the test process while it describes: a forked worker would inherit it held.
LOCK = threading.Lock()


class LockingRasters(RastersBuilder):
    def _process_and_hash(self, path: Path) -> Any:
        with LOCK:
            return super()._process_and_hash(path)


class SlowRasters(RastersBuilder):
    def _process_and_hash(self, path: Path) -> Any:
        time.sleep(3600)
        return super()._process_and_hash(path)
