"""The import rule of DESIGN.md, checked on the source: ``cli`` → the parts → ``catalog`` →
``storage``, and the parts do not import each other except where the design says so."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "eotdl"
#: What the package root offers every layer: errors, atomic writes, child processes, the version,
#: and the lazy exports of every package's ``__init__``.
BASE = {"errors", "atomic", "children", "__version__", "exports"}
PARTS = {"builders", "qa", "site", "read", "api", "ml", "train"}
#: What each package may import from eotdl, besides itself and BASE.
ALLOWED: dict[str, set[str]] = {
    "storage": set(),
    "catalog": {"storage"},
    **{part: {"catalog", "storage"} for part in PARTS},
    "cli": {"catalog", "storage", *PARTS},
}
#: The sideways imports the design allows: the site renders what QA reports; the API server
#: and the ML loaders find datasets through ``read``; training reads through ``read`` and ``ml``.
ALLOWED["site"].add("qa")
ALLOWED["api"].add("read")
ALLOWED["ml"].add("read")
ALLOWED["train"] |= {"read", "ml"}


def eotdl_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, top-level package)`` of every ``eotdl.*`` import in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = (
                [node.module] if node.module != "eotdl" else [f"eotdl.{a.name}" for a in node.names]
            )
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "eotdl" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


def test_every_package_has_a_rule() -> None:
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_run_one_way(package: str) -> None:
    wrong = []
    for path in sorted((SRC / package).rglob("*.py")):
        for line, target in eotdl_imports(path):
            if target in (package, *BASE) or target in ALLOWED[package]:
                continue
            wrong.append(f"{path.relative_to(SRC)}:{line} imports eotdl.{target}")
    assert not wrong, "imports against the rule of DESIGN.md:\n" + "\n".join(wrong)


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from eotdl.site.build import build_site\nimport eotdl.qa.runner\n")
    assert eotdl_imports(module) == [(1, "site"), (2, "qa")]
