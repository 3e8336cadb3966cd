"""The dataset page's gallery: a few examples with previews per class and per split, spread
over the items, chosen from streamed items (what a list page shows of an item, too)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from eotdl.catalog.tree import ItemEntry, quote_name

GALLERY_PER_GROUP = 6
MAX_CLASSES = 30


def row(entry: ItemEntry, n: int, item_pages: bool) -> dict[str, Any]:
    """One row of a list page (or the gallery): what the page shows of an item."""
    facts = entry.facts if isinstance(entry.facts, list) else [None] * 5
    json_href = quote_name(f"{entry.id}.json")
    return {
        "n": n + 1,
        "id": entry.id,
        "href": quote_name(f"{entry.id}.html") if item_pages else json_href,
        "json": json_href,
        "start": facts[1],
        "split": facts[3],
        "size": facts[4],
        "bbox": facts[0],
        "preview": facts[5] if len(facts) > 5 else None,
        "label": facts[6] if len(facts) > 6 else None,
    }


def has_box(entry: ItemEntry) -> bool:
    return isinstance(entry.facts, list) and bool(entry.facts) and bool(entry.facts[0])


def gallery(entries: Iterable[ItemEntry], item_pages: bool) -> dict[str, list[tuple[str, list]]]:
    """Examples with previews, per class and per split (a few each, spread over the items).

    Two passes over ``entries`` (a list, or the rows a build streams): the size of each group,
    then every ``size // GALLERY_PER_GROUP``-th of its items, so only the examples are held."""
    found = Gallery(item_pages)
    for entry in entries:
        found.count(entry)
    for entry in entries:
        found.pick(entry)
    return found.shown()


class Gallery:
    """The gallery from streamed items: :meth:`count` each one, then :meth:`pick` each one."""

    def __init__(self, item_pages: bool) -> None:
        self.item_pages = item_pages
        self.sizes: dict[str, Counter[str]] = {"classes": Counter(), "splits": Counter()}
        self._strides: dict[tuple[str, str], int] | None = None
        self._seen: Counter[tuple[str, str]] = Counter()
        self._rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._lines: dict[tuple[str, str], list[int]] = {}
        self._line = 0

    def count(self, entry: ItemEntry) -> None:
        for kind, name in gallery_groups(entry):
            self.sizes[kind][name] += 1

    def _shown_names(self) -> dict[str, list[str]]:
        return {kind: sorted(found)[:MAX_CLASSES] for kind, found in self.sizes.items()}

    def _start(self) -> dict[tuple[str, str], int]:
        if self._strides is None:
            self._strides = {
                (kind, name): max(1, self.sizes[kind][name] // GALLERY_PER_GROUP)
                for kind, names in self._shown_names().items()
                for name in names
            }
            self._rows = {key: [] for key in self._strides}
            self._lines = {key: [] for key in self._strides}
        return self._strides

    def pick(self, entry: ItemEntry) -> None:
        line = self._line
        self._line += 1
        strides = self._start()
        if not strides:
            return
        for key in gallery_groups(entry):
            stride = strides.get(key)
            if stride is None:
                continue
            n = self._seen[key]
            self._seen[key] += 1
            if n % stride == 0 and len(self._rows[key]) < GALLERY_PER_GROUP:
                self._rows[key].append(row(entry, 0, self.item_pages))
                self._lines[key].append(line)

    def shown(self) -> dict[str, list[tuple[str, list]]]:
        return {
            kind: [(name, self._rows.get((kind, name), [])) for name in names]
            for kind, names in self._shown_names().items()
        }

    def picks(self) -> list[list[Any]]:
        """What :meth:`pick` chose, JSON-able: ``[kind, name, line, row]`` each."""
        return [
            [kind, name, line, shown]
            for (kind, name), rows in self._rows.items()
            for line, shown in zip(self._lines[(kind, name)], rows, strict=True)
        ]

    def shown_keys(self) -> list[tuple[str, str]]:
        """The groups shown, in order."""
        return [(kind, name) for kind, names in self._shown_names().items() for name in names]

    def restore(
        self, picks: list[list[Any]], changed: dict[int, ItemEntry], others: set[tuple[str, str]]
    ) -> None:
        """Take the picks of the groups shown but ``others`` from an earlier gallery (those
        groups had the same items), the rows of ``changed`` lines made again."""
        strides = self._start()
        for kind, name, line, shown in picks:
            key = (str(kind), str(name))
            if key in strides and key not in others:
                entry = changed.get(line)
                self.add(key, line, entry if entry is not None else shown)

    def add(self, key: tuple[str, str], line: int, entry: ItemEntry | dict[str, Any]) -> None:
        """Pick ``entry`` (or its row) of line ``line`` for group ``key``, after the others."""
        shown = row(entry, 0, self.item_pages) if isinstance(entry, ItemEntry) else entry
        self._rows[key].append(shown)
        self._lines[key].append(line)


def gallery_groups(entry: ItemEntry) -> list[tuple[str, str]]:
    """The gallery groups an item with a preview is in: its class and its split."""
    facts = entry.facts if isinstance(entry.facts, list) else []
    if len(facts) < 7 or not facts[5]:
        return []
    groups = []
    if facts[6]:
        groups.append(("classes", str(facts[6])))
    if facts[3]:
        groups.append(("splits", str(facts[3])))
    return groups
