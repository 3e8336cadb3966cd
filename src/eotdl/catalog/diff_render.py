"""A dataset diff as text or Markdown (JSON is ``DatasetDiff.to_dict``)."""

from __future__ import annotations

from eotdl.catalog.diff import DatasetDiff

SHOWN = 20


def _ids(ids: list[str]) -> str:
    shown = ", ".join(f"`{i}`" for i in ids[:SHOWN])
    return shown + (f" … and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")


def render_markdown(diff: DatasetDiff, heading: str = "###") -> str:
    """The diff as a Markdown section (for PR comments and the site)."""
    lines = [f"{heading} `{diff.name}`: {diff.base_version or '—'} → {diff.new_version or '—'}", ""]
    if diff.is_new:
        lines.append(f"New dataset with {len(diff.added)} items.")
    elif diff.is_deleted:
        lines.append(f"Dataset deleted ({len(diff.removed)} items).")
    elif not diff.content_changed:
        lines.append("No content change.")
    else:
        lines += [
            "| | count |",
            "|---|---:|",
            f"| items added | {len(diff.added)} |",
            f"| items removed | {len(diff.removed)} |",
            f"| items changed | {len(diff.changed)} |",
            f"| assets changed | {len(diff.assets_changed)} |",
            "",
        ]
        if diff.added:
            lines.append(f"- **added**: {_ids(diff.added)}")
        if diff.removed:
            lines.append(f"- **removed**: {_ids(diff.removed)}")
        for change in diff.changed[:SHOWN]:
            lines.append(f"- **changed** `{change.id}`: {', '.join(change.fields)}")
        if len(diff.changed) > SHOWN:
            lines.append(f"- … and {len(diff.changed) - SHOWN} more changed items")
        if diff.metadata_changed:
            lines.append(f"- **collection metadata**: {', '.join(diff.metadata_changed)}")
        if diff.card_changed:
            lines.append(f"- **card**: {', '.join(diff.card_changed)}")
        if diff.classes_changed:
            lines.append(f"- **classes**: {diff.classes_before} → {diff.classes_after}")
        for meaning in diff.asset_meaning_changed[:SHOWN]:
            lines.append(f"- **asset meaning**: {meaning}")
        if diff.other_files:
            lines.append(f"- **other files**: {', '.join(diff.other_files)}")
    return "\n".join(lines).rstrip() + "\n"


def render_text(diff: DatasetDiff) -> str:
    """The diff as plain text for a terminal."""
    out = [f"{diff.name}: {diff.base_version or '-'} -> {diff.new_version or '-'}"]
    if diff.is_new:
        out.append(f"  new dataset, {len(diff.added)} items")
    if diff.is_deleted:
        out.append("  deleted")
    for item_id in diff.added[:SHOWN]:
        out.append(f"  + {item_id}")
    for item_id in diff.removed[:SHOWN]:
        out.append(f"  - {item_id}")
    for change in diff.changed[:SHOWN]:
        out.append(f"  ~ {change.id}: {', '.join(change.fields)}")
    hidden = sum(max(0, len(x) - SHOWN) for x in (diff.added, diff.removed, diff.changed))
    if hidden:
        out.append(f"  … {hidden} more item changes (use --json for all)")
    for asset in diff.assets_changed[:SHOWN]:
        out.append(f"  asset {asset['item']}/{asset['asset']}: {asset['change']}")
    if diff.metadata_changed:
        out.append(f"  metadata: {', '.join(diff.metadata_changed)}")
    if diff.card_changed:
        out.append(f"  card: {', '.join(diff.card_changed)}")
    if diff.classes_changed:
        out.append(f"  classes: {diff.classes_before} -> {diff.classes_after}")
    if not diff.content_changed and not diff.is_new:
        out.append("  no content change")
    return "\n".join(out) + "\n"
