"""Running the real `eotdl` entry point in-process, as a user would: exit code and output."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from eotdl.cli.main import main


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run_eotdl(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    """``eotdl ARGS``: its exit code, stdout and stderr (no traceback may escape)."""
    capsys.readouterr()
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)
