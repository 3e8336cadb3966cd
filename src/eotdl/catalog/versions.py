"""Dataset versions: semantic version numbers and the rule a change must follow.

Any content change needs a new ``version``; removing items, changing the classes or the meaning
of an asset needs a major bump; adding or changing items a minor one; metadata-only changes
(collection fields, the card) a patch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eotdl.catalog.diff import DatasetDiff
from eotdl.errors import InputError

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")
BUMPS = ("none", "patch", "minor", "major")


def parse_version(text: str | None) -> tuple[int, int, int]:
    """``"1.2.3"`` (or ``v1.2.3``) as a tuple; anything else is an InputError."""
    match = _SEMVER.match(str(text or ""))
    if not match:
        raise InputError(
            f"version {text!r} is not a semantic version",
            hint='write "version": "MAJOR.MINOR.PATCH" in collection.json, e.g. "1.0.0"',
        )
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def bump_between(old: str | None, new: str | None) -> str:
    """The kind of bump from ``old`` to ``new``: none, patch, minor, major, or "down"."""
    a, b = parse_version(old), parse_version(new)
    if b == a:
        return "none"
    if b < a:
        return "down"
    if b[0] > a[0]:
        return "major"
    if b[1] > a[1]:
        return "minor"
    return "patch"


def required_bump(diff: DatasetDiff) -> tuple[str, list[str]]:
    """The smallest bump the change needs, and why."""
    if diff.is_new or diff.is_deleted or not diff.content_changed:
        return "none", []
    reasons: list[str] = []
    if diff.removed:
        reasons.append(f"{len(diff.removed)} item(s) removed")
    if diff.classes_changed:
        reasons.append(f"classes changed ({diff.classes_before} → {diff.classes_after})")
    if diff.asset_meaning_changed:
        reasons.append(f"asset meaning changed ({diff.asset_meaning_changed[0]})")
    if reasons:
        return "major", reasons
    if diff.added or diff.changed:
        return "minor", [f"{len(diff.added)} added, {len(diff.changed)} changed item(s)"]
    changed = diff.metadata_changed + [f"card {f}" for f in diff.card_changed] + diff.other_files
    return "patch", [f"metadata changed: {', '.join(changed)}"]


@dataclass
class Verdict:
    """Whether the version in the change follows the rule."""

    ok: bool
    required: str
    actual: str
    message: str

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "required": self.required,
            "actual": self.actual,
            "message": self.message,
        }


def version_verdict(diff: DatasetDiff) -> Verdict:
    """Apply the version rule to a dataset's diff."""
    if diff.is_deleted:
        return Verdict(
            False,
            "none",
            "none",
            "the dataset was deleted: published versions stay"
            " readable, so deprecate it (yank) instead of deleting it",
        )
    if diff.is_new:
        try:
            parse_version(diff.new_version)
        except InputError as exc:
            return Verdict(False, "none", "none", exc.message)
        return Verdict(True, "none", "new", f"new dataset at version {diff.new_version}")
    required, reasons = required_bump(diff)
    try:
        actual = bump_between(diff.base_version, diff.new_version)
    except InputError as exc:
        return Verdict(False, required, "invalid", exc.message)
    why = "; ".join(reasons)
    if actual == "down":
        return Verdict(
            False,
            required,
            actual,
            f"version went down from {diff.base_version} to {diff.new_version}",
        )
    if required == "none":
        if actual != "none":
            return Verdict(
                True, required, actual, f"version {diff.new_version} with no content change"
            )
        return Verdict(True, required, actual, "no content change")
    if BUMPS.index(actual) < BUMPS.index(required):
        if actual == "none":
            message = (
                f"content changed ({why}) but the version is still {diff.base_version}:"
                f" a {required} bump is needed"
            )
        else:
            message = (
                f"{why}: this needs a {required} version bump, but"
                f" {diff.base_version} → {diff.new_version} is a {actual} bump"
            )
        return Verdict(False, required, actual, message)
    return Verdict(
        True,
        required,
        actual,
        f"{diff.base_version} → {diff.new_version} ({actual} bump) for: {why}",
    )
