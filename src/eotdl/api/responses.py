"""What the STAC API answers: a status, a body and headers; errors as JSON."""

from __future__ import annotations

from typing import Any

import orjson

from eotdl.catalog.siteserver import Response

JSON = "application/json"
GEOJSON = "application/geo+json"
SCHEMA = "application/schema+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
HTML = "text/html; charset=utf-8"

__all__ = ["GEOJSON", "HTML", "JSON", "OPENAPI", "SCHEMA", "ApiError", "Response", "json_response"]


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
