"""Who made the lab: the contributors page's people, from the cards' authors and providers.

This is the hook for credits: :func:`contributors` takes an optional ``ledger`` (name → a
score text, such as ``eotdl credits`` derives from git history) that is shown beside each
person; without one, the page lists the authors and providers the cards and collections name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def contributors(
    summaries: Iterable[dict[str, Any]],
    ledger: Mapping[str, str] | None = None,
    credited: Iterable[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """People and organisations, each with their roles and the datasets they worked on.

    ``credited`` is the credits ledger's totals (``eotdl credits``: name, score, datasets):
    everyone who committed to a dataset appears, with their points.
    """
    summaries = list(summaries)
    by_name = {str(s.get("url", "")).rstrip("/").split("/")[-1]: s for s in summaries}
    people: dict[str, dict[str, Any]] = {}

    def add(name: str, role: str, summary: dict[str, Any], url: str = "") -> None:
        key = " ".join(name.split()).casefold()
        if not key:
            return
        person = people.setdefault(
            key, {"name": " ".join(name.split()), "url": "", "roles": [], "works": []}
        )
        if url and not person["url"]:
            person["url"] = url
        if role and role not in person["roles"]:
            person["roles"].append(role)
        work = {"title": summary["title"], "url": summary["url"]}
        if work not in person["works"]:
            person["works"].append(work)

    for summary in summaries:
        for author in summary.get("authors") or []:
            add(str(author), "author", summary)
        for provider in summary.get("providers") or []:
            add(provider["name"], provider.get("roles") or "provider", summary, provider["url"])
    scores = dict(ledger or {})
    for entry in credited or []:
        for dataset in entry.get("datasets") or []:
            if dataset in by_name:
                add(str(entry["name"]), "contributor", by_name[dataset])
        scores.setdefault(str(entry["name"]), f"{entry['score']:g} points")
    found = sorted(people.values(), key=lambda p: (-len(p["works"]), p["name"].casefold()))
    for person in found:
        person["score"] = scores.get(person["name"], "")
    return found
