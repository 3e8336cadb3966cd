"""Checks on metadata: STAC schemas, the dataset card, datetimes and split membership."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterator
from typing import Any

from license_expression import get_spdx_licensing

from eotdl.catalog.validate import Validator, validate_dataset_folder
from eotdl.catalog.vocabulary import SPLIT, SPLITS
from eotdl.qa.context import QAContext
from eotdl.qa.findings import Finding, error, info, item_ref, warning

#: Datetimes before this are implausible for Earth observation (the first aerial surveys).
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
#: Before this (Landsat 1) a datetime is possible (aerial photography) but worth a look.
SATELLITE_ERA = dt.datetime(1972, 7, 23, tzinfo=dt.UTC)
#: Licences STAC allows that are not SPDX ids.
NON_SPDX = ("proprietary", "other", "various")
#: Placeholder text the builders leave in cards.
TODO_MARK = "TODO"
MAX_SCHEMA_FINDINGS = 200


def check_schema(ctx: QAContext) -> Iterator[Finding]:
    """Collection, items and card syntax against the official STAC schemas (offline)."""
    report = validate_dataset_folder(ctx.folder, Validator())
    for problem in report.problems[:MAX_SCHEMA_FINDINGS]:
        if problem.object_id and problem.line:
            obj = item_ref(problem.object_id)
        elif problem.source.endswith("README.md"):
            obj = "card"
        elif problem.source.endswith("collection.json"):
            obj = "collection"
        else:
            obj = problem.source.rsplit("/", 1)[-1] + (f":{problem.line}" if problem.line else "")
        where = f" at {problem.path}" if problem.path else ""
        yield error(
            "schema-invalid" if problem.rule != "schema-unavailable" else "schema-unavailable",
            obj,
            f"{problem.message}{where}",
            problem.hint or "make the object match the STAC schema (see `eotdl validate`)",
        )
    hidden = len(report.problems) - MAX_SCHEMA_FINDINGS
    if hidden > 0:
        yield error(
            "schema-invalid",
            "dataset",
            f"… and {hidden} more schema problems",
            f"run `eotdl validate {ctx.folder.path}` for all of them",
        )


@functools.cache
def _spdx() -> Any:
    """The SPDX licence list bundled with license-expression (offline)."""
    return get_spdx_licensing()


def license_problem(license_id: str) -> tuple[str, str] | None:
    """(severity, message) when ``license_id`` is not a valid SPDX expression, else None."""
    if not license_id:
        return "error", "the card has no license"
    if license_id.lower() in NON_SPDX:
        return "warning", f"license {license_id!r} is not an SPDX id: readers cannot tell the terms"
    try:
        checked = _spdx().validate(license_id)
    except Exception as exc:  # noqa: BLE001 - the library raises odd errors on bad syntax
        return "error", f"license {license_id!r} is not a valid SPDX expression ({exc})"
    unknown = [s for s in checked.invalid_symbols if not str(s).startswith("LicenseRef-")]
    if unknown or (checked.errors and not checked.invalid_symbols):
        names = ", ".join(str(s) for s in unknown) or license_id
        return "error", f"license {license_id!r} is not a valid SPDX expression ({names})"
    return None


def check_card(ctx: QAContext) -> Iterator[Finding]:
    """The card exists and has a title, a description, an SPDX license, and a citation if a
    benchmark."""
    card = ctx.card
    if card is None:
        yield error(
            "card-missing",
            "card",
            ctx.card_error or "the dataset has no card (README.md)",
            "write datasets/NAME/README.md with YAML front matter (title, description, license)",
        )
        return
    if not card.title:
        yield error("card-title", "card", "the card has no title", "add 'title:' to the card")
    if not card.description:
        yield error("card-description", "card", "the card has no description", "add 'description:'")
    elif TODO_MARK in card.description:
        yield error(
            "card-description",
            "card",
            "the card's description is still the builder's TODO placeholder",
            "describe what the data are, where and when they come from, and how labels were made",
        )
    problem = license_problem(card.license)
    if problem is not None:
        severity, message = problem
        fix = "use an SPDX id such as CC-BY-4.0 (https://spdx.org/licenses/), or LicenseRef-NAME"
        if severity == "error":
            yield error("card-license", "card", message, fix)
        else:
            yield warning("card-license", "card", message, fix)
    collection_license = (ctx.collection or {}).get("license")
    if (
        card.license
        and problem is None
        and isinstance(collection_license, str)
        and collection_license.lower() not in ("other", card.license.lower())
    ):
        yield warning(
            "license-mismatch",
            "collection",
            f"collection license {collection_license!r} differs from the card's {card.license!r}",
            "make collection.json's license the card's SPDX id",
        )
    if card.kind == "benchmark" and not (card.citation or card.doi):
        yield error(
            "card-citation",
            "card",
            "a benchmark dataset needs a citation (or a DOI) so results can be attributed",
            "add 'citation:' (and 'doi:' if there is one) to the card",
        )
    elif not (card.citation or card.doi):
        yield info("card-citation", "card", "the card has no citation", "add 'citation:'")
    for message in card.problems():
        if "kind" in message or "task" in message:
            yield error("card-field", "card", message, "fix the card's front matter")


def parse_datetime(value: Any) -> dt.datetime | None:
    """An RFC 3339 datetime (``Z`` or an offset; naive ones are taken as UTC), else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def item_time(properties: dict[str, Any]) -> dt.datetime | None:
    """An item's datetime, or the middle of its start/end range."""
    when = parse_datetime(properties.get("datetime"))
    if when is not None:
        return when
    start = parse_datetime(properties.get("start_datetime"))
    end = parse_datetime(properties.get("end_datetime"))
    if start and end:
        return start + (end - start) / 2
    return start or end


