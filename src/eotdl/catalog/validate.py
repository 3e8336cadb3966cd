"""Offline, fast STAC validation against the official JSON schemas.

Every object is checked against its core schema and the schema of every extension it declares.
The schemas an object needs are compiled once (with jsonschema-rs) into a single validator per
combination, so a dataset of ten thousand items costs one compile and ten thousand fast checks.
Formats are not enforced, as in stac-validator, so verdicts match the reference validators.

An ndjson file is read in chunks of lines; a valid item costs one ``orjson.loads`` and one
``is_valid`` of the validator cached for its (version, extensions); only an invalid item takes
the slow path that explains what is wrong. A large file is split into byte ranges that several
forked processes validate at once (they inherit the compiled schemas), and the reports are
merged in line order, so the verdicts, problems and their order are those of one process.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import orjson

from eotdl.catalog import ndjson
from eotdl.catalog.jsonfile import json_kind
from eotdl.catalog.schemas import (
    CORE_PATHS,
    STAC_VERSIONS,
    SchemaSource,
    core_schema_url,
    extension_schema_url,
    load_with_refs,
)
from eotdl.children import die_with_parent
from eotdl.errors import InputError, SchemaUnavailableError

if TYPE_CHECKING:  # imported where used: `eotdl validate FILE.ndjson` needs neither
    from eotdl.catalog.dataset import DatasetFolder
    from eotdl.catalog.sources import Visit


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
            registry = jsonschema_rs.Registry(
                [
                    (url, _without_lookahead(schema) if b"(?!" in orjson.dumps(schema) else schema)
                    for url, schema in resources.items()
                ]
            )
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
    for current, loaded in load_with_refs([url], source, skip=resources):
        if isinstance(loaded, SchemaUnavailableError):
            missing.append((current, loaded.message))
            resources[current] = {}
        else:
            resources[current] = loaded
    return missing


#: ``^(?!PREFIX)``: the "no other field of this extension" rule of STAC extension schemas.
_NOT_PREFIX = re.compile(r"\^\(\?!([A-Za-z0-9_:-]+)\)")


def _without_lookahead(node: Any) -> Any:
    """``node`` with every ``patternProperties`` key ``^(?!PREFIX)`` written without the
    look-ahead: the same set of names (``_plain_not_prefix``), but a plain regular expression
    that jsonschema-rs matches without backtracking, about a fifth of an Item's check."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "patternProperties" and isinstance(value, dict):
                out[key] = {_plain_not_prefix(k): _without_lookahead(v) for k, v in value.items()}
            else:
                out[key] = _without_lookahead(value)
        return out
    if isinstance(node, list):
        return [_without_lookahead(value) for value in node]
    return node


def _plain_not_prefix(pattern: str) -> str:
    """``^(?!abc)`` → ``^(?:$|[^a]|a$|a[^b]|ab$|ab[^c])``: strings not starting with abc."""
    found = _NOT_PREFIX.fullmatch(pattern)
    if found is None:
        return pattern
    prefix = found.group(1)
    branches = ["$"]
    for index, char in enumerate(prefix):
        head = prefix[:index]
        if index:
            branches.append(f"{head}$")
        branches.append(f"{head}[^{char}]")
    return "^(?:" + "|".join(branches) + ")"


#: ndjson files at least this large are validated by several processes (where fork exists).
PARALLEL_MIN_BYTES = int(os.environ.get("EOTDL_VALIDATE_PARALLEL_BYTES", 2 * 1024 * 1024))
#: The byte ranges the processes take in turn (small enough to share work evenly).
CHUNK_BYTES = 1024 * 1024


