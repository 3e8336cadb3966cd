"""What a check reports: findings with a severity, a code, the object, a message and a fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)


@dataclass(frozen=True)
class Finding:
    """One thing a check found.

    ``severity`` is error (blocks the dataset from Q2 and fails ``eotdl qa``), warning (worth
    fixing, does not block) or info; ``code`` is stable and short (``asset-missing``);
    ``object`` names the item (``item:ID``), asset (``item:ID/asset:KEY``), ``collection`` or
    ``card``; ``fix`` says what to do about it. ``check`` is the check that found it.
    """

    severity: str
    code: str
    object: str
    message: str
    fix: str = ""
    check: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    def to_dict(self) -> dict[str, Any]:
        """The finding as it appears in qa.json."""
        return {
            "severity": self.severity,
            "code": self.code,
            "object": self.object,
            "message": self.message,
            "fix": self.fix,
        }


def error(code: str, obj: str, message: str, fix: str = "") -> Finding:
    """An error finding."""
    return Finding(ERROR, code, obj, message, fix)


def warning(code: str, obj: str, message: str, fix: str = "") -> Finding:
    """A warning finding."""
    return Finding(WARNING, code, obj, message, fix)


def info(code: str, obj: str, message: str, fix: str = "") -> Finding:
    """An informational finding."""
    return Finding(INFO, code, obj, message, fix)


def item_ref(item_id: str, asset: str | None = None) -> str:
    """How a finding names an item, or one of its assets."""
    return f"item:{item_id}" + (f"/asset:{asset}" if asset else "")
