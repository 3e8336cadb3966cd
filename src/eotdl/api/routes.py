"""``eotdl serve``: a read-only STAC API over a built site, and the site's static files.

Routes: ``/`` (landing page with conformance classes), ``/conformance``, ``/collections``,
``/collections/{id}``, ``/collections/{id}/items`` (paged), ``/collections/{id}/items/{item}``,
``/search`` (GET and POST: bbox, datetime, ids, collections, intersects, limit, CQL2 filter,
sortby, with a ``next`` link), ``/queryables``; any other path is a file of the site.

Stateless: the site is read once into memory and never written, and a paging token is just an
offset, so any number of copies can serve one lab behind any load balancer. Bad input is a
400 with ``{"code": "BadRequest", "description": …}``, never a 500.
"""

from __future__ import annotations

import functools
import os
import urllib.parse
from collections.abc import Mapping
from typing import Any

import orjson

from eotdl.api.index import CollectionEntry, SiteIndex
from eotdl.api.openapi import openapi_document, service_doc
from eotdl.api.responses import (
    GEOJSON,
    HTML,
    JSON,
    OPENAPI,
    SCHEMA,
    ApiError,
    Response,
    json_response,
)
from eotdl.api.search import SearchQuery, SearchResult, parse_query
from eotdl.catalog.locations import is_remote, local_path, resolve
from eotdl.catalog.siteserver import Request
from eotdl.errors import EotdlError

STAC_VERSION = "1.0.0"
CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
]
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
_ROUTES = ("/", "/conformance", "/collections", "/search", "/queryables", "/api", "/api.html")
_STRUCTURAL = {"self", "root", "parent", "child", "item", "items", "collection", "next", "prev"}
_NOT_QUERYABLE = {"type", "stac_version", "stac_extensions", "links", "assets", "bbox"}


def _link(rel: str, href: str, kind: str = JSON, **extra: Any) -> dict[str, Any]:
    return {"rel": rel, "href": href, "type": kind, **extra}