class Validator:
    """Validates STAC objects; compiled schemas are cached and shared across threads.

    ``processes`` caps the processes that validate a large ndjson file (default: the CPUs
    this process may use; 1 validates in this process only).
    """

    def __init__(self, schemas: SchemaSource | None = None, processes: int | None = None) -> None:
        self.schemas = schemas or SchemaSource.from_environment()
        self.processes = processes
        self._compiled: dict[tuple[str, ...], _Compiled] = {}
        self._lock = threading.Lock()
        #: (stac_version, stac_extensions) of an Item -> is_valid of its compiled schemas
        self._item_checks: dict[tuple[Any, Any], Callable[[Any], bool]] = {}

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
            got = json_kind(obj)
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

    def _item_check(self, key: tuple[Any, Any], obj: dict[str, Any]) -> Callable[[Any], bool]:
        """``is_valid`` for Items of ``key``; a check that always fails (so the slow path
        explains) when the version is unknown or a schema is unavailable."""
        check = self._item_checks.get(key)
        if check is None:
            check = _never
            if obj.get("stac_version") in STAC_VERSIONS:
                compiled = self._compiled_for(self.schema_urls(obj, "Feature"))
                if not compiled.unavailable and compiled.validator is not None:
                    check = compiled.validator.is_valid
            self._item_checks[key] = check
        return check

    def _check_lines(self, lines: Iterator[tuple[int, bytes]], source: str) -> _Chunk:
        """Validate ndjson lines (number, stripped bytes) as Items, without duplicate checks."""
        chunk = _Chunk()
        checks = self._item_checks
        loads = orjson.loads
        ids = chunk.ids
        id_lines = chunk.id_lines
        try:
            for number, data in lines:
                chunk.checked += 1
                try:
                    obj = loads(data)
                    if obj.__class__ is dict and obj.get("type") == "Feature":
                        extensions = obj.get("stac_extensions")
                        key = (
                            obj.get("stac_version"),
                            tuple(extensions) if extensions.__class__ is list else extensions,
                        )
                        check = checks.get(key) or self._item_check(key, obj)
                        if check(obj):
                            item_id = obj.get("id")
                            if item_id.__class__ is str:
                                ids.append(item_id)
                                id_lines.append(number)
                            continue
                except (orjson.JSONDecodeError, TypeError):
                    pass  # not JSON, or an unhashable stac_extensions: the slow path explains
                self._check_line_slowly(chunk, number, data, source)
        except InputError as exc:
            chunk.fatal = exc.message
        except _LineTooLong:
            chunk.redo = True
        return chunk

    def _check_line_slowly(self, chunk: _Chunk, number: int, data: bytes, source: str) -> None:
        try:
            obj = ndjson.parse_line(source, ndjson.Line(number, data))
        except InputError as exc:
            message = exc.message.split(": ", 1)[-1]
            chunk.problems.append(Problem(source, message, "json", number))
            chunk.invalid.append(number)
            return
        found = self.validate_object(obj, source, number, expect="Feature")
        item_id = obj.get("id")
        if isinstance(item_id, str):
            chunk.ids.append(item_id)
            chunk.id_lines.append(number)
        if found:
            chunk.problems.extend(found)
            chunk.invalid.append(number)

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
    checker = validator or Validator()
    start = time.perf_counter()
    report = Report()
    is_url = urllib.parse.urlsplit(target).scheme in ("http", "https")  # as sources.is_url
    if is_url or target.startswith("file://"):
        report.extend(_validate_walk(target, checker, recursive))
    else:
        path = Path(target)
        if not path.exists():
            raise InputError(f"{target}: no such file or folder")
        if path.is_dir():  # the lab layer (and its YAML cards) only where a folder needs it
            from eotdl.catalog.dataset import COLLECTION, DatasetFolder
            from eotdl.catalog.lab import CONFIG_NAME, Lab
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


