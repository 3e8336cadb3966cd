"""HTML pages from their context: one Jinja2 environment, autoescape on, StrictUndefined.

Every template escapes everything by default (``autoescape=True``, not by file extension); the
only markup passed through is the sanitised card (:mod:`eotdl.site.markdown`). A missing
variable is an error, never an empty string. JSON never goes through a template: the pages'
scripts fetch the JSON files the build serialised (footprints, search index, items).
"""

from __future__ import annotations

import functools
import hashlib
import os
import urllib.parse
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from eotdl import __version__
from eotdl.catalog import canonical
from eotdl.site.summary import human_count, human_size
from eotdl.storage.cachedir import cache_dir

#: The default basemap; ``EOTDL_SITE_TILES=none`` (or another URL template) at build time.
DEFAULT_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILES_ATTRIBUTION = "© OpenStreetMap contributors"
LEVEL_TEXT = {
    "Q0": "files only",
    "Q1": "valid STAC",
    "Q2": "ML-ready, automated QA passing",
    "Q3": "reviewed by a maintainer",
}


@dataclass(frozen=True)
class SiteInfo:
    """What every page knows about the lab and the build."""

    title: str
    base_url: str
    tiles: str
    generator: str = f"eotdl {__version__}"
    #: The line that installs eotdl (the lab's ``[site] install``), as the snippets show it.
    install: str = ""

    @property
    def tiles_attribution(self) -> str:
        return TILES_ATTRIBUTION if "openstreetmap" in self.tiles else ""


def tiles_from_environment() -> str:
    """The basemap URL template for maps ("" for none)."""
    value = os.environ.get("EOTDL_SITE_TILES", DEFAULT_TILES).strip()
    return "" if value.lower() in ("", "none", "off") else value


def _date(value: Any) -> str:
    return str(value)[:10] if value else "—"


def _quote(value: Any) -> str:
    return urllib.parse.quote(str(value), safe="-_.~!$&'()*+,;=:@")


def _json_text(value: Any) -> str:
    """A value as compact JSON text (to show, escaped, in a page)."""
    if isinstance(value, str):
        return value
    return canonical.dumps(value).decode("utf-8")


def _level_class(level: Any) -> str:
    return f"q{str(level)[1:]}" if isinstance(level, str) and level in LEVEL_TEXT else "qn"


def _bbox_text(bbox: Any) -> str:
    if not bbox:
        return "—"
    return ", ".join(f"{float(v):.3f}" for v in bbox[:4])


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept in the user's cache, so a build does not compile them again."""
    folder = cache_dir() / "jinja"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder), f"eotdl-{__version__}-%s.cache")


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Jinja2 environment of the site."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("eotdl.site", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters.update(
        size=human_size,
        count=human_count,
        date=_date,
        quote=_quote,
        json_text=_json_text,
        level_class=_level_class,
        bbox_text=_bbox_text,
    )
    env.globals.update(level_text=LEVEL_TEXT)
    return env


def render(template: str, site: SiteInfo, root: str, **context: Any) -> str:
    """Render ``template`` for a page ``root`` away from the site root ("" or "../…/")."""
    return environment().get_template(template).render(site=site, root=root, **context)


def safe_html(html: str) -> Markup:
    """Mark already-sanitised HTML (the rendered card) as safe for the templates."""
    return Markup(html)


def templates_digest() -> str:
    """A digest of every template and static file: a change rebuilds every page."""
    digest = hashlib.sha256()
    package = resources.files("eotdl.site")
    for folder in ("templates", "static"):
        for entry in sorted(_walk(package.joinpath(folder)), key=lambda e: e[0]):
            digest.update(entry[0].encode() + b"\0" + entry[1] + b"\0")
    return digest.hexdigest()[:32]


def _walk(node: Any, prefix: str = "") -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for child in node.iterdir():
        name = f"{prefix}{child.name}"
        if child.is_dir():
            found += _walk(child, name + "/")
        elif not child.name.startswith("."):
            found.append((name, child.read_bytes()))
    return found
