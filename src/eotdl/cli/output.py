"""How commands show results: JSON on stdout for ``--json``, rich tables and progress otherwise."""

from __future__ import annotations

import sys
from typing import Any

import orjson
from rich.console import Console

#: Human output goes to stdout; progress bars and warnings to stderr so ``--json`` stays clean.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def emit_json(data: Any) -> None:
    """Write ``data`` as indented JSON to stdout."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
    sys.stdout.write("\n")
    sys.stdout.flush()
