"""The one set of rules from an asset href to a key of the lab's store."""

from __future__ import annotations

from pathlib import Path

import pytest

from eotdl.catalog.hrefkeys import (
    CLIMBS_OUT,
    NO_STORE_FOLDER,
    NOT_IN_STORE,
    OUTSIDE_STORE,
    StoreKeys,
    key_under,
    site_object_key,
    store_key,
)
from eotdl.catalog.lab import Lab, LabConfig, StoreConfig

KEY = "objects/sha256/ab/" + "c" * 62 + ".tif"


def make_lab(root: Path, **store: str) -> Lab:
    root.mkdir(parents=True, exist_ok=True)
    lab = Lab(root, LabConfig(store=StoreConfig(**store)))
    (lab.root / "datasets" / "ds").mkdir(parents=True)
    return lab


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return make_lab(tmp_path / "lab")  # the embedded store: <lab>/store


def ds(lab: Lab) -> Path:
    return lab.root / "datasets" / "ds"


def test_relative_href_into_the_embedded_store(lab: Lab) -> None:
    assert store_key(lab, ds(lab), f"../../store/{KEY}") == KEY
    assert store_key(lab, ds(lab), "../../store/a%20b/c.tif#part") == "a b/c.tif"
    # lexical: '..' is applied as written, and may pass through any folder of the lab
    assert store_key(lab, ds(lab), f"../x/../../store/{KEY}") == KEY


@pytest.mark.parametrize(
    ("href", "why"),
    [
        ("", "empty href"),
        ("../../../lab/store/" + KEY, ""),  # out and back in: it lands in the store
        ("../../../elsewhere/" + KEY, CLIMBS_OUT),
        ("../../../../../../../../etc/passwd", CLIMBS_OUT),
        ("../../store/../../lab/store/x.tif", ""),
        ("chip.tif", OUTSIDE_STORE),
        ("../../store", OUTSIDE_STORE),  # the store folder itself is no object
        ("../../store/a/..", OUTSIDE_STORE),
    ],
)
def test_relative_rules_and_why_not(lab: Lab, href: str, why: str) -> None:
    target = StoreKeys(lab).locate(href, ds(lab))
    assert target.why_not == why
    assert (target.key is None) == bool(why)


def test_a_store_outside_the_lab_takes_no_relative_href(tmp_path: Path) -> None:
    store = tmp_path / "store"
    lab = make_lab(tmp_path / "lab", url=store.as_uri())
    target = StoreKeys(lab).locate(f"../../../store/{KEY}", ds(lab))
    assert (target.key, target.why_not) == (None, CLIMBS_OUT)
    assert StoreKeys(lab).locate("chip.tif", ds(lab)).why_not == NO_STORE_FOLDER
    s3 = make_lab(tmp_path / "s3lab", url="s3://bucket/lab", endpoint_url="http://127.0.0.1:9")
    assert StoreKeys(s3).locate("chip.tif", ds(s3)).why_not == NO_STORE_FOLDER


def test_file_urls_and_paths_inside_and_outside_the_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    for lab in (make_lab(tmp_path / "lab"), make_lab(tmp_path / "lab2", url=store.as_uri())):
        folder = Path(lab.store_url.removeprefix("file://"))
        keys = StoreKeys(lab)
        assert keys.key((folder / "a b.tif").as_uri(), ds(lab)) == "a b.tif"
        assert keys.key(str(folder / KEY), ds(lab)) == KEY
        assert keys.key((tmp_path / "x.tif").as_uri(), ds(lab)) is None
        assert keys.key(str(folder / ".." / "x.tif"), ds(lab)) is None
        assert keys.locate(str(folder), ds(lab)).why_not == NOT_IN_STORE
        assert keys.key("file://otherhost" + str(folder / "a.tif"), ds(lab)) is None


