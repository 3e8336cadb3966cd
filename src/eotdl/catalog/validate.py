"""Offline, fast STAC validation against the official JSON schemas.

Every object is checked against its core schema and the schema of every extension it declares.
The schemas an object needs are compiled once (with jsonschema-rs) into a single validator per
combination, so a dataset of ten thousand items costs one compile and ten thousand fast checks.
Formats are not enforced, as in stac-validator, so verdicts match the reference validators.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs

from eotdl.catalog import ndjson
from eotdl.catalog.dataset import COLLECTION, DatasetFolder
from eotdl.catalog.schemas import (
    CORE_PATHS,
    STAC_VERSIONS,
    SchemaSource,
    core_schema_url,
    extension_schema_url,
    normalise_url,
)
from eotdl.catalog.sources import Visit, is_url, read_stac, walk
from eotdl.errors import InputError, SchemaUnavailableError


@dataclass(frozen=True)
class Problem:
    """One reason an object is not valid: where it is, what is wrong, and the rule broken."""

    source: str
    message: str
    rule: str
    line: int | None = None
    object_id: str | None = None
    path: str = ""
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def format(self) -> str:
        where = self.source + (f":{self.line}" if self.line else "")
        parts = [where]
        if self.object_id:
            parts.append(f"item {self.object_id!r}" if self.line else repr(self.object_id))
        if self.path:
            parts.append(self.path)
        text = ": ".join(parts) + f": {self.message} [{self.rule}]"
        return text + (f"\n    fix: {self.hint}" if self.hint else "")


@dataclass
class Report:
    """The outcome of validating one or more sources."""

    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    invalid_objects: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def extend(self, other: Report) -> None:
        self.checked += other.checked
        self.problems.extend(other.problems)
        self.invalid_objects += other.invalid_objects

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "invalid": self.invalid_objects,
            "seconds": round(self.seconds, 4),
            "problems": [p.to_dict() for p in self.problems],
        }


def stac_type(obj: dict[str, Any]) -> str | None:
    """'Feature', 'Collection' or 'Catalog'; pre-1.0 objects without ``type`` are inferred."""
    declared = obj.get("type")
    if declared in CORE_PATHS:
        return str(declared)
    if declared is None and str(obj.get("stac_version", "")).startswith("0."):
        if "extent" in obj or "license" in obj:
            return "Collection"
        if "links" in obj and "description" in obj:
            return "Catalog"
    return None


class _Compiled:
    """A validator for one combination of schema URLs, or the URLs it could not get."""

    def __init__(self, urls: Sequence[str], source: SchemaSource) -> None:
        self.urls = list(urls)
        self.unavailable: list[tuple[str, str]] = []
        self.validator: Any = None
        self.registry: Any = None
        self._branches: dict[str, list[Any]] = {}
        resources: dict[str, Any] = {}
        top_missing: set[str] = set()
        for url in self.urls:
            missing = _collect(url, source, resources)
            if missing:
                self.unavailable.extend(missing)
                top_missing.add(url)
        self.usable = [u for u in self.urls if u not in top_missing]
        self.schemas = resources
        if not self.usable:
            return
        combined = {"allOf": [{"$ref": u} for u in self.usable]}
        try:
            registry = jsonschema_rs.Registry(list(resources.items()))
            self.registry = registry
            self.validator = jsonschema_rs.validator_for(
                combined, validate_formats=False, registry=registry
            )
        except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError) as exc:
            self.unavailable.append(
                (self.usable[0], f"schema could not be compiled: {_short(str(exc))}")
            )
            self.validator = None

    def branch_errors(self, location: str, count: int, instance: Any) -> list[Any]:
        """For a failed oneOf/anyOf at ``location``: the errors of the branch that came closest."""
        branches = self._branches.get(location)
        if branches is None:
            branches = []
            for index in range(count):
                try:
                    branches.append(
                        jsonschema_rs.validator_for(
                            {"$ref": f"{location}/{index}"},
                            validate_formats=False,
                            registry=self.registry,
                        )
                    )
                except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError):
                    continue
            self._branches[location] = branches
        best: list[Any] = []
        best_score = 0
        for branch in branches:
            errors = list(branch.iter_errors(instance))
            # a branch whose "type" discriminator fails is for another kind of object
            score = len(errors) + sum(1000 for e in errors if list(e.instance_path) == ["type"])
            if errors and (not best or score < best_score):
                best, best_score = errors, score
        return best


def _collect(url: str, source: SchemaSource, resources: dict[str, Any]) -> list[tuple[str, str]]:
    """Load ``url`` and every schema it references into ``resources``; return what is missing."""
    missing: list[tuple[str, str]] = []
    pending = [normalise_url(url)]
    while pending:
        current = pending.pop()
        if current in resources:
            continue
        try:
            schema = source.load(current)
        except SchemaUnavailableError as exc:
            missing.append((current, exc.message))
            resources[current] = {}
            continue
        resources[current] = schema
        if "json-schema.org/" in current:
            continue
        for ref in _external_refs(schema):
            target = normalise_url(urllib.parse.urljoin(current, ref))
            if target and target not in resources:
                pending.append(target)
    return missing


def _external_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                if not value.startswith("#"):
                    yield value
            else:
                yield from _external_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _external_refs(value)


class Validator:
    """Validates STAC objects; compiled schemas are cached and shared across threads."""

    def __init__(self, schemas: SchemaSource | None = None) -> None:
        self.schemas = schemas or SchemaSource.from_environment()
        self._compiled: dict[tuple[str, ...], _Compiled] = {}
        self._lock = threading.Lock()

    def schema_urls(self, obj: dict[str, Any], kind: str) -> list[str]:
        version = str(obj.get("stac_version"))
        urls = [core_schema_url(version, kind)]
        extensions = obj.get("stac_extensions") or []
        if isinstance(extensions, list):
            urls += [extension_schema_url(version, e) for e in extensions if isinstance(e, str)]
        return list(dict.fromkeys(urls))

    def _compiled_for(self, urls: Sequence[str]) -> _Compiled:
        key = tuple(urls)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key)
                if compiled is None:
                    compiled = _Compiled(urls, self.schemas)
                    self._compiled[key] = compiled
        return compiled

    def validate_object(
        self, obj: Any, source: str, line: int | None = None, expect: str | None = None
    ) -> list[Problem]:
        """Everything wrong with one STAC object (empty when it is valid)."""
        if not isinstance(obj, dict):
            got = "an array" if isinstance(obj, list) else type(obj).__name__
            return [Problem(source, f"expected a JSON object, got {got}", "json", line)]
        object_id = obj.get("id") if isinstance(obj.get("id"), str) else None

        def problem(message: str, rule: str, hint: str | None = None, path: str = "") -> Problem:
            return Problem(source, message, rule, line, object_id, path, hint)

        version = obj.get("stac_version")
        if version is None:
            return [problem("missing 'stac_version'", "stac", 'add "stac_version": "1.1.0"')]
        if version not in STAC_VERSIONS:
            return [
                problem(
                    f"unknown STAC version {version!r}",
                    "stac-version",
                    f"use one of {', '.join(STAC_VERSIONS)}",
                    "/stac_version",
                )
            ]
        kind = stac_type(obj)
        if kind is None:
            if "type" not in obj:
                return [
                    problem(
                        "missing 'type' (Feature, Collection or Catalog)",
                        "stac",
                        'add "type": "Feature" for an Item, "Collection" or "Catalog"',
                    )
                ]
            return [
                problem(
                    f"'type' is {obj.get('type')!r}, not a STAC type",
                    "stac",
                    "use Feature (Item), Collection or Catalog",
                    "/type",
                )
            ]
        if expect is not None and kind != expect:
            return [problem(f"expected a STAC {expect}, found a {kind}", "stac", path="/type")]
        compiled = self._compiled_for(self.schema_urls(obj, kind))
        problems = [
            problem(
                message,
                "schema-unavailable",
                "run `eotdl schemas sync` with a network, or add the schema to the mirror",
            )
            for _url, message in compiled.unavailable
        ]
        validator = compiled.validator
        if validator is not None and not validator.is_valid(obj):
            for error in validator.iter_errors(obj):
                for detail in _details(error, compiled):
                    pointer = "/" + "/".join(str(p) for p in detail.instance_path)
                    problems.append(
                        problem(
                            _describe(detail.message),
                            str(detail.absolute_keyword_location or ""),
                            path=pointer if pointer != "/" else "",
                        )
                    )
        return problems

    def validate_objects(
        self, objects: Iterable[tuple[Any, str, int | None]], expect: str | None = None
    ) -> Report:
        """Validate ``(object, source, line)`` triples into one report."""
        report = Report()
        start = time.perf_counter()
        for obj, source, line in objects:
            found = self.validate_object(obj, source, line, expect)
            report.checked += 1
            if found:
                report.invalid_objects += 1
                report.problems.extend(found)
        report.seconds = time.perf_counter() - start
        return report


def _details(error: Any, compiled: _Compiled, depth: int = 0) -> list[Any]:
    """Replace an opaque oneOf/anyOf failure by the errors of its closest branch."""
    location = str(error.absolute_keyword_location or "")
    if depth > 3 or not location.endswith(("/oneOf", "/anyOf")) or compiled.registry is None:
        return [error]
    try:
        count = _count_branches(location, compiled)
    except (KeyError, IndexError, TypeError, ValueError):
        return [error]
    inner = compiled.branch_errors(location, count, error.instance)
    if not inner:
        return [error]
    prefix = list(error.instance_path)
    found = []
    for sub in inner:
        for detail in _details(sub, compiled, depth + 1):
            found.append(
                _Detail(
                    prefix + list(detail.instance_path),
                    detail.message,
                    detail.absolute_keyword_location,
                )
            )
    return found


@dataclass
class _Detail:
    instance_path: list[Any]
    message: str
    absolute_keyword_location: str


def _count_branches(location: str, compiled: _Compiled) -> int:
    url, _, pointer = location.partition("#")
    node: Any = compiled.schemas[url]
    for part in pointer.strip("/").split("/"):
        node = (
            node[int(part)]
            if isinstance(node, list)
            else node[part.replace("~1", "/").replace("~0", "~")]
        )
    return len(node)


def _describe(message: str) -> str:
    """The validator's message, with a long dump of the offending value cut out."""
    message = " ".join(message.split())
    if len(message) > 160 and message[:1] in "{[":
        for marker in (" is not valid under", " is not ", " has ", " does not ", " is valid under"):
            cut = message.rfind(marker)
            if cut > 0:
                return "the value" + message[cut:]
    return _short(message)


