"""A real ``eotdl serve`` process on 127.0.0.1, as a reader's server would be: started on a
free port, its address read from the line it prints, its memory watchable, stopped by SIGINT."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass
class Served:
    host: str
    port: int
    process: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=20)


def start_serve(site: Path) -> Served:
    """`eotdl serve --port 0` in a subprocess; its address from the line it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "eotdl.cli.main", "serve", "--site", str(site), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    match = re.search(r"http://(127\.0\.0\.1):(\d+)", line)
    assert match, line
    return Served(match.group(1), int(match.group(2)), process)