def test_s3_bucket_and_prefix(tmp_path: Path) -> None:
    lab = make_lab(tmp_path / "lab", url="s3://bucket/lab", endpoint_url="http://127.0.0.1:9")
    keys = StoreKeys(lab)
    assert keys.key(f"s3://bucket/lab/{KEY}", ds(lab)) == KEY
    assert keys.key(f"http://127.0.0.1:9/bucket/lab/{KEY}", ds(lab)) == KEY
    assert keys.key("http://127.0.0.1:9/bucket/lab/a%20b.tif", ds(lab)) == "a b.tif"
    for other in (
        f"s3://bucket/other/{KEY}",  # another prefix
        f"s3://other/lab/{KEY}",  # another bucket
        f"s3://bucket/lab-2/{KEY}",  # a prefix that only starts the same
        f"http://127.0.0.1:10/bucket/lab/{KEY}",  # another endpoint
        "s3://bucket/lab/../x.tif",  # a key climbing out of the prefix
        "s3://bucket/lab/",
        f"gs://bucket/lab/{KEY}",
    ):
        assert keys.locate(other, ds(lab)).why_not == NOT_IN_STORE, other


@pytest.mark.parametrize("url", ["", "s3://bucket/lab"])
def test_public_url_prefix(tmp_path: Path, url: str) -> None:
    store = {"url": url, "endpoint_url": "http://127.0.0.1:9"} if url else {}
    lab = make_lab(tmp_path / "lab", public_url="https://data.example.org/lab/", **store)
    keys = StoreKeys(lab)
    assert keys.key(f"https://data.example.org/lab/{KEY}", ds(lab)) == KEY
    assert keys.key("https://data.example.org/lab/a%20b.tif", ds(lab)) == "a b.tif"
    assert keys.key("https://data.example.org/lab/../secret", ds(lab)) is None
    assert keys.key("https://data.example.org/lab2/x.tif", ds(lab)) is None
    assert keys.key("https://elsewhere.example/lab/x.tif", ds(lab)) is None


def test_objects_link_of_a_built_site(lab: Lab) -> None:
    """A relative href under the site's ``objects`` link names the store's object; a folder
    merely called ``objects``, or a link elsewhere, names nothing."""
    from eotdl.catalog.store import link_objects

    site = lab.root / "_site"
    (site / "datasets" / "ds" / "items").mkdir(parents=True)
    assert link_objects(lab, site, site)
    items = site / "datasets" / "ds" / "items"
    assert store_key(lab, items, f"../../../{KEY}") == KEY
    assert store_key(lab, items, "../../../objects") is None
    other = lab.root / "copy"
    (other / "objects").mkdir(parents=True)
    assert store_key(lab, other, KEY) is None
    (other / "link").mkdir()
    (other / "link" / "objects").symlink_to(other / "objects")
    assert store_key(lab, other / "link", KEY) is None


def test_key_under_a_mirror_folder(tmp_path: Path) -> None:
    assert key_under(tmp_path / "a" / "b.json", tmp_path) == "a/b.json"
    assert key_under(tmp_path / "a" / ".." / ".." / "x", tmp_path) is None
    assert key_under(tmp_path, tmp_path) is None
    assert key_under(tmp_path.parent / "x", tmp_path) is None


@pytest.mark.parametrize(
    ("href", "key"),
    [
        (f"../../../{KEY}", KEY),
        (f"https://data.example.org/lab/{KEY}#frag", KEY),
        (f"./{KEY}", KEY),
        (f"../x{KEY}", None),  # not a path segment of its own
        ("../../objects/named.tif", None),  # only content-addressed objects
        ("https://example.org/x.tif", None),
        ("../objects/sha256/../../x", None),
    ],
)
def test_site_object_key(href: str, key: str | None) -> None:
    assert site_object_key(href) == key


def test_no_other_module_turns_hrefs_into_keys() -> None:
    """Only this module asks a store for the key of an href: a second set of rules would
    drift (it did: three resolvers with different answers for '..' and symlinks)."""
    src = Path(__file__).resolve().parents[2] / "src" / "eotdl"
    callers = sorted(
        path.relative_to(src).as_posix()
        for path in src.rglob("*.py")
        if ".key_for_href(" in path.read_text(encoding="utf-8")
        and path.parent.name != "storage"
        and path.name != "hrefkeys.py"
    )
    assert callers == []
