"""Make sure Debian's Chromium is there for the browser tests (never a downloaded browser).

Runs as part of `make install`. Without root or apt it says what to do and carries on:
browser tests then skip with that reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"


def main() -> int:
    if os.path.exists(CHROMIUM):
        return 0
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(f"note: {CHROMIUM} is missing; browser tests will skip (apt-get install -y chromium)")
        return 0
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, check=False)
        if result.returncode != 0:
            print(f"note: {' '.join(command)} failed; browser tests will skip", file=sys.stderr)
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
