"""The shape of the code, checked: one ``--lab`` option, and URLs opened only at the I/O seam.

Both checks read the source (``ast``) and the click commands themselves, so a copy of the
``--lab`` block or a new HTTP reader in some package fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import click
import pytest

from eotdl.cli.main import cli
from eotdl.cli.output import LabOption

SRC = Path(__file__).resolve().parents[2] / "src" / "eotdl"
CLI = SRC / "cli"
#: The one module that may declare ``--lab`` (``lab_param``/``lab_option``).
LAB_OPTION_HOME = "output.py"

#: Modules that may open a URL: the location reader(s) of ``catalog`` and the object stores.
ALLOWED_URL_OPENERS = {
    "catalog/locations.py",  # the one reader for locations (issue 15, point 1)
    "catalog/sources.py",  # the location reader before catalog/locations.py
    "catalog/http_downloads.py",  # pooled keep-alive HTTP for parallel, resumable downloads
    "storage/",  # the object stores (S3 through boto3) and their transfers
}
#: Modules that open URLs today although they should not. This list may only shrink: when
#: one stops, the test asks for its line to go (issue 15 moves them behind catalog's reader).
KNOWN_URL_OPENERS: set[str] = set()

#: What opening a URL looks like: module imports, and names called or referenced.
URL_MODULES = {"requests", "httpx", "urllib3", "aiohttp", "pycurl"}
URL_NAMES = {
    "urlopen",
    "build_opener",
    "OpenerDirector",
    "HTTPConnection",
    "HTTPSConnection",
    "PoolManager",
}


def lab_option_declarations(source: str) -> list[int]:
    """Lines of ``source`` that declare a ``--lab`` click option or parameter."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in ("option", "Option", "argument", "Argument", "Parameter"):
            continue
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            for leaf in ast.walk(arg):
                if isinstance(leaf, ast.Constant) and leaf.value == "--lab":
                    found.append(node.lineno)
    return found


def url_openers(source: str) -> list[str]:
    """How ``source`` opens URLs (``line: what``), from its imports and the names it uses."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or "", *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Attribute):
            names = [node.attr] if node.attr in URL_NAMES else []
        elif isinstance(node, ast.Name):
            names = [node.id] if node.id in URL_NAMES else []
        else:
            continue
        for name in names:
            if name.split(".")[0] in URL_MODULES or name.split(".")[-1] in URL_NAMES:
                found.append(f"{node.lineno}: {name}")
    return found


def _relative(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _allowed(relative: str, patterns: set[str]) -> bool:
    return any(relative == p or (p.endswith("/") and relative.startswith(p)) for p in patterns)


def _commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    found: list[tuple[str, click.Command]] = []

    def visit(group: click.Group, prefix: str) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None, name
            found.append((f"{prefix} {name}".strip(), command))
            if isinstance(command, click.Group):
                visit(command, f"{prefix} {name}")

    visit(cli, "")
    return found


@pytest.mark.parametrize("path", sorted(CLI.glob("*.py")), ids=lambda p: p.name)
def test_no_cli_module_declares_its_own_lab_option(path: Path):
    if path.name == LAB_OPTION_HOME:
        return
    lines = lab_option_declarations(path.read_text(encoding="utf-8"))
    assert not lines, (
        f"src/eotdl/cli/{path.name}:{lines[0]} declares --lab: use"
        " eotdl.cli.output.lab_option() (or lab_param() for a built command)"
    )


def test_every_lab_option_is_the_shared_one():
    with_lab = []
    for name, command in _commands():
        for param in command.params:
            if "--lab" in getattr(param, "opts", []):
                assert isinstance(param, LabOption), (
                    f"`eotdl {name}` has its own --lab: use eotdl.cli.output.lab_option()"
                )
                assert param.name == "lab", name
                with_lab.append(name)
    # the writers, the readers and a builder command built from the registry all have it
    assert {"build", "storage ls", "get", "search", "models get", "ingest stac"} <= set(with_lab)


def test_the_checkers_see_an_offender():
    own = 'import click\n\n@click.option(\n    "--lab", "lab_dir", default=None)\ndef f(): ...\n'
    assert lab_option_declarations(own) == [3]
    built = 'params = [click.Option(["--lab", "lab_dir"])]\n'
    assert lab_option_declarations(built) == [1]
    assert lab_option_declarations('raise X("pass --lab DIR")\n') == []
    reader = (
        "import urllib.request\nimport requests\nfrom http.client import HTTPSConnection\n"
        "urllib.request.urlopen('http://x')\n"
    )
    assert [line.split(":")[0] for line in url_openers(reader)] == ["2", "3", "4"]
    assert url_openers("from urllib.request import url2pathname\n") == []


def test_only_the_io_seam_opens_urls():
    offenders: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        relative = _relative(path)
        if _allowed(relative, ALLOWED_URL_OPENERS):
            continue
        found = url_openers(path.read_text(encoding="utf-8"))
        if found:
            offenders[relative] = found
    new = {k: v for k, v in offenders.items() if k not in KNOWN_URL_OPENERS}
    assert not new, (
        f"only catalog's location reader and storage open URLs; read through them instead: {new}"
    )
    gone = sorted(KNOWN_URL_OPENERS - set(offenders))
    assert not gone, f"these no longer open URLs: remove them from KNOWN_URL_OPENERS: {gone}"
