"""Hostile input, remote-to-local: a catalog on the network never makes eotdl read local files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eotdlrun import run_eotdl

from eotdl.catalog.paths import PathRefused, check_link
from eotdl.catalog.validate import Validator, validate_target
from eotdl.read.download import get

SECRET = "the-secret-of-this-machine"


def _item(item_id: str, href: str) -> dict:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "geometry": None,
        "properties": {"datetime": "2020-01-01T00:00:00Z"},
        "links": [],
        "assets": {"data": {"href": href}},
    }


def _collection(links: list[dict]) -> dict:
    return {
        "type": "Collection",
        "id": "hostile",
        "description": "d",
        "stac_version": "1.0.0",
        "license": "other",
        "links": links,
        "extent": {"spatial": {"bbox": [[0, 0, 1, 1]]}, "temporal": {"interval": [[None, None]]}},
    }


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


@pytest.mark.parametrize("kind", ["file-url", "file-localhost"])
def test_get_refuses_file_assets_of_a_remote_collection(http_dir, tmp_path, secret, kind):
    href = secret.as_uri() if kind == "file-url" else f"file://localhost{secret}"
    root = http_dir.root / "c"
    root.mkdir()
    (root / "i.json").write_text(json.dumps(_item("i", href)))
    (root / "collection.json").write_text(
        json.dumps(_collection([{"rel": "item", "href": "./i.json"}]))
    )
    out = tmp_path / "out"
    with pytest.raises(PathRefused, match="local path in a remote catalog"):
        get(f"{http_dir.url}/c/collection.json", out, progress=False)
    copied = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert not any(SECRET in p.read_text(errors="replace") for p in copied)


def test_get_cli_gives_one_clear_message(http_dir, tmp_path, secret, capsys):
    root = http_dir.root / "c"
    root.mkdir()
    (root / "i.json").write_text(json.dumps(_item("i", secret.as_uri())))
    (root / "collection.json").write_text(
        json.dumps(_collection([{"rel": "item", "href": "./i.json"}]))
    )
    ran = run_eotdl(capsys, "get", f"{http_dir.url}/c/collection.json", "-o", str(tmp_path / "o"))
    assert ran.code == 1
    assert "local path in a remote catalog" in ran.err
    assert "Traceback" not in ran.text


def test_get_keeps_relative_and_absolute_paths_of_a_remote_catalog_remote(http_dir, tmp_path):
    """`..` and `/etc/passwd` in a remote document stay on that server (404 there)."""
    root = http_dir.root / "c"
    root.mkdir()
    (root / "a.json").write_text(json.dumps(_item("a", "../../../../etc/passwd")))
    (root / "b.json").write_text(json.dumps(_item("b", "/etc/passwd")))
    (root / "collection.json").write_text(
        json.dumps(
            _collection([{"rel": "item", "href": "./a.json"}, {"rel": "item", "href": "./b.json"}])
        )
    )
    out = tmp_path / "out"
    with pytest.raises(Exception):  # noqa: B017 - both fail remotely, neither is read locally
        get(f"{http_dir.url}/c/collection.json", out, progress=False)
    for path in out.rglob("*"):
        if path.is_file():
            assert "root:" not in path.read_text(errors="replace")


def test_validate_url_refuses_file_links(http_dir, secret):
    root = http_dir.root / "c"
    root.mkdir()
    # the local file is a valid-looking STAC Item, so a read would pass validation silently
    secret.write_text(json.dumps(_item("local", "x.tif")))
    (root / "collection.json").write_text(
        json.dumps(_collection([{"rel": "item", "href": secret.as_uri()}]))
    )
    report = validate_target(f"{http_dir.url}/c/collection.json", Validator())
    assert not report.ok
    assert any("local path in a remote catalog" in p.message for p in report.problems)
    about_secret = [p for p in report.problems if str(secret) in p.source + p.message]
    assert len(about_secret) == 1  # the refusal: the local file was never read nor validated


def test_check_link_rule():
    for base in ("http://h/c.json", "https://h/c.json", "s3://b/c.json"):
        for target in ("/etc/passwd", "file:///etc/passwd", "C:/x", "rel/x.json"):
            with pytest.raises(PathRefused):
                check_link(base, target)
        assert check_link(base, "http://other/x") == "http://other/x"
        assert check_link(base, "s3://b/x") == "s3://b/x"
    assert check_link("/lab/c.json", "/lab/x.json") == "/lab/x.json"
