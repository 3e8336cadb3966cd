"""JSON schemas from a local cache: a mirror folder, the user cache, or the network.

A schema URL ``https://HOST/PATH`` is looked up as ``HOST/PATH`` in every folder of
``EOTDL_SCHEMA_MIRROR`` (``os.pathsep``-separated), then in the cache
(``$EOTDL_CACHE_DIR/schemas``, default ``~/.cache/eotdl/schemas``), then fetched (unless
``EOTDL_OFFLINE=1``) with a short timeout and kept in the cache. A schema found nowhere is a
:class:`SchemaUnavailableError` naming its URL, never a hang.
"""

from __future__ import annotations

import os
import re
import threading
import urllib.parse
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from eotdl.atomic import write_bytes_atomic
from eotdl.catalog import canonical
from eotdl.catalog.vocabulary import extension_url
from eotdl.errors import SchemaUnavailableError
from eotdl.storage.cachedir import cache_dir

#: STAC versions whose core schemas we know how to name.
STAC_VERSIONS = (
    "0.8.0",
    "0.8.1",
    "0.9.0",
    "1.0.0-beta.1",
    "1.0.0-beta.2",
    "1.0.0-rc.1",
    "1.0.0-rc.2",
    "1.0.0-rc.3",
    "1.0.0-rc.4",
    "1.0.0",
    "1.1.0-beta.1",
    "1.1.0",
)
CORE_PATHS = {
    "Feature": "item-spec/json-schema/item.json",
    "Collection": "collection-spec/json-schema/collection.json",
    "Catalog": "catalog-spec/json-schema/catalog.json",
}
#: Extension versions we ship in ``schemas sync`` so a fresh cache covers what eotdl writes.
SYNC_URLS = tuple(
    f"https://schemas.stacspec.org/v{v}/{p}"
    for v in ("1.0.0", "1.1.0")
    for p in CORE_PATHS.values()
) + tuple(
    extension_url(*name.split("/"))
    for name in (
        "eo/v1.1.0",
        "eo/v2.0.0",
        "projection/v1.1.0",
        "projection/v2.0.0",
        "raster/v1.1.0",
        "file/v2.1.0",
        "label/v1.0.1",
        "ml-aoi/v0.2.0",
        "mlm/v1.4.0",
        "version/v1.2.0",
        "processing/v1.2.0",
        "classification/v1.1.0",
        "scientific/v1.0.0",
        "sar/v1.2.0",
        "sat/v1.1.0",
        "view/v1.1.0",
    )
)


def core_schema_url(stac_version: str, stac_type: str) -> str:
    """The official core schema URL for an object of ``stac_type`` at ``stac_version``."""
    return f"https://schemas.stacspec.org/v{stac_version}/{CORE_PATHS[stac_type]}"


def extension_schema_url(stac_version: str, extension: str) -> str:
    """The schema URL of a declared extension (pre-1.0 short names become official URLs)."""
    if "://" in extension:
        return extension
    return f"https://schemas.stacspec.org/v{stac_version}/extensions/{extension}/json-schema/schema.json"


def schema_cache_dir() -> Path:
    """Where fetched schemas are kept: ``schemas/`` in eotdl's cache folder
    (:func:`eotdl.storage.cachedir.cache_dir`)."""
    return cache_dir() / "schemas"


def offline() -> bool:
    return os.environ.get("EOTDL_OFFLINE", "").lower() in ("1", "true", "yes")


def normalise_url(url: str) -> str:
    """The URL without its fragment."""
    return urllib.parse.urldefrag(url)[0]


def relative_path(url: str) -> Path:
    """Where ``url`` lives in a mirror or cache: ``HOST/PATH``."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path.lstrip("/")
    if not parts.netloc or not path or ".." in Path(path).parts:
        raise SchemaUnavailableError(f"{url}: not a schema URL this cache can hold")
    host = parts.netloc if not parts.port else parts.netloc.replace(":", "_")
    return Path(host) / path


@dataclass
class SchemaSource:
    """Finds schemas by URL; thread-safe, remembers what it has loaded."""

    mirrors: tuple[Path, ...] = ()
    cache: Path | None = None
    allow_network: bool = True

    def __post_init__(self) -> None:
        self._loaded: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> SchemaSource:
        mirrors = tuple(
            Path(p) for p in os.environ.get("EOTDL_SCHEMA_MIRROR", "").split(os.pathsep) if p
        )
        return cls(mirrors=mirrors, cache=schema_cache_dir(), allow_network=not offline())

    def load(self, url: str) -> dict[str, Any]:
        """The schema at ``url`` (fragment ignored)."""
        url = normalise_url(url)
        with self._lock:
            found = self._loaded.get(url)
        if found is not None:
            return found
        schema = self._find(url)
        with self._lock:
            self._loaded[url] = schema
        return schema

    def _find(self, url: str) -> dict[str, Any]:
        meta = _metaschema(url)
        if meta is not None:
            return meta
        relative = relative_path(url)
        for folder in (*self.mirrors, *((self.cache,) if self.cache else ())):
            candidate = folder / relative
            if candidate.is_file():
                return _parse(candidate.read_bytes(), str(candidate))
        if not self.allow_network:
            raise SchemaUnavailableError(
                f"schema unavailable: {url} is not in the local cache and the network is off",
                hint="run `eotdl schemas sync` with a network, or point EOTDL_SCHEMA_MIRROR at"
                " a folder laid out HOST/PATH",
            )
        data = fetch(url)
        schema = _parse(data, url)
        if self.cache is not None:
            write_bytes_atomic(self.cache / relative, data)
        return schema


def _metaschema(url: str) -> dict[str, Any] | None:
    """JSON Schema's own meta-schemas (draft-04 to 2020-12) come with jsonschema-specifications."""
    if "json-schema.org/" not in url:
        return None
    single = _single_file_metaschema(url)
    if single is not None:
        return single
    from jsonschema_specifications import REGISTRY

    for candidate in (url, url.replace("https://", "http://"), url.replace("http://", "https://")):
        try:
            return dict(REGISTRY.contents(candidate))
        except Exception:  # noqa: BLE001 - not a known meta-schema under this spelling
            continue
    return None


