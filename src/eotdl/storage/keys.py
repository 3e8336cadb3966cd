"""Content addressing: where an object's bytes live, derived from their SHA-256.

A content-addressed key is ``objects/sha256/<hex[:2]>/<hex[2:]><ext>``: the same bytes always
get the same key, so uploads are idempotent and deduplicated, and a key proves its content.
"""

from __future__ import annotations

import re

from eotdl.errors import InputError

CONTENT_PREFIX = "objects/sha256/"
#: Compression suffixes that keep the suffix before them: ``.tar.gz``, ``.csv.gz``.
COMPRESSIONS = frozenset({".gz", ".bz2", ".xz", ".zst", ".lz4", ".z", ".br"})
_SUFFIX = re.compile(r"^\.[a-z0-9][a-z0-9_-]{0,9}$")
_CONTENT_KEY = re.compile(r"^objects/sha256/([0-9a-f]{2})/([0-9a-f]{62})((?:\.[a-z0-9_-]+){0,2})$")


def extension(name: str) -> str:
    """The lower-cased extension of a file name (``.tif``, ``.tar.gz``), or "" when it has none."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    stem, *suffixes = base.split(".")
    if not suffixes or (not stem and len(suffixes) == 1):
        return ""
    last = "." + suffixes[-1]
    if not _SUFFIX.match(last):
        return ""
    if last in COMPRESSIONS and len(suffixes) >= 2:
        before = "." + suffixes[-2]
        if _SUFFIX.match(before) and len(before) <= 6:
            return before + last
    return last


def content_key(sha256_hex: str, name: str = "") -> str:
    """The key for bytes with this SHA-256 (hex), keeping the extension of ``name``."""
    digest = sha256_hex.lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise InputError(f"not a SHA-256 hex digest: {sha256_hex!r}")
    return f"{CONTENT_PREFIX}{digest[:2]}/{digest[2:]}{extension(name)}"


def sha256_of_key(key: str) -> str | None:
    """The SHA-256 (hex) a content-addressed key names, or None for any other key."""
    match = _CONTENT_KEY.match(key)
    return match.group(1) + match.group(2) if match else None


def is_content_key(key: str) -> bool:
    return sha256_of_key(key) is not None


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative object key, else raise InputError."""
    if (
        not key
        or key.startswith("/")
        or "\\" in key
        or "\x00" in key
        or any(part in ("", ".", "..") for part in key.split("/"))
    ):
        raise InputError(
            f"invalid object key {key!r}",
            hint="keys are relative paths like 'site/index.html': no leading '/', no '..',"
            " no empty parts",
        )
    return key
