import hashlib

import pytest

from eotdl.errors import InputError
from eotdl.storage import keys


@pytest.mark.parametrize(
    ("name", "ext"),
    [
        ("a.TIF", ".tif"),
        ("x/y/chip.tif", ".tif"),
        ("a.tar.gz", ".tar.gz"),
        ("table.CSV.GZ", ".csv.gz"),
        ("a.b.c.tif", ".tif"),
        ("S2.SAFE.zip", ".zip"),
        ("noext", ""),
        (".gitignore", ""),
        ("dir.d/file", ""),
        ("weird.t?f", ""),
        ("a.averyveryverylongsuffix", ""),
    ],
)
def test_extension(name: str, ext: str) -> None:
    assert keys.extension(name) == ext


def test_content_key_round_trip() -> None:
    sha = hashlib.sha256(b"hello").hexdigest()
    key = keys.content_key(sha, "image.TIF")
    assert key == f"objects/sha256/{sha[:2]}/{sha[2:]}.tif"
    assert keys.sha256_of_key(key) == sha
    assert keys.is_content_key(key)
    assert keys.sha256_of_key("site/index.html") is None
    assert keys.sha256_of_key(keys.content_key(sha, "a.tar.gz")) == sha


def test_content_key_rejects_bad_digest() -> None:
    with pytest.raises(InputError):
        keys.content_key("xyz")


@pytest.mark.parametrize("bad", ["", "/abs", "a//b", "a/../b", "./a", "a\\b", "a/"])
def test_check_key_refuses_unsafe_keys(bad: str) -> None:
    with pytest.raises(InputError):
        keys.check_key(bad)


def test_check_key_accepts_nested() -> None:
    assert keys.check_key("site/datasets/a b/index.html") == "site/datasets/a b/index.html"
