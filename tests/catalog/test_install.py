"""The install line: the site and the lab's workflows install this project, never the other
`eotdl` on the package index, and the workflows run the line the lab configures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from eotdl.catalog.install import UNKNOWN, default_install_line, install_line
from eotdl.catalog.lab import Lab, init_lab
from eotdl.site.snippets import download_snippets

#: The line no page may show: it installs the index's unrelated ``eotdl``.
WRONG = "pip install eotdl"


def _install_step(workflow: Path) -> str:
    data = yaml.safe_load(workflow.read_text())
    steps = next(iter(data["jobs"].values()))["steps"]
    runs = [s["run"] for s in steps if "install eotdl" in str(s.get("name", "")).lower()]
    assert len(runs) == 1
    return str(runs[0])


def test_workflows_run_the_configured_line(tmp_path: Path) -> None:
    lab = init_lab(tmp_path / "lab", install="echo installed-by-the-lab-line > marker.txt")
    assert Lab(lab.root).config.site_install == "echo installed-by-the-lab-line > marker.txt"
    python_dir = str(Path(sys.executable).parent)
    for name in ("check.yml", "publish.yml"):
        step = _install_step(lab.root / ".github/workflows" / name)
        assert WRONG not in step  # never the other project
        (lab.root / "marker.txt").unlink(missing_ok=True)
        env = {**os.environ, "PATH": python_dir + os.pathsep + os.environ["PATH"]}
        subprocess.run(["bash", "-ec", step], cwd=lab.root, env=env, check=True)
        assert (lab.root / "marker.txt").read_text().strip() == "installed-by-the-lab-line"


def test_default_line_is_never_the_other_project(tmp_path: Path) -> None:
    lab = init_lab(tmp_path / "lab")
    line = Lab(lab.root).config.site_install
    assert line == default_install_line() and line.strip() != WRONG
    assert install_line("") == default_install_line()
    assert install_line(WRONG) != WRONG
    # with no public source known, the line says what to set and fails, installing nothing
    if line == UNKNOWN:
        done = subprocess.run(["bash", "-c", line], capture_output=True, text=True)
        assert done.returncode != 0 and "[site] install" in done.stderr


def test_site_snippet_shows_the_lab_line() -> None:
    line = 'pip install "eotdl @ git+https://example.org/eotdl.git@abc"'
    cli = download_snippets("datasets", "x", "x", "http://h/", True, line)[0]
    assert cli.code.splitlines()[0] == line
    cli = download_snippets("datasets", "x", "x", "http://h/", True)[0]
    assert cli.code.splitlines()[0] != WRONG


def test_every_line_that_installs_the_index_eotdl_is_refused():
    from eotdl.catalog.install import installs_other_project

    for line in (
        "pip install eotdl",
        "pip install -U eotdl",
        "pip install 'eotdl[torch]>=1.0'",
        "python -m pip install --upgrade EOTDL==2",
        "uv pip install eotdl",
        "cd /tmp && pip3 install eotdl",
    ):
        assert installs_other_project(line), line
        assert install_line(line) == default_install_line(), line
    for line in (
        "pip install 'eotdl @ git+https://github.com/example/eotdl@v1'",
        "pip install git+https://github.com/example/eotdl",
        "pip install https://example.org/eotdl-1.0-py3-none-any.whl",
        "pip install ./eotdl",
        "pip install eotdl-tools",
    ):
        assert not installs_other_project(line), line
        assert install_line(line) == line