def _short(message: str, limit: int = 300) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


def iter_problems(reports: Iterable[Report]) -> Iterator[Problem]:
    for report in reports:
        yield from report.problems


def validate_target(
    target: str, validator: Validator | None = None, recursive: bool = True
) -> Report:
    """Validate a lab, a dataset folder, an ndjson file, or a STAC file/URL (and what it links)."""
    from eotdl.catalog.lab import CONFIG_NAME, Lab

    checker = validator or Validator()
    start = time.perf_counter()
    report = Report()
    if is_url(target) or target.startswith("file://"):
        report.extend(_validate_walk(target, checker, recursive))
    else:
        path = Path(target)
        if not path.exists():
            raise InputError(f"{target}: no such file or folder")
        if path.is_dir() and (path / CONFIG_NAME).is_file():
            lab = Lab(path)
            for folder in [*lab.datasets(), *lab.models()]:
                report.extend(validate_dataset_folder(folder, checker))
        elif path.is_dir() and (path / COLLECTION).is_file():
            report.extend(validate_dataset_folder(DatasetFolder(path), checker))
        elif path.is_dir() and (path / "catalog.json").is_file():
            report.extend(_validate_walk(str(path / "catalog.json"), checker, recursive))
        elif path.is_dir():
            raise InputError(
                f"{target}: a folder with no eotdl.toml, collection.json or catalog.json",
                hint="pass a lab, a dataset folder, an ndjson file or a STAC JSON file",
            )
        elif path.suffix in (".ndjson", ".jsonl"):
            report.extend(validate_ndjson(path, checker))
        else:
            report.extend(_validate_walk(str(path), checker, recursive))
    report.seconds = time.perf_counter() - start
    return report


