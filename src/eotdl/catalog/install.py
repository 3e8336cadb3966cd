"""The line that installs eotdl, as a lab's site and CI workflows show and run it.

The package index's ``eotdl`` is an unrelated project of the same name, so it
is never the line. A lab sets its own in ``eotdl.toml`` (``[site] install``); ``eotdl init``
writes one there: the place this eotdl was installed from when that is a public URL (a git
repository or an archive, from pip's ``direct_url.json``), else a line that says what to set.
"""

from __future__ import annotations

import json
import re
import shlex

#: A line that installs nothing and says why: written when no public source is known.
UNKNOWN = (
    'echo "set [site] install in eotdl.toml to the line that installs eotdl from its source'
    " (the package index's eotdl is another project)\" >&2; exit 1"
)
_INSTALLERS = (
    ("pip",),
    ("pip3",),
    ("python", "-m", "pip"),
    ("python3", "-m", "pip"),
    ("uv", "pip"),
)


def default_install_line() -> str:
    """Where this eotdl came from, as a pip line, when that place is public; else UNKNOWN."""
    from importlib import metadata  # 20 ms: imported when a page asks

    try:
        text = metadata.distribution("eotdl").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        text = None
    if not text:
        return UNKNOWN
    try:
        data = json.loads(text)
    except ValueError:
        return UNKNOWN
    url = str(data.get("url") or "")
    if not url.startswith(("https://", "http://")):
        return UNKNOWN  # a local folder: readers cannot install from it
    vcs = data.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") == "git":
        commit = str(vcs.get("commit_id") or vcs.get("requested_revision") or "")
        return f'pip install "eotdl @ git+{url}' + (f"@{commit}" if commit else "") + '"'
    return f'pip install "eotdl @ {url}"'


def install_line(configured: str) -> str:
    """The lab's configured line, else the default; never the index's ``eotdl``."""
    line = configured.strip()
    if not line or installs_other_project(line):
        return default_install_line()
    return line


def installs_other_project(line: str) -> bool:
    """Whether ``line`` installs the package index's ``eotdl`` (an unrelated project), the
    lines this refuses: an installer (pip, pip3, python -m pip, uv pip) given the bare name,
    with or without extras, a version or flags.
    A URL, a path or ``eotdl @ git+https://…`` is this project and passes."""
    try:
        words = shlex.split(line)
    except ValueError:
        return False
    for start in range(len(words)):
        for installer in _INSTALLERS:
            end = start + len(installer)
            if tuple(words[start:end]) != installer or words[end : end + 1] != ["install"]:
                continue
            args = words[end + 1 :]
            for i, word in enumerate(args):
                if word in ("&&", ";", "||", "|"):
                    break
                name = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*([<>=!~].*)?$", word)
                pinned_elsewhere = args[i + 1 : i + 2] == ["@"]
                if name and name.group(1).lower() == "eotdl" and not pinned_elsewhere:
                    return True
    return False