class StacApi:
    """Answers STAC API requests from a loaded site (no I/O but static files)."""

    def __init__(self, site: SiteIndex) -> None:
        self.site = site
        #: (document location, href) -> the href's path relative to the served root: pure
        #: (the site never changes under a server), and the same pages are asked again.
        self._relative_href = functools.lru_cache(maxsize=1 << 16)(self._relative)

    # -- dispatch ---------------------------------------------------------------------------

    def __call__(self, request: Request) -> Response | None:
        """Answer one request of the site server; None lets the site's files answer it."""
        return self.handle(
            request.method,
            request.target,
            request.body,
            request.base_url,
            request.headers.get("Accept") or "",
        )

    def handle(
        self, method: str, target: str, body: bytes, base_url: str, accept: str = ""
    ) -> Response | None:
        """Answer one request (errors become JSON answers); None for a file of the site."""
        try:
            return self._route(method, target, body, base_url.rstrip("/"), accept)
        except ApiError as exc:
            return json_response({"code": exc.code, "description": exc.description}, exc.status)
        except EotdlError as exc:
            description = exc.message + (f" ({exc.hint})" if exc.hint else "")
            return json_response({"code": "BadRequest", "description": description}, 400)

    def _route(
        self, method: str, target: str, body: bytes, base: str, accept: str
    ) -> Response | None:
        parts = urllib.parse.urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        segments = (
            [urllib.parse.unquote(s) for s in path.strip("/").split("/")] if path != "/" else []
        )
        api = path in _ROUTES or segments[:1] == ["collections"]
        if not api or (path == "/" and "text/html" in accept and self._has_home()):
            return self._file(method, parts.path)
        params = _params(parts.query)
        if method == "POST" and path == "/search":
            return self._search_post(body, base)
        if method not in ("GET", "HEAD"):
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {path}")
        if path == "/":
            return json_response(self.landing(base))
        if path == "/conformance":
            return json_response({"conformsTo": CONFORMANCE})
        if path == "/api":
            return json_response(openapi_document(base, self.site.title), content_type=OPENAPI)
        if path == "/api.html":
            return Response(200, service_doc(base, self.site.title).encode(), HTML)
        if path == "/queryables":
            return json_response(self.queryables(base, None), content_type=SCHEMA)
        if path == "/search":
            query = parse_query(params, "GET")
            return self._page(self.site.index.search(query), query, base, base + "/search", params)
        if path == "/collections":
            return json_response(self.collections(base))
        return self._collection_route(segments[1:], params, base)

    def _collection_route(self, segments: list[str], params: dict[str, str], base: str) -> Response:
        entry = self.site.entries.get(segments[0])
        if entry is None:
            raise ApiError(404, "NotFound", f"no collection {segments[0]!r}")
        if len(segments) == 1:
            return json_response(self.collection(entry, base))
        if segments[1] == "queryables" and len(segments) == 2:
            return json_response(
                self.queryables(base, entry), content_type="application/schema+json"
            )
        if segments[1] != "items" or len(segments) > 3:
            raise ApiError(404, "NotFound", f"no such path under /collections/{entry.id}")
        if len(segments) == 3:
            row = entry.table.row_of.get(segments[2])
            if row is None:
                raise ApiError(404, "NotFound", f"no item {segments[2]!r} in {entry.id!r}")
            item = entry.table.items([row])[0]
            return json_response(self.item(item, entry, base), content_type=GEOJSON)
        for name in ("collections", "ids", "intersects"):
            if name in params:
                raise ApiError(400, "BadRequest", f"{name} is not a parameter of this endpoint")
        query = parse_query(params, "GET")
        query.collections = [entry.id]
        url = f"{base}/collections/{_quote(entry.id)}/items"
        return self._page(self.site.index.search(query), query, base, url, params)

    # -- documents --------------------------------------------------------------------------

    def landing(self, base: str) -> dict[str, Any]:
        catalog = self.site.catalog
        links = [
            _link("self", base + "/"),
            _link("root", base + "/"),
            _link("conformance", base + "/conformance"),
            _link("service-desc", base + "/api", OPENAPI),
            _link("service-doc", base + "/api.html", "text/html"),
            _link("data", base + "/collections"),
            _link("search", base + "/search", GEOJSON, method="GET"),
            _link("search", base + "/search", GEOJSON, method="POST"),
            _link(QUERYABLES_REL, base + "/queryables", "application/schema+json"),
        ]
        links += [
            _link("child", f"{base}/collections/{_quote(cid)}", title=e.collection.get("title"))
            for cid, e in self.site.entries.items()
        ]
        return {
            "type": "Catalog",
            "stac_version": STAC_VERSION,
            "id": str(catalog.get("id") or "eotdl"),
            "title": self.site.title,
            "description": str(catalog.get("description") or self.site.title),
            "conformsTo": CONFORMANCE,
            "links": links,
        }

    def collections(self, base: str) -> dict[str, Any]:
        return {
            "collections": [self.collection(e, base) for e in self.site.entries.values()],
            "links": [_link("self", base + "/collections"), _link("root", base + "/")],
        }

    def collection(self, entry: CollectionEntry, base: str) -> dict[str, Any]:
        doc = dict(entry.collection)
        url = f"{base}/collections/{_quote(entry.id)}"
        doc["links"] = [
            _link("self", url),
            _link("root", base + "/"),
            _link("parent", base + "/"),
            _link("items", url + "/items", GEOJSON),
            _link(QUERYABLES_REL, url + "/queryables", "application/schema+json"),
            *self._other_links(doc.get("links"), entry.location, base),
        ]
        if isinstance(doc.get("assets"), dict):
            doc["assets"] = self._assets(doc["assets"], entry.location, base)
        return doc

    def item(self, item: dict[str, Any], entry: CollectionEntry, base: str) -> dict[str, Any]:
        url = f"{base}/collections/{_quote(entry.id)}"
        where = entry.table.base or entry.location
        item["collection"] = entry.id
        item["links"] = [
            _link("self", f"{url}/items/{_quote(str(item.get('id', '')))}", GEOJSON),
            _link("parent", url),
            _link("collection", url),
            _link("root", base + "/"),
            *self._other_links(item.get("links"), where, base),
        ]
        if isinstance(item.get("assets"), dict):
            item["assets"] = self._assets(item["assets"], where, base)
        return item

    def queryables(self, base: str, entry: CollectionEntry | None) -> dict[str, Any]:
        entries = [entry] if entry is not None else list(self.site.entries.values())
        properties: dict[str, Any] = {
            "id": {"type": "string", "title": "Item ID"},
            "collection": {"type": "string"},
            "geometry": {"$ref": "https://geojson.org/schema/Geometry.json"},
            "datetime": {"type": "string", "format": "date-time"},
        }
        for e in entries:
            for f in e.table.table.schema:
                if f.name in _NOT_QUERYABLE or f.name in properties:
                    continue
                properties[f.name] = _json_type(f.type)
        url = base + (f"/collections/{_quote(entry.id)}" if entry else "") + "/queryables"
        return {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": url,
            "type": "object",
            "title": "Queryables",
            "properties": properties,
            "additionalProperties": True,
        }

    def _page(
        self,
        result: SearchResult,
        query: SearchQuery,
        base: str,
        url: str,
        params: Mapping[str, Any],
        body: dict[str, Any] | None = None,
    ) -> Response:
        features = [
            self.item(item, self.site.entries[table.collection_id], base)
            for item, (table, _) in zip(result.items(), result.rows, strict=True)
        ]
        links = [_link("root", base + "/")]
        if body is None:
            own = url + ("?" + urllib.parse.urlencode(params) if params else "")
            links.append(_link("self", own, GEOJSON))
        else:
            links.append(_link("self", url, GEOJSON, method="POST", body=body))
        following = query.offset + len(features)
        if following < result.matched and features:
            links.append(self._paging_link("next", following, url, params, body))
        if query.offset > 0:
            previous = max(0, query.offset - query.limit)
            links.append(self._paging_link("prev", previous, url, params, body))
        return json_response(
            {
                "type": "FeatureCollection",
                "features": features,
                "links": links,
                "numberMatched": result.matched,
                "numberReturned": len(features),
            },
            content_type=GEOJSON,
        )

    @staticmethod
    def _paging_link(
        rel: str,
        offset: int,
        url: str,
        params: Mapping[str, Any],
        body: dict[str, Any] | None,
    ) -> dict[str, Any]:
        token = str(offset)
        if body is None:
            href = url + "?" + urllib.parse.urlencode({**params, "token": token})
            return _link(rel, href, GEOJSON, method="GET")
        return _link(rel, url, GEOJSON, method="POST", body={**body, "token": token})

    def _search_post(self, body: bytes, base: str) -> Response:
        try:
            params = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "BadRequest", f"the request body is not JSON: {exc}") from None
        if not isinstance(params, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON object")
        query = parse_query(params, "POST")
        result = self.site.index.search(query)
        return self._page(result, query, base, base + "/search", params, body=params)

    # -- hrefs ------------------------------------------------------------------------------

    def public(self, location: str, base: str) -> str:
        """A URL clients can use for a location: where a static host of the site would put it.

        A local path never goes out (no ``file://``): it is made relative to the site (or the
        lab) folder, and resolved against this server's URL as a static host would.
        """
        return self._href(location, "", base)

    def _href(self, where: str, href: str, base: str) -> str:
        relative = self._relative_href(where, href)
        if "://" in relative:
            return relative
        if relative.startswith("../"):
            return urllib.parse.urljoin(base + "/", relative)
        return base + "/" + relative

    def _relative(self, where: str, href: str) -> str:
        """``href`` read in the document at ``where`` (or ``where`` itself when ``href`` is
        empty): a remote URL, or a percent-encoded path relative to the served root."""
        location = resolve(where, href) if href else where
        if is_remote(location):
            return location
        root = self.site.local_root
        if root is None and not is_remote(self.site.root):
            root = os.path.dirname(local_path(self.site.root))
        if root is None:
            return ""
        relative = os.path.relpath(local_path(location), root).replace(os.sep, "/")
        return urllib.parse.quote(relative)

    def _assets(self, assets: dict[str, Any], where: str, base: str) -> dict[str, Any]:
        out = {}
        for key, asset in assets.items():
            if isinstance(asset, dict) and isinstance(asset.get("href"), str):
                asset = {**asset, "href": self._href(where, asset["href"], base)}
            out[key] = asset
        return out

    def _other_links(self, links: Any, where: str, base: str) -> list[dict[str, Any]]:
        out = []
        for link in links or []:
            if isinstance(link, dict) and link.get("rel") not in _STRUCTURAL:
                if isinstance(link.get("href"), str):
                    link = {**link, "href": self._href(where, link["href"], base)}
                out.append(link)
        return out

    # -- static files -----------------------------------------------------------------------

    def _has_home(self) -> bool:
        root = self.site.local_root
        return root is not None and os.path.isfile(os.path.join(root, "index.html"))

    def _file(self, method: str, raw_path: str) -> Response | None:
        """None (the server sends the file) for a local site; a redirect for a remote one."""
        if self.site.local_root is not None:
            return None
        if method not in ("GET", "HEAD"):
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {raw_path}")
        if is_remote(self.site.root):
            target = urllib.parse.urljoin(self.site.root, raw_path.lstrip("/"))
            return Response(302, b"", JSON, {"Location": target})
        raise ApiError(404, "NotFound", f"nothing at {raw_path}")


def _params(query: str) -> dict[str, str]:
    """Query parameters; a repeated one is joined with commas (``collections=a&collections=b``)."""
    found: dict[str, list[str]] = {}
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        found.setdefault(key, []).append(value)
    return {k: ",".join(v) for k, v in found.items()}


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _json_type(kind: Any) -> dict[str, Any]:
    import pyarrow as pa

    if pa.types.is_boolean(kind):
        return {"type": "boolean"}
    if pa.types.is_integer(kind):
        return {"type": "integer"}
    if pa.types.is_floating(kind):
        return {"type": "number"}
    if pa.types.is_timestamp(kind):
        return {"type": "string", "format": "date-time"}
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return {"type": "string"}
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return {"type": "array"}
    return {"type": "object"}
