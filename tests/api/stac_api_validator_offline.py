"""Run stac-api-validator with no network: JSON schemas come from the local mirror.

Run with the Python of the validator's own virtualenv (``.venv-validator``, made by
``make install`` from requirements-validator.txt), with ``EOTDL_SCHEMA_MIRROR`` set to the
mirror folder (laid out ``HOST/PATH``); the arguments are stac-api-validator's. Requests to
127.0.0.1 go out as usual; any other URL is answered from the mirror (404 when it is not there),
so nothing leaves the machine.
"""

from __future__ import annotations

import os
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

MIRROR = Path(os.environ["EOTDL_SCHEMA_MIRROR"])
_send = HTTPAdapter.send


def _offline_send(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
    parts = urllib.parse.urlsplit(request.url)
    if parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return _send(self, request, *args, **kwargs)
    path = MIRROR / (parts.hostname or "") / parts.path.lstrip("/")
    response = requests.Response()
    response.url = request.url
    response.request = request
    if path.is_file():
        response.status_code = 200
        response._content = path.read_bytes()
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
    else:
        response.status_code = 404
        response._content = b"{}"
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
    response.encoding = "utf-8"
    return response


HTTPAdapter.send = _offline_send  # type: ignore[method-assign]

if __name__ == "__main__":
    from stac_api_validator.__main__ import main

    sys.argv[0] = "stac-api-validator"
    main()