def validate_dataset_folder(folder: DatasetFolder, validator: Validator) -> Report:
    """A dataset folder: its collection, every item of items.ndjson, and its card's syntax."""
    report = Report()
    source = str(folder.collection_path)
    try:
        collection = folder.read_collection()
    except InputError as exc:
        report.checked += 1
        report.invalid_objects += 1
        report.problems.append(Problem(source, exc.message, "json"))
    else:
        report.extend(validator.validate_objects([(collection, source, None)], expect="Collection"))
    if folder.card_path.exists():
        try:
            folder.read_card()
        except InputError as exc:
            report.problems.append(Problem(str(folder.card_path), exc.message, "card"))
    if folder.items_path.exists():
        report.extend(validate_ndjson(folder.items_path, validator))
    return report


def validate_ndjson(path: str | os.PathLike[str], validator: Validator) -> Report:
    """Every line of an ndjson file as a STAC Item; duplicate ids are problems too."""
    report = Report()
    source = str(path)
    seen: set[str] = set()
    try:
        for line in ndjson.iter_lines(path):
            report.checked += 1
            try:
                obj = ndjson.parse_line(source, line)
            except InputError as exc:
                report.invalid_objects += 1
                message = exc.message.split(": ", 1)[-1]
                report.problems.append(Problem(source, message, "json", line.number))
                continue
            found = validator.validate_object(obj, source, line.number, expect="Feature")
            item_id = obj.get("id")
            if isinstance(item_id, str):
                if item_id in seen:
                    found.append(
                        Problem(
                            source,
                            f"duplicate item id {item_id!r}",
                            "duplicate-id",
                            line.number,
                            item_id,
                            hint="every item of a dataset needs its own id",
                        )
                    )
                seen.add(item_id)
            if found:
                report.invalid_objects += 1
                report.problems.extend(found)
    except InputError as exc:
        report.invalid_objects += 1
        report.problems.append(Problem(source, exc.message, "ndjson"))
    return report


def _validate_walk(target: str, validator: Validator, recursive: bool) -> Report:
    report = Report()
    visits = walk(target) if recursive else iter([_single(target)])
    for visit in visits:
        report.checked += 1
        if visit.error is not None:
            report.invalid_objects += 1
            message = visit.error.removeprefix(f"{visit.href}: ")
            report.problems.append(Problem(visit.href, message, "json"))
            continue
        found = validator.validate_object(visit.obj, visit.href)
        if found:
            report.invalid_objects += 1
            report.problems.extend(found)
    return report


def _single(target: str) -> Visit:
    try:
        return Visit(target, read_stac(target))
    except InputError as exc:
        return Visit(target, error=exc.message)
