"""What the STAC API answers: a status, a body and headers; errors as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

JSON = "application/json"
GEOJSON = "application/geo+json"
SCHEMA = "application/schema+json"


@dataclass
class Response:
    """What the handler sends."""

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An error answered as JSON with this status and code."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


def json_response(data: Any, status: int = 200, content_type: str = JSON) -> Response:
    """``data`` serialised as JSON."""
    return Response(status, orjson.dumps(data), content_type)
