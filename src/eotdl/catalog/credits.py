"""Credits from git history: who added or improved which dataset, weighted by what changed.

Every commit touching ``datasets/<name>/`` or ``models/<name>/`` credits its author and each
``Co-authored-by:`` trailer. Points (documented in the README):

- creating a dataset (its first ``collection.json``): 10
- items added: 0.01 per line added to ``items.ndjson`` (at most 20 per commit)
- items changed or removed: 0.005 per line removed (at most 10 per commit)
- card or collection improvements (README.md, collection.json, recipe.yaml): 1 per commit
- a maintainer review recorded in the card (``reviewed_by``): 3, to the reviewer named there
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.catalog.card import parse_card
from eotdl.catalog.git import is_repo, run_git, show

POINTS_NEW = 10.0
POINTS_PER_ITEM_ADDED = 0.01
MAX_ITEMS_ADDED = 20.0
POINTS_PER_ITEM_CHANGED = 0.005
MAX_ITEMS_CHANGED = 10.0
POINTS_METADATA = 1.0
POINTS_REVIEW = 3.0

_TRAILER = re.compile(r"^Co-authored-by:\s*(.+?)\s*<([^>]+)>\s*$", re.I | re.M)
_PATH = re.compile(r"^(datasets|models)/([^/]+)/(.+)$")
_SEP = "\x1e"


@dataclass
class Contribution:
    """One contributor's work on one dataset."""

    name: str
    email: str
    dataset: str
    kind: str = "dataset"
    commits: int = 0
    created: bool = False
    items_added: int = 0
    items_changed: int = 0
    improvements: int = 0
    reviews: int = 0
    first: str = ""
    last: str = ""

    @property
    def score(self) -> float:
        return round(
            (POINTS_NEW if self.created else 0.0)
            + self._added_points
            + self._changed_points
            + POINTS_METADATA * self.improvements
            + POINTS_REVIEW * self.reviews,
            3,
        )

    _added_points: float = field(default=0.0, repr=False)
    _changed_points: float = field(default=0.0, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "email": self.email,
            "dataset": self.dataset,
            "kind": self.kind,
            "commits": self.commits,
            "created": self.created,
            "items_added": self.items_added,
            "items_changed": self.items_changed,
            "improvements": self.improvements,
            "reviews": self.reviews,
            "first": self.first,
            "last": self.last,
            "score": self.score,
        }


@dataclass
class Ledger:
    """All contributions, and totals per person."""

    contributions: list[Contribution]

    def totals(self) -> list[dict[str, Any]]:
        people: dict[str, dict[str, Any]] = {}
        for c in self.contributions:
            entry = people.setdefault(
                c.email.lower(), {"name": c.name, "email": c.email, "score": 0.0, "datasets": []}
            )
            entry["score"] = round(entry["score"] + c.score, 3)
            if c.dataset not in entry["datasets"]:
                entry["datasets"].append(c.dataset)
        return sorted(people.values(), key=lambda p: (-p["score"], p["name"]))

    def for_dataset(self, name: str) -> list[Contribution]:
        found = [c for c in self.contributions if c.dataset == name]
        return sorted(found, key=lambda c: (-c.score, c.name))

    def to_dict(self) -> dict[str, Any]:
        return {
            "contributors": self.totals(),
            "contributions": [c.to_dict() for c in self.contributions],
        }


def ledger(lab_root: Path, dataset: str | None = None) -> Ledger:
    """The credits ledger of the lab's git history (empty when the lab is not a git repo);
    with ``dataset``, only that dataset's contributions (highest score first)."""
    book = _ledger(lab_root)
    if dataset:
        book.contributions = book.for_dataset(dataset)
    return book


def _ledger(lab_root: Path) -> Ledger:
    if not is_repo(lab_root):
        return Ledger([])
    prefix = run_git(lab_root, "rev-parse", "--show-prefix").strip()
    log = run_git(
        lab_root,
        "log",
        "--reverse",
        "--no-renames",
        "--numstat",
        f"--format={_SEP}%H%x00%an%x00%ae%x00%aI%x00%B%x00",
        "--",
        f"{prefix}datasets",
        f"{prefix}models",
    )
    table: dict[tuple[str, str], Contribution] = {}
    for chunk in log.split(_SEP)[1:]:
        head, _, numstat = chunk.rpartition("\x00")
        commit, name, email, date, body = (head.split("\x00") + [""] * 5)[:5]
        people = [(name, email)] + [(n, e) for n, e in _TRAILER.findall(body)]
        touched: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for line in numstat.strip().splitlines():
            parts = line.split("\t")
            if len(parts) != 3:
                continue
            added, removed, path = parts
            path = path[len(prefix) :] if path.startswith(prefix) else path
            match = _PATH.match(path)
            if not match:
                continue
            group, dataset, rest = match.groups()
            stats = touched[f"{group}/{dataset}"]
            if rest == "items.ndjson" and added != "-":
                stats["added"] += int(added)
                stats["removed"] += int(removed)
            elif rest in ("README.md", "collection.json", "recipe.yaml"):
                stats["meta"] += 1
                if (
                    rest == "collection.json"
                    and removed == "0"
                    and _is_creation(lab_root, commit, f"{prefix}{path}")
                ):
                    stats["created"] = 1
        for key, stats in touched.items():
            group, dataset = key.split("/", 1)
            for person_name, person_email in people:
                entry = table.setdefault(
                    (person_email.lower(), key),
                    Contribution(person_name, person_email, dataset, group[:-1], first=date),
                )
                entry.commits += 1
                entry.last = date
                entry.created = entry.created or bool(stats.get("created"))
                lines_added = stats.get("added", 0)
                lines_removed = stats.get("removed", 0)
                changed = min(lines_added, lines_removed)
                entry.items_added += lines_added - changed
                entry.items_changed += lines_removed
                entry._added_points += min(
                    MAX_ITEMS_ADDED, POINTS_PER_ITEM_ADDED * (lines_added - changed)
                )
                entry._changed_points += min(
                    MAX_ITEMS_CHANGED, POINTS_PER_ITEM_CHANGED * lines_removed
                )
                if stats.get("meta") and not stats.get("created") and not changed_lines(stats):
                    entry.improvements += 1
    _credit_reviews(lab_root, prefix, table)
    return Ledger(sorted(table.values(), key=lambda c: (c.dataset, -c.score, c.name)))


def changed_lines(stats: dict[str, int]) -> bool:
    return bool(stats.get("added") or stats.get("removed"))


def _is_creation(repo: Path, commit: str, path: str) -> bool:
    return show(repo, f"{commit}^", path) is None


def _credit_reviews(repo: Path, prefix: str, table: dict[tuple[str, str], Contribution]) -> None:
    for group in ("datasets", "models"):
        folder = repo / group
        if not folder.is_dir():
            continue
        for card in sorted(folder.glob("*/README.md")):
            try:
                reviewer = parse_card(card.read_text(encoding="utf-8")).extra.get("reviewed_by")
            except Exception:  # noqa: BLE001 - a broken card earns no review credit
                continue
            if not reviewer:
                continue
            dataset = card.parent.name
            name, _, email = str(reviewer).partition("<")
            email = email.rstrip(">").strip() or name.strip()
            entry = table.setdefault(
                (email.lower(), f"{group}/{dataset}"),
                Contribution(name.strip(), email, dataset, group[:-1]),
            )
            entry.reviews = 1
