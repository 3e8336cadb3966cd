"""`make demo` ends with commands that work as printed in a fresh shell (no venv activated)."""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _demo():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("demo_script", REPO / "scripts/demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_closing_commands_run_in_a_fresh_shell() -> None:
    demo = _demo()
    commands = demo.closing_commands(REPO)
    assert [c.split()[1] for c in commands] == ["preview", "serve"]
    fresh = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    if "PYTHONPATH" in os.environ:  # this checkout's code, as the venv would have it
        fresh["PYTHONPATH"] = os.environ["PYTHONPATH"]
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] != "eotdl", "a fresh shell has no eotdl on PATH"
        done = subprocess.run(
            [*argv, "--help"], cwd=REPO, env=fresh, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "Usage:" in done.stdout
    assert Path(sys.executable).with_name("eotdl").is_file()
