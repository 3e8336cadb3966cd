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
from eotdl.errors import InputError

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
    try:
        meta = yaml.safe_load("".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise InputError(f"{source}: front matter must be a YAML mapping of fields")
    body = "".join(lines[end + 1 :]).lstrip("\n")
    kwargs: dict[str, Any] = {}
    for name in _KNOWN:
        if name in meta:
            kwargs[name] = meta.pop(name)
    for name in ("tasks", "tags", "authors"):
        value = kwargs.get(name)
        if isinstance(value, str):
            kwargs[name] = [value]
        elif value is not None and not isinstance(value, list):
            raise InputError(f"{source}: '{name}' must be a list")
    for name in ("title", "description", "license", "kind", "citation", "doi"):
        if name in kwargs and kwargs[name] is not None:
            kwargs[name] = str(kwargs[name]).strip()
        elif name in kwargs:
            kwargs[name] = ""
    return Card(body=body, extra=meta, **kwargs)


def render_card(card: Card) -> str:
    """The card as README.md text: front matter, then the body."""
    meta = yaml.safe_dump(card.front_matter(), sort_keys=False, allow_unicode=True, width=100)
    body = card.body if card.body.endswith("\n") or not card.body else card.body + "\n"
    return f"---\n{meta}---\n\n{body}"


def read_card(path: str | os.PathLike[str]) -> Card:
    """Read a card file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{p}: no dataset card", hint="write a README.md with front matter"
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: not UTF-8 text") from None
    return parse_card(text, str(p))


def write_card(path: str | os.PathLike[str], card: Card) -> None:
    """Write a card atomically."""
    write_bytes_atomic(path, render_card(card).encode("utf-8"))