def validate_targets(
    targets: Iterable[str], validator: Validator | None = None, recursive: bool = True
) -> Report:
    """:func:`validate_target` for each target, with one :class:`Validator` (schemas compiled
    once): one report, its ``seconds`` the sum of the targets' times."""
    checker = validator or Validator()
    report = Report()
    for target in targets:
        part = validate_target(target, checker, recursive=recursive)
        report.extend(part)
        report.seconds += part.seconds
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
    """Every line of an ndjson file as a STAC Item; duplicate ids are problems too.

    A file of more than ``PARALLEL_MIN_BYTES`` is shared by several processes; the report is
    the same as from one.
    """
    source = str(path)
    try:
        size = os.stat(source).st_size
    except OSError:
        size = 0  # missing or unreadable: the sequential read says so
    processes = _usable_processes(validator, size)
    if processes > 1:
        _precompile(validator, source)
        chunks = _parallel_chunks(validator, source, size, processes)
        if chunks is not None:
            return _merge(chunks, source)
    lines = _numbered(ndjson.iter_lines(path))  # an InputError while reading ends the chunk
    return _merge([validator._check_lines(lines, source)], source)


def _precompile(validator: Validator, path: str) -> None:
    """Compile the schemas of the first item before forking, so every process inherits them."""
    try:
        first = next(ndjson.iter_lines(path), None)
        obj = orjson.loads(first.data) if first is not None else None
    except (InputError, orjson.JSONDecodeError):
        return
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        try:
            validator._item_check(_item_key(obj), obj)
        except TypeError:  # an unhashable stac_extensions
            return


def _item_key(obj: dict[str, Any]) -> tuple[Any, Any]:
    """What an Item's schemas depend on: its version and extensions (as in the hot loop of
    :meth:`Validator._check_lines`)."""
    extensions = obj.get("stac_extensions")
    return (
        obj.get("stac_version"),
        tuple(extensions) if extensions.__class__ is list else extensions,
    )


def _validate_walk(target: str, validator: Validator, recursive: bool) -> Report:
    from eotdl.catalog.sources import walk

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
    from eotdl.catalog.sources import Visit, read_stac

    try:
        return Visit(target, read_stac(target))
    except InputError as exc:
        return Visit(target, error=exc.message)


def _never(_obj: Any) -> bool:
    return False


class _LineTooLong(Exception):
    """A line over the limit inside a byte range: the whole file is read again in order, so
    the error names its line exactly as a sequential read does."""


@dataclass
class _Chunk:
    """What a run of ndjson lines gave; line numbers count from the run's first line."""

    lines: int = 0
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    id_lines: list[int] = field(default_factory=list)
    fatal: str | None = None
    redo: bool = False


def _numbered(lines: Iterable[ndjson.Line]) -> Iterator[tuple[int, bytes]]:
    for line in lines:
        yield line.number, line.data


class _RangeLines:
    """The non-blank lines that begin in bytes [start, end) of a file, numbered from 1; a line
    that began before ``start`` belongs to the range before. ``lines`` counts every line read,
    blank ones too, so the next range's numbers can be made absolute."""

    def __init__(self, path: str, start: int, end: int) -> None:
        self.path, self.start, self.end = path, start, end
        self.lines = 0

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        limit = ndjson.MAX_LINE_BYTES
        end = self.end
        with open(self.path, "rb") as handle:
            if self.start > 0:
                handle.seek(self.start - 1)
                if handle.read(1) != b"\n":  # skip the end of a line begun before
                    while handle.tell() < end:
                        rest = handle.readline(min(limit, end - handle.tell()) + 1)
                        if not rest or rest.endswith(b"\n"):
                            break
            position = handle.tell()
            number = 0
            while position < end:
                raw = handle.readline(limit + 1)
                if not raw:
                    break
                number += 1
                if len(raw) > limit and not raw.endswith(b"\n"):
                    raise _LineTooLong
                position += len(raw)
                data = raw.strip()
                if data:
                    yield number, data
            self.lines = number


def _check_range(validator: Validator, path: str, start: int, end: int) -> _Chunk:
    lines = _RangeLines(path, start, end)
    chunk = validator._check_lines(iter(lines), path)
    chunk.lines = lines.lines
    return chunk


