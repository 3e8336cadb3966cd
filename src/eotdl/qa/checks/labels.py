"""Checks on classes: the classes declared (``label:classes``) are the classes used (chip
properties, vector label properties, label mask values), in every split."""

from __future__ import annotations

from collections.abc import Iterator

from eotdl.catalog.vocabulary import SPLIT
from eotdl.errors import EotdlError
from eotdl.qa.context import QAContext, is_raster
from eotdl.qa.findings import Finding, error, item_ref, warning
from eotdl.qa.labels import (
    UNNAMED,
    class_names,
    declared_classes,
    feature_classes,
    has_class_task,
    is_vector_labels,
    label_refs,
    property_classes,
    read_features,
)

#: How many class names a finding lists before "…".
SHOWN = 10


def _show(values: set[str] | list[str]) -> str:
    ordered = sorted(values, key=lambda v: (not v.isdigit(), int(v) if v.isdigit() else 0, v))
    text = ", ".join(ordered[:SHOWN])
    return text + (f", … ({len(ordered)} in all)" if len(ordered) > SHOWN else "")


def _mask_name(declared: dict[str, list[str]]) -> str:
    """Which label:classes entry a mask's values belong to."""
    if UNNAMED in declared or len(declared) != 1:
        return UNNAMED
    return next(iter(declared))


def check_classes(ctx: QAContext) -> Iterator[Finding]:
    """Declared classes equal used classes; no class is used but undeclared, or declared but
    never used; a class seen in one split is seen in the others."""
    declared = declared_classes(ctx)
    used: dict[str, dict[str, str]] = {}  # name -> class -> first item using it
    looked: set[str] = set()  # names whose usage could be read
    by_split: dict[str, set[tuple[str, str]]] = {}
    label_items = 0
    facts = None
    for item in ctx.iter_items():
        refs = list(label_refs(item))
        props = item.get("properties") or {}
        names = class_names(item, declared)
        found = set(property_classes(item, names).items())
        if found:
            looked.update(name for name, _ in found)
        for ref in refs:
            if is_raster(ref):
                if facts is None:
                    facts = ctx.raster_facts()
                fact = facts.get((ref.item_id, ref.key))
                if fact is None or fact.values is None:
                    continue
                name = _mask_name(declared)
                looked.add(name)
                found |= {(name, value) for value in fact.values}
            elif is_vector_labels(ref):
                try:
                    features = read_features(ctx, ref)
                except (EotdlError, ValueError, OSError):
                    continue  # unreadable: the assets check reports it
                feature_names = class_names(item, declared)
                looked.update(feature_names)
                for feature in features:
                    found |= set(feature_classes(feature, feature_names).items())
        if has_class_task(item):
            label_items += 1
        for name, value in found:
            used.setdefault(name, {}).setdefault(value, item["id"])
        split = props.get(SPLIT)
        if isinstance(split, str):
            by_split.setdefault(split, set()).update(found)
    if label_items and not declared:
        yield warning(
            "classes-undeclared",
            "dataset",
            f"{label_items} items label classes (label:tasks) but no label:classes anywhere",
            "declare the classes in the items' label:classes and the collection's summaries",
        )
        return
    for name in sorted(set(used) | set(declared)):
        what = f"label:classes {name!r}" if name else "label:classes"
        extra = set(used.get(name, {})) - set(declared.get(name, []))
        if extra and declared:
            first = used[name][sorted(extra)[0]]
            yield error(
                "class-undeclared",
                item_ref(first) if len(extra) == 1 else "dataset",
                f"class(es) {_show(extra)} are used but not declared in {what}",
                "add them to label:classes (items and collection summaries), or fix the labels",
            )
        missing = set(declared.get(name, [])) - set(used.get(name, {}))
        if missing and name in looked:
            yield warning(
                "class-unused",
                "dataset",
                f"class(es) {_show(missing)} are declared in {what} but never used",
                "remove them from label:classes, or add samples of them",
            )
    yield from _split_gaps(by_split)


def _split_gaps(by_split: dict[str, set[tuple[str, str]]]) -> Iterator[Finding]:
    """Classes in train missing from test or validate, and the other way round."""
    train = by_split.get("train")
    if not train:
        return
    for split in ("validate", "test"):
        other = by_split.get(split)
        if not other:
            continue
        for a, b, label in (
            (train, other, f"train but not {split}"),
            (other, train, f"{split} but not train"),
        ):
            gap = {cls for _, cls in a - b}
            if gap:
                yield warning(
                    "class-split-gap",
                    "dataset",
                    f"class(es) {_show(gap)} appear in {label}",
                    "re-split stratified by class (`--split stratified`) or add samples",
                )