#: Draft -> folder of jsonschema-specifications holding its one-file meta-schema.
_SINGLE_FILE_DRAFTS = {"draft-04": "draft4", "draft-06": "draft6", "draft-07": "draft7"}


def _single_file_metaschema(url: str) -> dict[str, Any] | None:
    """Drafts 4, 6 and 7 read straight from jsonschema-specifications' files: importing it
    (and referencing, attrs) would cost 50 ms of the start of every validation."""
    import importlib.util

    parts = urllib.parse.urlsplit(url)
    draft = parts.path.strip("/").removesuffix("/schema")
    folder = _SINGLE_FILE_DRAFTS.get(draft)
    if parts.netloc != "json-schema.org" or folder is None:
        return None
    spec = importlib.util.find_spec("jsonschema_specifications")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "schemas" / folder
    try:
        return _parse((path / "metaschema.json").read_bytes(), str(path))
    except (OSError, SchemaUnavailableError):
        return None


def fetch(url: str) -> bytes:
    """GET ``url`` through the one reader; any failure is a SchemaUnavailableError."""
    # imported here: urllib.request costs 40 ms of imports an offline run does not need
    from eotdl.catalog.locations import FetchError, http_get, is_url

    if not is_url(url):
        raise SchemaUnavailableError(f"schema unavailable: {url} is not an http(s) URL")
    try:
        return http_get(url)
    except FetchError as exc:
        if exc.status is not None:
            raise SchemaUnavailableError(
                f"schema unavailable: {url} answered HTTP {exc.status}"
            ) from None
        raise SchemaUnavailableError(
            f"schema unavailable: {exc.message}",
            hint="check the network, or point EOTDL_SCHEMA_MIRROR at a local mirror",
        ) from None


def _parse(data: bytes, source: str) -> dict[str, Any]:
    try:
        schema = canonical.loads(data)
    except ValueError as exc:
        raise SchemaUnavailableError(f"schema at {source} is not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise SchemaUnavailableError(f"schema at {source} is not a JSON object")
    return schema


def sync(urls: Iterable[str] = SYNC_URLS, source: SchemaSource | None = None) -> dict[str, str]:
    """Fetch ``urls`` and everything they reference into the cache; return url -> status."""
    src = source or SchemaSource.from_environment()
    status: dict[str, str] = {}
    fetched = load_with_refs(
        urls, src, follow=lambda url: url.startswith("http") and "json-schema.org" not in url
    )
    for url, loaded in fetched:
        status[url] = f"failed: {loaded.message}" if isinstance(loaded, Exception) else "ok"
    return status


def load_with_refs(
    urls: Iterable[str],
    source: SchemaSource,
    skip: Container[str] = (),
    follow: Callable[[str], bool] = lambda url: True,
) -> Iterator[tuple[str, dict[str, Any] | SchemaUnavailableError]]:
    """Each of ``urls`` and every schema it references, depth first, each once: (url, schema),
    or (url, the error) for one that cannot be loaded. The references of JSON Schema's own
    meta-schemas are not followed, nor those ``follow`` refuses, nor those in ``skip`` (read
    as the walk goes: a caller may add to it)."""
    seen: set[str] = set()
    pending = [normalise_url(u) for u in urls]
    while pending:
        url = pending.pop()
        if url in seen or url in skip:
            continue
        seen.add(url)
        try:
            schema = source.load(url)
        except SchemaUnavailableError as exc:
            yield url, exc
            continue
        yield url, schema
        if "json-schema.org/" in url:
            continue
        for ref in external_refs(schema):
            target = normalise_url(urllib.parse.urljoin(url, ref))
            if target and follow(target):
                pending.append(target)


#: A ``"$ref": "..."`` member in compact JSON (as orjson writes it).
_REF = re.compile(rb'"\$ref":("(?:[^"\\]|\\.)*")')


def external_refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` string of ``node`` that is not a local ``#`` pointer (found in the
    serialised JSON: a tenth of the time of walking the dicts in Python)."""
    for found in _REF.finditer(orjson.dumps(node)):
        ref = orjson.loads(found.group(1))
        if not ref.startswith("#"):
            yield ref
