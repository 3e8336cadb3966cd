"""One module per builder kind, each giving the contract test a tiny source to build.

A case module defines ``KIND`` and ``make_case(tmp_path) -> Case``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Case:
    """A source for a builder, the options to use, and what the result must hold."""

    source: str
    options: dict[str, Any] = field(default_factory=dict)
    split: str | None = None
    items: int | None = None
    splits: dict[str, int] | None = None
    serve: Any = None  # something the case keeps alive (a server), closed after the test