def _usable_processes(validator: Validator, size: int) -> int:
    """How many processes should validate an ndjson file of ``size`` bytes."""
    if size < PARALLEL_MIN_BYTES or not hasattr(os, "fork") or sys.platform == "win32":
        return 1
    if threading.active_count() > 1:
        return 1  # forking a process with other threads running is not safe
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    wanted = validator.processes or cpus or 1
    return max(1, min(wanted, -(-size // CHUNK_BYTES)))


def _parallel_chunks(
    validator: Validator, path: str, size: int, processes: int
) -> list[_Chunk] | None:
    """Validate byte ranges of ``path`` in this process and ``processes - 1`` forked ones, each
    taking the next range from a shared pipe; the chunks in file order (None: read again
    in order)."""
    import pickle
    import signal

    # at most 1024 ranges: their numbers (4 bytes each) fit in one atomic pipe write
    chunk_bytes = max(CHUNK_BYTES, -(-size // 1024))
    ranges = [(start, min(start + chunk_bytes, size)) for start in range(0, size, chunk_bytes)]
    tasks_read, tasks_write = os.pipe()
    os.write(tasks_write, b"".join(i.to_bytes(4, "little") for i in range(len(ranges))))
    os.close(tasks_write)

    def work() -> dict[int, _Chunk]:
        done: dict[int, _Chunk] = {}
        while True:
            task = os.read(tasks_read, 4)
            if len(task) < 4:
                return done
            index = int.from_bytes(task, "little")
            start, end = ranges[index]
            done[index] = _check_range(validator, path, start, end)
            if done[index].redo:
                return done

    children: list[tuple[int, int]] = []
    results: dict[int, _Chunk] = {}
    try:
        for _ in range(processes - 1):
            result_read, result_write = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child process, measured by the parent's tests
                code = 1
                try:
                    die_with_parent()
                    os.close(result_read)
                    data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
                    with os.fdopen(result_write, "wb") as out:
                        out.write(data)
                    code = 0
                finally:
                    os._exit(code)
            os.close(result_write)
            children.append((pid, result_read))
        results.update(work())
        for pid, result_read in children:
            with os.fdopen(result_read, "rb") as handle:
                data = handle.read()
            _, status = os.waitpid(pid, 0)
            if status == 0 and data:
                results.update(pickle.loads(data))
        children.clear()
    finally:
        os.close(tasks_read)
        for pid, result_read in children:  # interrupted: stop the others
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except OSError:
                pass
            try:
                os.close(result_read)
            except OSError:
                pass
    for index, (start, end) in enumerate(ranges):
        if index not in results:  # a process died: do its ranges here
            results[index] = _check_range(validator, path, start, end)
    chunks = [results[i] for i in range(len(ranges))]
    return None if any(c.redo for c in chunks) else chunks


def _merge(chunks: Sequence[_Chunk], source: str) -> Report:
    """One report from chunks in file order: line numbers made absolute, duplicate ids found,
    problems in line order (a line's own problems before its duplicate-id one)."""
    report = Report()
    by_line: dict[int, list[Problem]] = {}
    invalid: set[int] = set()
    seen: set[str] = set()
    offset = 0
    fatal: str | None = None
    for chunk in chunks:
        report.checked += chunk.checked
        for problem in chunk.problems:
            line = (problem.line or 0) + offset
            moved = problem if offset == 0 else replace(problem, line=line)
            by_line.setdefault(line, []).append(moved)
        invalid.update(n + offset for n in chunk.invalid)
        for item_id, number in zip(chunk.ids, chunk.id_lines, strict=True):
            if item_id in seen:
                line = number + offset
                by_line.setdefault(line, []).append(
                    Problem(
                        source,
                        f"duplicate item id {item_id!r}",
                        "duplicate-id",
                        line,
                        item_id,
                        hint="every item of a dataset needs its own id",
                    )
                )
                invalid.add(line)
            seen.add(item_id)
        offset += chunk.lines
        if chunk.fatal is not None:
            fatal = chunk.fatal
            break
    for line in sorted(by_line):
        report.problems.extend(by_line[line])
    report.invalid_objects = len(invalid)
    if fatal is not None:
        report.invalid_objects += 1
        report.problems.append(Problem(source, fatal, "ndjson"))
    return report
