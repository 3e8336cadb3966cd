"""The botocore side of the S3 backend: one client, error classification, fast timestamps
and response reading."""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import http.client
import io
import re
from typing import Any
from urllib.parse import unquote_plus
from xml.etree import ElementTree

import botocore.exceptions as bce
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from urllib3.exceptions import HTTPError as Urllib3Error

from eotdl.errors import StorageError
from eotdl.storage.hashing import CHUNK
from eotdl.storage.objects import Sink, StoreUnavailableError
from eotdl.storage.transfer import TransferOptions

TRANSIENT_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestThrottled",
        "InternalError",
        "ServiceUnavailable",
        "OperationAborted",
        "ConditionalRequestConflict",
    }
)
#: The server computed another checksum than the one sent with the bytes.
DIGEST_CODES = frozenset({"BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"})
CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "TokenRefreshRequired",
        "AuthorizationHeaderMalformed",
        "InvalidSecurity",
    }
)
NETWORK_ERRORS = (
    bce.EndpointConnectionError,
    bce.ConnectionClosedError,
    bce.ReadTimeoutError,
    bce.ConnectTimeoutError,
    bce.ResponseStreamingError,
    bce.IncompleteReadError,
    Urllib3Error,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)


class S3ConnectionError(StoreUnavailableError):
    """The S3 endpoint could not be reached, or the connection kept failing."""


def error_code(exc: BaseException) -> tuple[str, int]:
    if isinstance(exc, bce.ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return str(error.get("Code", "")), int(status or 0)
    return "", 0


def network_reason(exc: BaseException) -> str:
    """The useful end of a network error ("[Errno 111] Connection refused"), not its URL."""
    kwargs = getattr(exc, "kwargs", None) or {}
    for text in (str(kwargs.get("error", "")), str(exc)):
        match = re.search(r"\[Errno -?\d+\][^'\"\)]*", text)
        if match:
            return match.group(0).strip()
    if isinstance(exc, bce.ConnectTimeoutError):
        return "timed out"
    return str(exc)


def b64(sha256_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


class BodyReader(io.RawIOBase):
    """A raw binary stream over a botocore response body."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


def drain(body: Any, sink: Sink) -> int:
    """Pass every byte of a response body to ``sink``; return the count.

    When the body wraps a plain ``http.client`` response, read straight into one reused
    buffer (one copy less per byte than ``body.read``), the way rclone's buffers work.
    """
    raw = getattr(body, "_raw_stream", None)
    fp = getattr(raw, "_fp", None)
    if raw is not None and isinstance(fp, http.client.HTTPResponse):
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        total = 0
        while True:
            count = fp.readinto(view)
            if not count:
                break
            sink(view[:count])
            total += count
        raw.release_conn()
        return total
    total = 0
    while True:
        block = body.read(CHUNK)
        if not block:
            return total
        sink(memoryview(block))
        total += len(block)


def parse_time(value: Any) -> dt.datetime | None:
    """A timestamp as botocore hands it over unparsed (ISO 8601 in listings, RFC 1123 in
    headers); parsing it ourselves is several times faster than botocore's dateutil."""
    if value is None or isinstance(value, dt.datetime):
        return value
    text = str(value)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            return email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None


def fast_listing(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """Read a ListObjectsV2 page's entries with ElementTree (C) and hand botocore the page
    without them: a 1,000-key page costs ~2 ms instead of ~20 ms in botocore's parser.
    On anything unexpected the page is left to botocore as it is."""
    if response_dict.get("status_code") != 200 or "EotdlEntries" in customized_response_dict:
        return
    try:
        root = ElementTree.fromstring(response_dict["body"])
    except (ElementTree.ParseError, KeyError, TypeError):
        return
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    encoded = root.findtext(f"{ns}EncodingType") == "url"
    entries = []
    for item in root.findall(f"{ns}Contents"):
        key = item.findtext(f"{ns}Key")
        size = item.findtext(f"{ns}Size")
        if key is None or size is None:
            return
        entries.append(
            (unquote_plus(key) if encoded else key, int(size), item.findtext(f"{ns}LastModified"))
        )
    for item in root.findall(f"{ns}Contents"):
        root.remove(item)
    customized_response_dict["EotdlEntries"] = entries
    response_dict["body"] = ElementTree.tostring(root)


def _raw_timestamp(value: str) -> str:
    return value


def make_client(
    endpoint_url: str | None, region: str | None, profile: str | None, options: TransferOptions
) -> Any:
    """One botocore S3 client (boto3 adds nothing a client needs, and costs 0.1 s to import)."""
    core = botocore.session.get_session()
    if profile:
        core.set_config_variable("profile", profile)
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=_raw_timestamp
    )
    try:
        signed = core.get_credentials() is not None
        region = region or core.get_config_variable("region") or "us-east-1"
    except bce.ProfileNotFound:
        raise StorageError(
            f"AWS profile {profile!r} not found",
            hint="define it in ~/.aws/config, or fix [store] profile in eotdl.toml",
        ) from None
    config = Config(
        signature_version=None if signed else UNSIGNED,
        max_pool_connections=max(32, options.workers * 2 + 8),
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        retries={"total_max_attempts": 1},
        tcp_keepalive=True,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={
            "payload_signing_enabled": False,
            "addressing_style": "path" if endpoint_url else "auto",
        },
    )
    try:
        client = core.create_client(
            "s3", region_name=region, endpoint_url=endpoint_url, config=config
        )
    except ValueError as exc:
        raise StorageError(f"invalid S3 endpoint URL {endpoint_url!r}: {exc}") from None
    client.meta.events.register("before-parse.s3.ListObjectsV2", fast_listing)
    return client
