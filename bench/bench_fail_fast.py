"""Benchmark (issue #13): how fast clear errors come, timed here and not in pass/fail tests.

Tests check *that* these fail with a clear message; how long they take depends on how busy the
machine is, so the seconds are measured here: a 100 MB single-line ndjson file refused, an
unknown schema offline, an unreachable schema URL with the network allowed, and an S3 endpoint
where nothing listens (upload and head).

    python bench/bench_fail_fast.py
"""

from __future__ import annotations

import json
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "bench")]

from results import table, write_section  # noqa: E402

ITEM = {
    "type": "Feature",
    "stac_version": "1.1.0",
    "id": "x",
    "geometry": None,
    "properties": {"datetime": "2024-01-01T00:00:00Z"},
    "links": [],
    "assets": {},
}


def timed(label: str, work: Callable[[], object]) -> list[object]:
    started = time.perf_counter()
    try:
        work()
        outcome = "returned its report"
    except Exception as exc:  # noqa: BLE001 - the error is what is measured
        outcome = type(exc).__name__
    seconds = time.perf_counter() - started
    print(f"  {label:<48} {seconds:7.3f} s  {outcome}")
    return [label, f"{seconds:.3f}", outcome]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    from eotdl.catalog.schemas import SchemaSource
    from eotdl.catalog.validate import Validator, validate_target
    from eotdl.storage import open_store

    rows = []
    with tempfile.TemporaryDirectory(prefix="eotdl-bench-") as folder:
        work = Path(folder)
        huge = work / "huge.ndjson"
        with huge.open("wb") as handle:
            handle.write(b'{"type": "Feature", "id": "')
            handle.write(b"x" * (100 * 1024 * 1024))
        rows.append(timed("100 MB single-line ndjson refused", lambda: validate_target(str(huge))))
        unknown = {**ITEM, "stac_extensions": ["https://example.invalid/ext/v1.0.0/schema.json"]}
        source = SchemaSource(mirrors=(), cache=work / "cache", allow_network=False)
        rows.append(
            timed(
                "unknown schema, offline",
                lambda: Validator(source).validate_object(json.loads(json.dumps(unknown)), "x"),
            )
        )
        url = f"http://127.0.0.1:{_closed_port()}/schemas/item.json"
        online = SchemaSource(mirrors=(), cache=work / "cache2", allow_network=True)
        rows.append(
            timed(
                "unreachable schema URL, network allowed",
                lambda: Validator(online).validate_object({**ITEM, "stac_extensions": [url]}, "x"),
            )
        )
        blob = work / "a.bin"
        blob.write_bytes(b"x")
        store = open_store("s3://bucket/lab", endpoint_url=f"http://127.0.0.1:{_closed_port()}")
        rows.append(timed("S3 endpoint, nothing listens: upload", lambda: store.put_file(blob)))
        rows.append(timed("S3 endpoint, nothing listens: head", lambda: store.head("x")))
    body = "Seconds until the clear error (the tests check the message, not the time).\n\n" + table(
        ["case", "seconds", "error"], rows
    )
    write_section("fail-fast", "Clear errors, fast", "python bench/bench_fail_fast.py", body)


if __name__ == "__main__":
    main()
