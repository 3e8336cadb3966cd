"""The dataset card: ``README.md`` with YAML front matter and a Markdown body.

Front matter fields: ``title``, ``description``, ``license`` (an SPDX id), ``tasks``, ``kind``
(training, validation, test, benchmark or reference), ``tags``, ``authors``, ``citation``,
``doi``, and, once a maintainer has reviewed it, ``reviewed_by``/``reviewed_at``. Unknown
fields are kept as they are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eotdl.atomic import write_bytes_atomic
from eotdl.catalog.paths import read_limited
from eotdl.catalog.yamlfile import load_yaml
from eotdl.errors import InputError

#: The largest card file read (front matter and Markdown body together).
MAX_CARD_BYTES = int(os.environ.get("EOTDL_MAX_CARD_BYTES", 4 * 1024 * 1024))
KINDS = ("training", "validation", "test", "benchmark", "reference")
TASKS = (
    "classification",
    "segmentation",
    "object-detection",
    "regression",
    "parameter-estimation",
    "product-validation",
    "change-detection",
    "other",
)
_LISTS = ("tasks", "tags", "authors")
_TEXTS = ("title", "description", "license", "kind", "citation", "doi")
_KNOWN = (
    "title",
    "description",
    "license",
    "tasks",
    "kind",
    "tags",
    "authors",
    "citation",
    "doi",
)


@dataclass
class Card:
    """A dataset card. ``extra`` keeps front matter fields this class does not name."""

    title: str = ""
    description: str = ""
    license: str = ""
    tasks: list[str] = field(default_factory=list)
    kind: str = "training"
    tags: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    citation: str = ""
    doi: str = ""
    body: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def front_matter(self) -> dict[str, Any]:
        """The YAML front matter as a dict (empty optional fields left out)."""
        data: dict[str, Any] = {
            "title": self.title,
            "description": self.description,
            "license": self.license,
            "tasks": list(self.tasks),
            "kind": self.kind,
        }
        for name in ("tags", "authors", "citation", "doi"):
            value = getattr(self, name)
            if value:
                data[name] = value
        data.update(self.extra)
        return data

    def problems(self) -> list[str]:
        """What is wrong with the card's fields, as sentences (empty when it is fine)."""
        found = []
        if not self.title:
            found.append("the card has no title")
        if not self.description:
            found.append("the card has no description")
        if not self.license:
            found.append("the card has no license (an SPDX id such as CC-BY-4.0)")
        if self.kind not in KINDS:
            found.append(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        unknown = [t for t in self.tasks if t not in TASKS]
        if unknown:
            found.append(f"unknown task(s) {', '.join(unknown)}; known: {', '.join(TASKS)}")
        return found


def parse_card(text: str, source: str = "README.md") -> Card:
    """Parse a card's text. A missing front matter gives a card with only a body."""
    if not text.startswith("---"):
        return Card(body=text)
    lines = text.splitlines(keepends=True)
    end = next((i for i, line in enumerate(lines[1:], 1) if line.rstrip() == "---"), None)
    if end is None:
        raise InputError(
            f"{source}: the YAML front matter opened with '---' on line 1 is never closed",
            hint="end the front matter with a line holding only '---'",
        )
    meta = load_yaml("".join(lines[1:end]), source, "front matter") or {}
    if not isinstance(meta, dict):
        raise InputError(f"{source}: front matter must be a YAML mapping of fields")
    body = "".join(lines[end + 1 :]).lstrip("\n")
    kwargs: dict[str, Any] = {}
    for name in _KNOWN:
        if name in meta:
            kwargs[name] = meta.pop(name)
    for name in _LISTS:
        if name in kwargs:
            kwargs[name] = _string_list(kwargs[name], name, source)
    for name in _TEXTS:
        if name in kwargs:
            kwargs[name] = _text(kwargs[name], name, source)
    return Card(body=body, extra=meta, **kwargs)


def _string_list(value: Any, name: str, source: str) -> list[str]:
    """A card field that is a list of strings (one string is a list of one; numbers allowed)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise InputError(
            f"{source}: front matter field '{name}' must be a list of strings, got {_kind(value)}",
            hint=f"write e.g. {name}: [a, b]",
        )
    out = []
    for position, entry in enumerate(value, start=1):
        if isinstance(entry, bool) or not isinstance(entry, str | int | float):
            raise InputError(
                f"{source}: front matter field '{name}' must be a list of strings, but entry"
                f" {position} is {_kind(entry)}",
                hint=f"write e.g. {name}: [a, b] (one string per entry, no nested lists)",
            )
        out.append(str(entry))
    return out


def _text(value: Any, name: str, source: str) -> str:
    """A card field that is one string (numbers and dates are written as text)."""
    if value is None:
        return ""
    if isinstance(value, list | dict | set | tuple) or isinstance(value, bytes):
        raise InputError(
            f"{source}: front matter field '{name}' must be a string, got {_kind(value)}",
            hint=f"write e.g. {name}: some text (quote it if it holds ':' or starts with '[')",
        )
    return str(value).strip()


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def render_card(card: Card) -> str:
    """The card as README.md text: front matter, then the body."""
    meta = yaml.safe_dump(card.front_matter(), sort_keys=False, allow_unicode=True, width=100)
    body = card.body if card.body.endswith("\n") or not card.body else card.body + "\n"
    return f"---\n{meta}---\n\n{body}"


def read_card(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> Card:
    """Read a card file: a regular file (inside ``root`` when given), at most MAX_CARD_BYTES."""
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        raise InputError(f"{p}: no dataset card", hint="write a README.md with front matter")
    data = read_limited(p, root, MAX_CARD_BYTES, "a dataset card", "EOTDL_MAX_CARD_BYTES")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{p}: not UTF-8 text") from None
    return parse_card(text, str(p))


def write_card(path: str | os.PathLike[str], card: Card) -> None:
    """Write a card atomically."""
    write_bytes_atomic(path, render_card(card).encode("utf-8"))
