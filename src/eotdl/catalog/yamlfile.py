"""Reading YAML that others wrote (cards' front matter, recipes), bounded.

A safe loader (plain data only) with limits on the text's size, its nesting depth and its
aliases, and on the size of the data once aliases are expanded: a kilobyte "billion laughs"
card fails here at once with a clear message instead of exhausting memory later, when the
card is rendered or serialised.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from eotdl.errors import InputError

#: The largest YAML text accepted (front matter and recipes are a few kilobytes).
MAX_YAML_BYTES = int(os.environ.get("EOTDL_MAX_YAML_BYTES", 1024 * 1024))
#: The deepest nesting of mappings and lists accepted.
MAX_DEPTH = 32
#: The most aliases (``*name``) accepted in one document.
MAX_ALIASES = 100
#: The most values the data may hold once every alias is expanded.
MAX_NODES = 100_000


class YamlLimitError(InputError):
    """YAML that is too large, too deep or expands too much."""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts depth and aliases while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Limit(f"more than {MAX_ALIASES} aliases (*name)", _NO_ALIASES)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Limit(
                    f"nested deeper than {MAX_DEPTH} levels",
                    "flatten it: a card holds plain fields",
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Limit(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


_NO_ALIASES = "write plain fields without anchors and aliases (&name, *name)"


def load_yaml(text: str, source: str, what: str = "YAML") -> Any:
    """Parse ``text`` (one YAML document) as plain data, within the limits above.

    ``source`` names the text in errors (a file, a file and a part of it).
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES:
        raise YamlLimitError(
            f"{source}: the {what} is larger than {MAX_YAML_BYTES // 1024} KiB",
            hint="keep it to plain fields; long text belongs in the Markdown body",
        )
    try:
        data = _load(text)
    except _Limit as exc:
        raise YamlLimitError(f"{source}: the {what} is refused: {exc}", hint=exc.hint) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: the {what} is not valid YAML: {exc}") from None
    except RecursionError:
        raise YamlLimitError(f"{source}: the {what} is nested too deeply") from None
    except (ValueError, TypeError, OverflowError, LookupError, AttributeError) as exc:
        # PyYAML constructing a typed value it cannot: 2020-02-30, !!int 0xZZ, !!bool 0
        raise InputError(
            f"{source}: the {what} holds a value YAML cannot read: {exc}",
            hint="quote the value to keep it as text",
        ) from None
    _check_expanded(data, source, what)
    return data


def _load(text: str) -> Any:
    loader = _BoundedLoader(text)  # the reader checks characters here: YAMLError too
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _check_expanded(data: Any, source: str, what: str) -> None:
    """Refuse data whose alias-expanded size or depth passes the limits (walk with a budget)."""
    budget = MAX_NODES
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise YamlLimitError(
                f"{source}: the {what} expands to more than {MAX_NODES:,} values"
                " (aliases repeating aliases: a 'billion laughs' document)",
                hint=_NO_ALIASES,
            )
        if depth > MAX_DEPTH:
            raise YamlLimitError(f"{source}: the {what} is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                stack.append((key, depth + 1))
                stack.append((item, depth + 1))
        elif isinstance(value, list | tuple | set):
            stack.extend((item, depth + 1) for item in value)
