"""``eotdl check``: what a pull request changed, and whether it may be merged.

For every dataset or model the branch changed against a base ref: the diff, the version rule,
offline validation and QA of the changed items, and safety checks of their hrefs and bytes
(the store must already hold every referenced asset with its declared checksum; hrefs may not
leave the lab's store). Cost is proportional to the change: the changed items come from
``git diff``, and checks that need the whole dataset run on the changed items only. Nothing
from the pull request is executed (recipes are read, never run) and nothing is written to the
store: no write credentials are needed.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical
from eotdl.catalog.diff import DatasetDiff, diff_dataset
from eotdl.catalog.diff_render import render_markdown as render_diff
from eotdl.catalog.git import WORKTREE, diff_lines, is_repo, merge_base, repo_root, show
from eotdl.catalog.lab import Lab
from eotdl.catalog.validate import Validator
from eotdl.catalog.versions import Verdict, version_verdict
from eotdl.errors import EotdlError, LabError
from eotdl.qa.context import QAContext
from eotdl.qa.findings import ERROR, Finding
from eotdl.qa.levels import compute_level
from eotdl.qa.pr_files import LARGE_FILE_BYTES, MAINTAINER_EXIT, ChangedFiles, check_changed_files
from eotdl.qa.registry import select

#: Checks whose verdict needs the whole dataset or re-reads every byte: on a PR they run on
#: the changed items only (leakage and duplicates among them; bytes are checked by HEAD).
SCOPED_SKIP = ("assets",)


@dataclass
class DatasetCheck:
    """The verdict on one changed dataset or model."""

    name: str
    group: str
    diff: DatasetDiff
    verdict: Verdict
    findings: list[Finding] = field(default_factory=list)
    level_after: str = ""
    level_reasons: list[str] = field(default_factory=list)
    items_checked: int = 0

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR) + (0 if self.verdict.ok else 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.group[:-1],
            "diff": self.diff.to_dict(),
            "version": self.verdict.to_dict(),
            "qa_level_after": self.level_after,
            "qa_level_reasons": self.level_reasons,
            "items_checked": self.items_checked,
            "findings": [f.to_dict() for f in self.findings],
            "errors": self.errors,
        }


@dataclass
class CheckReport:
    """Everything ``eotdl check`` found."""

    base: str
    base_commit: str
    datasets: list[DatasetCheck]
    seconds: float = 0.0
    files: ChangedFiles = field(default_factory=ChangedFiles)

    @property
    def errors(self) -> int:
        return sum(d.errors for d in self.datasets) + self.files.errors

    @property
    def ok(self) -> bool:
        return self.errors == 0

    @property
    def maintainer_review(self) -> bool:
        """Whether the branch changes the lab's settings or CI (a maintainer must review)."""
        return bool(self.files.maintainer)

    @property
    def exit_status(self) -> int:
        """0: mergeable; 1: errors to fix; 3: no errors, but a maintainer must review."""
        if not self.ok:
            return 1
        return MAINTAINER_EXIT if self.maintainer_review else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "base": self.base,
            "base_commit": self.base_commit,
            "errors": self.errors,
            "maintainer_review": self.maintainer_review,
            "exit_status": self.exit_status,
            "seconds": round(self.seconds, 3),
            "files": self.files.to_dict(),
            "datasets": [d.to_dict() for d in self.datasets],
        }


class _ChangedItems(QAContext):
    """A QA context that sees only the items a pull request added or changed."""

    def __init__(self, lab: Lab, name: str, items: list[dict[str, Any]], group: str) -> None:
        if group == "models":
            self.lab, self.name = lab, name
            self.folder = lab.model(name)
            self.workers = min(8, (os.cpu_count() or 2) * 2)
            self._rasters = None
        else:
            super().__init__(lab, name)
        self._changed = items

    def iter_items(self) -> Iterator[dict[str, Any]]:
        yield from self._changed


def changed_folders(lab: Lab, repo: Path, base: str) -> list[tuple[str, str]]:
    """(group, name) of every dataset/model folder with a changed file."""
    from eotdl.catalog.git import changed_paths

    prefix = lab.root.relative_to(repo).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    found: set[tuple[str, str]] = set()
    for path in changed_paths(repo, base):
        if not path.startswith(prefix):
            continue
        parts = path[len(prefix) :].split("/")
        if len(parts) >= 3 and parts[0] in ("datasets", "models"):
            found.add((parts[0], parts[1]))
    return sorted(found)


def check_pull_request(
    lab: Lab, base: str = "origin/main", large_file_bytes: int = LARGE_FILE_BYTES
) -> CheckReport:
    """Check every dataset and model changed since ``base`` (its merge base with HEAD).

    First the changed files themselves (see :mod:`eotdl.qa.pr_files`): a dataset or model
    folder holding a symlink, a special file or a file outside the layout is not read at all.
    """
    start = time.perf_counter()
    if not is_repo(lab.root):
        raise LabError(
            f"{lab.root} is not a git repository", hint="`eotdl check` compares git refs"
        )
    repo = repo_root(lab.root)
    commit = merge_base(repo, base)
    files = check_changed_files(lab, repo, commit, large_file_bytes)
    results = []
    validator = Validator()
    for group, name in changed_folders(lab, repo, commit):
        if (group, name) in files.unsafe_folders:
            continue
        results.append(_check_one(lab, repo, commit, group, name, validator))
    return CheckReport(base, commit, results, time.perf_counter() - start, files)


