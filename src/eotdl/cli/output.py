"""How commands show results (JSON on stdout for ``--json``, rich tables and progress
otherwise) and the options every command shares (``--lab``: :func:`lab_option`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])

LAB_HELP = (
    "The lab folder, or any folder inside it. Default: $EOTDL_LAB, else the lab containing"
    " the current folder."
)
READER_LAB_HELP = (
    "Where the lab is: a built site (folder or http(s) URL holding catalog.json), an"
    " s3://bucket/prefix holding one, or a lab folder. Default: $EOTDL_LAB, else the lab"
    " around the current folder."
)


class LabOption(click.Option):
    """``--lab``: made only by :func:`lab_param`, so every command finds the lab the same way
    (tests/cli/test_cli_structure.py checks that no command declares its own)."""


def _resolve_lab(ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    if ctx.resilient_parsing:
        return value
    from eotdl.catalog.lab import Lab

    return Lab.locate(value)


def lab_param(*, reader: bool = False, resolve: bool = True) -> click.Option:
    """The ``--lab`` option, passed to the command as ``lab``.

    By default the command gets the :class:`~eotdl.catalog.lab.Lab` found by
    :meth:`Lab.locate <eotdl.catalog.lab.Lab.locate>` (explicit folder, ``$EOTDL_LAB``, the
    current folder; searching upwards). ``reader=True``: the raw value (a lab folder or a
    site's folder, URL or ``s3://`` prefix), for commands whose library function reads a
    site; ``resolve=False``: the raw value, for a command that needs the lab only sometimes.
    """
    return LabOption(
        ["--lab", "lab"],
        default=None,
        metavar="URL" if reader else "DIR",
        help=READER_LAB_HELP if reader else LAB_HELP,
        callback=None if reader or not resolve else _resolve_lab,
    )


def lab_option(*, reader: bool = False, resolve: bool = True) -> Callable[[F], F]:
    """Decorator form of :func:`lab_param` for ``@click.command`` functions."""

    def decorate(function: F) -> F:
        params = function.__dict__.setdefault("__click_params__", [])
        params.append(lab_param(reader=reader, resolve=resolve))
        return function

    return decorate


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
