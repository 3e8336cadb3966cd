"""Where the real third-party test data lives (../shared beside the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SCHEMA_MIRROR = SHARED / "stac-schemas"
EXAMPLES = SHARED / "stac-examples"
RASTER_FIXTURES = SHARED / "raster-fixtures"


def needs_shared(path: Path) -> None:
    """Skip the calling test when ../shared (or the part it needs) is absent."""
    if not path.exists():
        pytest.skip(f"{path} is absent: these tests read real third-party data from ../shared")
