"""The botocore helpers of the S3 backend, without a server."""

from __future__ import annotations

import datetime as dt

import botocore.exceptions as bce

from eotdl.storage.s3client import fast_listing, network_reason, parse_time

PAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Name>b</Name><Prefix>p%2F</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
<NextContinuationToken>tok</NextContinuationToken>
<Contents><Key>p/a+b%2Bc.txt</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified>
<ETag>"x"</ETag><Size>7</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>p/%C3%A9.tif</Key><LastModified>2026-01-02T03:04:06.000Z</LastModified>
<Size>0</Size></Contents>
</ListBucketResult>"""


def test_fast_listing_reads_entries_and_leaves_the_rest_to_botocore() -> None:
    response = {"status_code": 200, "body": PAGE, "headers": {}}
    custom: dict[str, object] = {}
    fast_listing(response, custom)
    assert custom["EotdlEntries"] == [
        ("p/a b+c.txt", 7, "2026-01-02T03:04:05.000Z"),
        ("p/é.tif", 0, "2026-01-02T03:04:06.000Z"),
    ]
    body = response["body"]
    assert isinstance(body, bytes)
    assert b"Contents" not in body and b"NextContinuationToken" in body


def test_fast_listing_leaves_errors_and_odd_pages_alone() -> None:
    for response in (
        {"status_code": 404, "body": PAGE},
        {"status_code": 200, "body": b"not xml"},
        {"status_code": 200, "body": b"<R><Contents><Key>k</Key></Contents></R>"},  # no Size
    ):
        before = dict(response)
        custom: dict[str, object] = {}
        fast_listing(response, custom)
        assert custom == {} and response == before


def test_timestamps_and_reasons() -> None:
    assert parse_time("2026-01-02T03:04:05.000Z") == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert parse_time("Fri, 02 Jan 2026 03:04:05 GMT") == dt.datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC
    )
    assert parse_time("nonsense") is None and parse_time(None) is None
    refused = bce.EndpointConnectionError(
        endpoint_url="http://x",
        error=OSError(
            "<conn>: Failed to establish a new connection: [Errno 111] Connection refused"
        ),
    )
    assert network_reason(refused) == "[Errno 111] Connection refused"
