"""How to download and cite a dataset: the code snippets and BibTeX its page shows.

URLs are the site's real ones: the lab's ``base_url`` when it has one; otherwise a placeholder
(:data:`PLACEHOLDER`) that the page's script replaces with the address the page was opened at,
so the snippets are right behind ``eotdl preview`` and on any static host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eotdl.catalog.install import install_line

#: Stands for the site's root URL when the lab has no ``base_url`` (the default preview URL).
PLACEHOLDER = "http://127.0.0.1:8000/"


@dataclass(frozen=True)
class Snippet:
    """One way to get the data: a label, the language for highlighting, the code."""

    label: str
    language: str
    code: str


def site_root(base_url: str) -> str:
    """The root URL snippets use (always ending in '/')."""
    return base_url.rstrip("/") + "/" if base_url else PLACEHOLDER


def download_snippets(
    group: str,
    name: str,
    collection_id: str,
    root: str,
    has_parquet: bool,
    install: str = "",
) -> list[Snippet]:
    """CLI, Python and pystac-client snippets for one dataset (or model) of the site at ``root``.

    ``install`` is the lab's line that installs eotdl (never the index's ``eotdl``: that is
    another project on the package index)."""
    catalog = f"{root}catalog.json"
    snippets = [
        Snippet(
            "Command line",
            "sh",
            f"{install_line(install)}\neotdl get {name} --lab {root} -o {name}/",
        ),
        Snippet(
            "Python",
            "python",
            "import eotdl\n\n"
            f'ds = eotdl.open_dataset("{name}", lab="{root}")\n'
            "print(ds.splits())\n"
            'train = ds.items(split="train")  # or ds.to_torch(), ds.to_numpy()',
        ),
        Snippet(
            "pystac-client",
            "python",
            "from pystac_client import Client\n\n"
            f'catalog = Client.open("{catalog}")\n'
            f'collection = catalog.get_collection("{collection_id}")\n'
            "for item in collection.get_items():\n    print(item.id, item.assets)",
        ),
    ]
    if has_parquet:
        snippets.append(
            Snippet(
                "GeoParquet",
                "python",
                "import urllib.request, pyarrow.parquet as pq\n"
                "from stac_geoparquet.arrow import stac_table_to_items\n\n"
                f'urllib.request.urlretrieve("{root}{group}/{name}/items.parquet",'
                ' "items.parquet")\n'
                'items = list(stac_table_to_items(pq.read_table("items.parquet")))',
            )
        )
    return snippets


def _bib(value: str) -> str:
    """A value safe inside BibTeX braces."""
    value = " ".join(value.split())
    value = value.replace("\\", "\\textbackslash{}")
    return re.sub(r"([{}&%$#_^~])", r"\\\1", value)


def bibtex(
    name: str,
    title: str,
    authors: list[str],
    url: str,
    version: str = "",
    doi: str = "",
    license: str = "",
    year: str = "",
) -> str:
    """A BibTeX ``@misc`` entry for a dataset."""
    key = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") or "dataset"
    fields = [("title", title or name)]
    if authors:
        fields.append(("author", " and ".join(authors)))
    if year:
        fields.append(("year", year))
    if version:
        fields.append(("version", version))
    if doi:
        fields.append(("doi", doi))
    fields.append(("url", url))
    if license:
        fields.append(("note", f"License: {license}"))
    body = ",\n".join(
        f"  {k} = {{{_bib(v)}}}" if k != "url" else f"  {k} = {{{v}}}" for k, v in fields
    )
    return f"@misc{{{key},\n{body}\n}}"


def citation_year(extra: dict[str, object], collection: dict[str, object]) -> str:
    """The year to cite: the card's ``year``, else the year the collection was created."""
    year = extra.get("year")
    if isinstance(year, int | str) and str(year).isdigit():
        return str(year)
    for key in ("created", "updated"):
        value = collection.get(key)
        if isinstance(value, str) and re.match(r"^\d{4}-", value):
            return value[:4]
    return ""
