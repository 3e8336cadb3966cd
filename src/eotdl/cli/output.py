"""How commands show results: JSON on stdout for ``--json``, rich tables and progress otherwise."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """A rich Console made on first use, so importing a command (``--help``) skips rich."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


#: Human output goes to stdout; progress bars and warnings to stderr so ``--json`` stays clean.
console: Console = _LazyConsole(soft_wrap=True)  # type: ignore[assignment]
err_console: Console = _LazyConsole(stderr=True, soft_wrap=True)  # type: ignore[assignment]


def emit_json(data: Any) -> None:
    """Write ``data`` as indented JSON to stdout."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
    sys.stdout.write("\n")
    sys.stdout.flush()
