"""Searching a STAC API for scenes: the client, one search, and the scenes it keeps.

:func:`open_client` opens the API with pystac-client (which pages through the results) and
refuses what is unreachable or offers no item search; :func:`search_items` runs one search
(bbox for boxes, intersects otherwise; a cloud-cover filter through the query or filter
extension). :class:`SceneSearch` is what the ``stac-api`` builder asks: the scenes of one
collection over a place and a time window, one client per thread, broken scenes skipped and
counted when asked. Errors say what was asked and how to change it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import shapely
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry

from eotdl.builders.mosaic import Counts
from eotdl.builders.scenes import MissingAssetError, Scene, default_assets, scene_from_item
from eotdl.catalog.times import Interval, format_interval
from eotdl.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_API = "https://earth-search.aws.element84.com/v1"


class SceneSearch:
    """The scenes of one API, searched per collection, place and time window.

    ``wanted`` maps a collection to the asset names to read; a collection not in it gets
    its defaults (:func:`eotdl.builders.scenes.default_assets`) at its first search.
    """

    def __init__(
        self,
        api: str,
        *,
        wanted: dict[str, list[str]],
        max_cloud: float | None,
        max_scenes: int,
        skip_broken: bool,
        stats: Counts,
    ) -> None:
        self.api = api
        self.wanted = wanted
        self.max_cloud = max_cloud
        self.max_scenes = max_scenes
        self.skip_broken = skip_broken
        self.stats = stats
        self._local = threading.local()

    def client(self) -> Any:
        """A pystac-client Client for this thread (requests sessions are not thread-safe)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = open_client(self.api)
            self._local.client = client
        return client

    def scenes(
        self,
        collection: str,
        where: BaseGeometry,
        interval: Interval,
        primary: bool,
        required: bool = True,
    ) -> list[Scene]:
        """Scenes of ``collection`` over ``where`` in ``interval``, sorted by time and id.

        Only ``primary`` searches filter by cloud cover; a ``required`` search that finds
        nothing is an error.
        """
        client = self.client()
        max_cloud = self.max_cloud if primary else None
        query = describe_query(self.api, collection, where, interval, max_cloud)
        found = search_items(client, collection, where, interval, max_cloud, self.max_scenes, query)
        if len(found) >= int(self.max_scenes):
            self.stats.add("searches_truncated")
            log.warning("stac-api: %s hit --max-scenes %s", query, self.max_scenes)
        scenes = []
        for raw in found:
            cloud = (raw.get("properties") or {}).get("eo:cloud_cover")
            if max_cloud is not None and cloud is not None and float(cloud) >= max_cloud:
                self.stats.add("scenes_too_cloudy")
                continue
            wanted = self.wanted.get(collection) or default_assets(collection, raw)
            self.wanted.setdefault(collection, wanted)
            try:
                scene = scene_from_item(raw, collection, self.api, wanted)
            except MissingAssetError as exc:
                if not self.skip_broken:
                    raise
                self.stats.add("scenes_broken")
                log.warning("skipping: %s", exc.message)
                continue
            if scene is not None:
                scenes.append(scene)
        if required and not scenes:
            raise InputError(
                f"no scenes found: {query}",
                hint="check the collection name, widen --datetime, move the area or raise"
                " --max-cloud",
            )
        return sorted(scenes, key=lambda s: (s.when, s.id))


def open_client(api: str) -> Any:
    """Open the STAC API at ``api``; a clear error when it is unreachable or no STAC API."""
    from pystac_client import Client
    from pystac_client.exceptions import APIError

    modifier = None
    if "planetarycomputer.microsoft.com" in api:
        try:
            import planetary_computer
        except ImportError:
            raise InputError(
                "Planetary Computer assets need signed URLs",
                hint="pip install planetary-computer",
            ) from None
        modifier = planetary_computer.sign_inplace
    try:
        client = Client.open(api, timeout=60, modifier=modifier)
    except APIError as exc:
        status = getattr(exc, "status_code", None)
        what = f"answered HTTP {status}" if status else "is unreachable"
        raise InputError(
            f"the STAC API at {api} {what} ({str(exc).strip()[:200]})",
            hint=f"check the URL and the network; Earth Search is {DEFAULT_API}",
        ) from None
    except Exception as exc:  # noqa: BLE001 - anything else means it is not a STAC API
        raise InputError(
            f"{api} is not a STAC API ({type(exc).__name__}: {str(exc)[:200]})",
            hint=f"give the API's landing page URL, e.g. {DEFAULT_API}",
        ) from None
    if not client.conforms_to("ITEM_SEARCH"):
        raise InputError(
            f"{api} does not offer STAC item search (its conformsTo has no item-search)",
            hint="give the URL of a STAC API, not of a static catalog",
        )
    return client


def search_items(
    client: Any,
    collection: str,
    where: BaseGeometry,
    interval: Interval,
    max_cloud: float | None,
    max_items: int,
    query_text: str,
) -> list[dict[str, Any]]:
    """Raw item dicts of one search (bbox for boxes, intersects otherwise)."""
    import warnings

    from pystac_client.exceptions import APIError

    kwargs: dict[str, Any] = {
        "collections": [collection],
        "max_items": int(max_items),
        "limit": min(int(max_items), 100),
    }
    if interval != (None, None):
        kwargs["datetime"] = format_interval(interval)
    if where.equals(box(*where.bounds)):
        kwargs["bbox"] = list(where.bounds)
    else:
        if shapely.get_num_coordinates(where) > 500:
            where = where.simplify(0.0001)
        kwargs["intersects"] = mapping(where)
    if max_cloud is not None:
        if client.conforms_to("QUERY"):
            kwargs["query"] = {"eo:cloud_cover": {"lt": max_cloud}}
        elif client.conforms_to("FILTER"):
            kwargs["filter"] = {"op": "<", "args": [{"property": "eo:cloud_cover"}, max_cloud]}
            kwargs["filter_lang"] = "cql2-json"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(client.search(**kwargs).items_as_dicts())
    except APIError as exc:
        raise InputError(
            f"the search failed ({query_text}): {str(exc).strip()[:300]}",
            hint="check the collection names and the --datetime and area values",
        ) from None


def describe_query(
    api: str,
    collection: str,
    where: BaseGeometry,
    interval: Interval,
    max_cloud: float | None,
) -> str:
    """The search in words, for messages."""
    parts = [f"collection {collection} in {api}"]
    if where.geom_type == "Point":
        parts.append(f"point {where.x:.5f},{where.y:.5f}")
    else:
        parts.append("bbox " + ",".join(f"{v:.5f}" for v in where.bounds))
    if interval != (None, None):
        parts.append(f"datetime {format_interval(interval)}")
    if max_cloud is not None:
        parts.append(f"eo:cloud_cover < {max_cloud:g}")
    return ", ".join(parts)
