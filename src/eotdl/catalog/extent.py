"""A collection's spatial and temporal extent, accumulated over its items in one pass."""

from __future__ import annotations

import math
from typing import Any


class ExtentAccumulator:
    """Union of item bboxes and the span of their datetimes."""

    def __init__(self) -> None:
        self.bbox = [math.inf, math.inf, -math.inf, -math.inf]
        self.start: str | None = None
        self.end: str | None = None

    def add(self, item: dict[str, Any]) -> None:
        bbox = item.get("bbox")
        if isinstance(bbox, list) and len(bbox) >= 4:
            half = len(bbox) // 2
            self.bbox = [
                min(self.bbox[0], bbox[0]),
                min(self.bbox[1], bbox[1]),
                max(self.bbox[2], bbox[half]),
                max(self.bbox[3], bbox[half + 1]),
            ]
        props = item.get("properties") or {}
        for key in ("datetime", "start_datetime", "end_datetime"):
            value = props.get(key)
            if isinstance(value, str):
                if self.start is None or value < self.start:
                    self.start = value
                if self.end is None or value > self.end:
                    self.end = value

    def to_extent(self) -> dict[str, Any]:
        bbox = self.bbox if math.isfinite(self.bbox[0]) else [-180.0, -90.0, 180.0, 90.0]
        return {
            "spatial": {"bbox": [bbox]},
            "temporal": {"interval": [[self.start, self.end]]},
        }
