"""The service description of ``eotdl serve``: an OpenAPI 3.0 document (``/api``, linked as
``service-desc``) and a short HTML page (``/api.html``, linked as ``service-doc``)."""

from __future__ import annotations

import html
from typing import Any

from eotdl.api.search import DEFAULT_LIMIT, MAX_LIMIT

_GEOJSON = "application/geo+json"


def _json(schema_ref: str, kind: str = "application/json") -> dict[str, Any]:
    return {"content": {kind: {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _errors() -> dict[str, Any]:
    return {
        "400": {"description": "A malformed parameter", **_json("Exception")},
        "404": {"description": "Not found", **_json("Exception")},
        "413": {"description": "Request body too large", **_json("Exception")},
        "414": {"description": "Query string too long", **_json("Exception")},
    }


def openapi_document(base: str, title: str) -> dict[str, Any]:
    """The OpenAPI 3.0 description of every route, with the limits the server enforces."""
    search_params = [
        _param("bbox", "minx,miny,maxx,maxy (lon/lat)", {"type": "string"}),
        _param("intersects", "A GeoJSON geometry", {"type": "string"}),
        _param("datetime", "RFC 3339 date-time or interval A/B, ../B, A/..", {"type": "string"}),
        _param("collections", "Comma-separated collection ids", {"type": "string"}),
        _param("ids", "Comma-separated item ids", {"type": "string"}),
        _param(
            "limit",
            f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        ),
        _param("token", "Paging token from a next/prev link", {"type": "string"}),
        _param("filter", "CQL2-text or CQL2-JSON", {"type": "string"}),
        _param("filter-lang", "cql2-text or cql2-json", {"type": "string"}),
        _param("sortby", "e.g. -datetime,+id", {"type": "string"}),
    ]
    item_collection = {"description": "A page of Items", **_json("ItemCollection", _GEOJSON)}
    collection_id = {"name": "collectionId", "in": "path", "required": True, "schema": {}}
    collection_id["schema"] = {"type": "string"}
    item_id = {"name": "itemId", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{title}: STAC API",
            "version": "1.0.0",
            "description": (
                "A read-only STAC API over a built eotdl site. Limits: request bodies up to"
                " 1 MiB (413), request targets up to 8 KiB (414), CQL2 filters nested up to"
                f" 64 deep, limit at most {MAX_LIMIT}."
            ),
        },
        "servers": [{"url": base}],
        "paths": {
            "/": {"get": {"summary": "Landing page", "responses": {"200": _json("Catalog")}}},
            "/api": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI"}},
                }
            },
            "/conformance": {
                "get": {"summary": "Conformance classes", "responses": {"200": _json("Object")}}
            },
            "/collections": {
                "get": {"summary": "Every collection", "responses": {"200": _json("Object")}}
            },
            "/collections/{collectionId}": {
                "get": {
                    "summary": "One collection",
                    "parameters": [collection_id],
                    "responses": {"200": _json("Object"), **_errors()},
                }
            },
            "/collections/{collectionId}/items": {
                "get": {
                    "summary": "The collection's Items, paged",
                    "parameters": [
                        collection_id,
                        *search_params[:1],
                        *search_params[2:3],
                        *search_params[5:],
                    ],
                    "responses": {"200": item_collection, **_errors()},
                }
            },
            "/collections/{collectionId}/items/{itemId}": {
                "get": {
                    "summary": "One Item",
                    "parameters": [collection_id, item_id],
                    "responses": {"200": _json("Object", _GEOJSON), **_errors()},
                }
            },
            "/search": {
                "get": {
                    "summary": "Search Items",
                    "parameters": search_params,
                    "responses": {"200": item_collection, **_errors()},
                },
                "post": {
                    "summary": "Search Items",
                    "requestBody": {
                        "content": {"application/json": {"schema": {"type": "object"}}}
                    },
                    "responses": {"200": item_collection, **_errors()},
                },
            },
            "/queryables": {
                "get": {"summary": "Queryable properties", "responses": {"200": _json("Object")}}
            },
        },
        "components": {
            "schemas": {
                "Object": {"type": "object"},
                "Catalog": {"type": "object", "required": ["links"]},
                "ItemCollection": {
                    "type": "object",
                    "required": ["type", "features"],
                    "properties": {"type": {"type": "string"}, "features": {"type": "array"}},
                },
                "Exception": {
                    "type": "object",
                    "required": ["code"],
                    "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
                },
            }
        },
    }


def service_doc(base: str, title: str) -> str:
    """A short human-readable page about the API."""
    name = html.escape(title)
    root = html.escape(base + "/")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{name}: STAC API</title></head><body>"
        f"<h1>{name}: STAC API</h1>"
        "<p>A read-only <a href='https://stacspec.org'>STAC API</a>. Open it with any STAC"
        f' client, e.g. <code>pystac_client.Client.open("{root}")</code>.</p>'
        "<ul>"
        f"<li><a href='{root}'>Landing page</a></li>"
        f"<li><a href='{root}conformance'>Conformance classes</a></li>"
        f"<li><a href='{root}collections'>Collections</a></li>"
        f"<li><a href='{root}search'>Item search</a> (GET and POST; bbox, datetime,"
        " intersects, ids, collections, CQL2 filter, sortby, limit)</li>"
        f"<li><a href='{root}api'>OpenAPI document</a></li>"
        "</ul>"
        f"<p>Limits: limit at most {MAX_LIMIT} items a page; request bodies up to 1 MiB;"
        " request targets up to 8 KiB; CQL2 filters nested up to 64 deep.</p>"
        "</body></html>"
    )