def check_datetime(ctx: QAContext) -> Iterator[Finding]:
    """Every item has a datetime (or a start/end range) that is plausible for EO data."""
    now = dt.datetime.now(dt.UTC)
    fix = "set the item's datetime (RFC 3339) to the acquisition time"
    for item in ctx.iter_items():
        obj = item_ref(item["id"])
        props = item.get("properties") or {}
        start = parse_datetime(props.get("start_datetime"))
        end = parse_datetime(props.get("end_datetime"))
        when = parse_datetime(props.get("datetime"))
        if props.get("datetime") is not None and when is None:
            yield error(
                "datetime-invalid", obj, f"datetime {props['datetime']!r} is not RFC 3339", fix
            )
            continue
        if when is None and not (start and end):
            yield error("datetime-missing", obj, "no datetime and no start/end_datetime range", fix)
            continue
        if start and end and start > end:
            yield error("datetime-range", obj, "start_datetime is after end_datetime", fix)
        for moment in [t for t in (when, start, end) if t is not None]:
            if moment > now + dt.timedelta(days=1):
                yield error("datetime-future", obj, f"{moment.isoformat()} is in the future", fix)
            elif moment < EARLIEST:
                yield error(
                    "datetime-implausible", obj, f"{moment.isoformat()} is before 1900", fix
                )
            elif moment == dt.datetime(1970, 1, 1, tzinfo=dt.UTC):
                yield warning(
                    "datetime-epoch",
                    obj,
                    "1970-01-01T00:00:00Z looks like a default value, not an acquisition time",
                    fix,
                )
            elif moment < SATELLITE_ERA:
                yield warning(
                    "datetime-early",
                    obj,
                    f"{moment.date()} is before the first Landsat (1972): aerial imagery?",
                    "check the datetime",
                )
            else:
                continue
            break


def check_splits(ctx: QAContext) -> Iterator[Finding]:
    """When the dataset claims splits, every item carries a valid ``ml-aoi:split``."""
    if not ctx.splits_claimed:
        return
    fix = (
        "give every item properties['ml-aoi:split'] = train, validate or test"
        " (re-ingest with --split)"
    )
    counts: Counter[str] = Counter()
    for item in ctx.iter_items():
        split = (item.get("properties") or {}).get(SPLIT)
        if split is None:
            yield error("split-missing", item_ref(item["id"]), "the item has no ml-aoi:split", fix)
        elif split not in SPLITS:
            yield error(
                "split-invalid",
                item_ref(item["id"]),
                f"ml-aoi:split {split!r} is not one of {', '.join(SPLITS)}",
                fix,
            )
        else:
            counts[split] += 1
    if counts and "train" not in counts:
        yield warning("split-no-train", "dataset", "no item is in the train split", fix)
    if counts and len(counts) == 1:
        yield warning(
            "split-single",
            "dataset",
            f"every item is in the {next(iter(counts))} split",
            "hold some items out for validation or test",
        )