def _check_one(
    lab: Lab, repo: Path, base: str, group: str, name: str, validator: Validator
) -> DatasetCheck:
    folder_path = (lab.root / group / name).relative_to(repo).as_posix()
    diff = diff_dataset(repo, folder_path, name, base, WORKTREE)
    result = DatasetCheck(name, group, diff, version_verdict(diff))
    if diff.is_deleted:
        return result
    folder = lab.root / group / name
    items = _changed_items(repo, base, folder_path, diff)
    result.items_checked = len(items)
    findings = result.findings
    collection_file = folder / "collection.json"
    collection = None
    try:
        from eotdl.catalog.jsonfile import read_json_object

        collection = read_json_object(collection_file, folder)
        for problem in validator.validate_object(
            collection, str(collection_file), expect="Collection"
        ):
            findings.append(_schema_finding(problem, name))
    except EotdlError as exc:
        findings.append(Finding(ERROR, "schema", name, exc.message, "fix collection.json"))
    valid = []  # hrefs and QA read only items that validate (``"assets": "x"`` is reported)
    for line, item in items:
        problems = list(
            validator.validate_object(item, str(folder / "items.ndjson"), line, "Feature")
        )
        findings.extend(_schema_finding(problem, str(item.get("id"))) for problem in problems)
        if not problems:
            valid.append(item)
    ctx = _ChangedItems(lab, name, valid, group)
    if group == "datasets" and collection is not None:
        selected = select(skip=["schema", *SCOPED_SKIP], pull_request=True)
    else:  # a model, or a dataset with no readable collection: its assets only
        selected = [c for c in select(pull_request=True) if c.pull_request_only]
    qa_findings: list[Finding] = []
    for check in selected:
        try:
            for finding in check.function(ctx):
                qa_findings.append(dataclasses.replace(finding, check=check.name))
        except EotdlError as exc:
            qa_findings.append(Finding(ERROR, check.name, name, exc.message, ""))
    findings.extend(qa_findings)
    if group == "datasets" and collection is not None:
        schema_findings = [
            dataclasses.replace(f, check="schema") for f in findings if f.code.startswith("schema")
        ]
        level, reasons = compute_level(
            ctx,
            schema_findings + qa_findings,
            ["schema", *(c.name for c in selected), *SCOPED_SKIP],
        )
        result.level_after = level
        result.level_reasons = reasons
    return result


def _schema_finding(problem: Any, object_id: str) -> Finding:
    where = f"{problem.source}:{problem.line}" if problem.line else problem.source
    path = f" at {problem.path}" if problem.path else ""
    return Finding(
        ERROR,
        "schema",
        object_id,
        f"{where}{path}: {problem.message}",
        problem.hint or f"see {problem.rule}",
        check="schema",
    )


def _changed_items(
    repo: Path, base: str, folder: str, diff: DatasetDiff
) -> list[tuple[int | None, dict[str, Any]]]:
    """The new content of every added or changed item (from git's diff, or the whole file)."""
    path = f"{folder}/items.ndjson"
    wanted = set(diff.added) | {c.id for c in diff.changed}
    if not wanted:
        return []
    if diff.is_new:
        data = show(repo, WORKTREE, path) or b""
        lines = data.splitlines()
    elif diff.new_lines is not None:
        lines = diff.new_lines
    else:
        _, lines = diff_lines(repo, base, path)
    out = []
    for number, raw in enumerate(lines, start=1):
        raw = raw.strip()
        if not raw:
            continue
        try:
            item = canonical.loads(raw)
        except ValueError:
            continue  # the schema check of the whole file reports it
        if isinstance(item, dict) and item.get("id") in wanted:
            out.append((number if diff.is_new else None, item))
    return out


def render_markdown(report: CheckReport) -> str:
    """The report as a pull-request comment."""
    icon = "❌" if not report.ok else "⚠️" if report.maintainer_review else "✅"
    lines = [
        f"## {icon} eotdl check",
        "",
        f"Compared with `{report.base}` ({report.base_commit[:10]}): "
        f"{len(report.datasets)} dataset(s) or model(s) changed, {report.errors} error(s),"
        f" checked in {report.seconds:.1f} s.",
        "",
    ]
    if report.maintainer_review:
        lines.append(
            "**⚠️ Maintainer review required**: this branch changes the lab's settings or CI"
            " (" + ", ".join(f"`{p}`" for p in report.files.maintainer[:20]) + ")."
        )
        lines.append("")
    if report.files.findings:
        lines += [
            "**Files**:",
            "",
            "| severity | file | finding | how to fix |",
            "|---|---|---|---|",
        ]
        for f in report.files.findings[:50]:
            lines.append(f"| {f.severity} | `{_cell(f.object)}` | {_cell(f.message)} | {f.fix} |")
        if len(report.files.findings) > 50:
            lines.append(f"| … | | {len(report.files.findings) - 50} more | |")
        lines.append("")
    if not report.datasets and not report.files.unsafe_folders:
        lines.append("Nothing under `datasets/` or `models/` changed.")
    for entry in report.datasets:
        state = "✅" if entry.errors == 0 else "❌"
        lines.append(render_diff(entry.diff, heading=f"### {state}").rstrip())
        lines.append("")
        verdict = entry.verdict
        lines.append(f"**Version**: {'✅' if verdict.ok else '❌'} {verdict.message}")
        if entry.level_after:
            lines.append(f"**QA level** (changed items): {entry.level_after}")
            for reason in entry.level_reasons[:4]:
                lines.append(f"  - {reason}")
        lines.append(f"**Items checked**: {entry.items_checked}")
        if entry.findings:
            lines += [
                "",
                "| severity | check | object | finding | how to fix |",
                "|---|---|---|---|---|",
            ]
            for f in entry.findings[:50]:
                lines.append(
                    f"| {f.severity} | {f.check or f.code} | `{f.object}` |"
                    f" {_cell(f.message)} | {_cell(f.fix)} |"
                )
            if len(entry.findings) > 50:
                lines.append(f"| … | | | {len(entry.findings) - 50} more | |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
