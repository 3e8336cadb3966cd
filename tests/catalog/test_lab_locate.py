"""One way to find the lab: ``Lab.locate`` (writers) and ``locate_lab_or_site`` (readers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eotdl.catalog.lab import LAB_ENV, Lab, init_lab, locate_lab_or_site
from eotdl.errors import InputError, LabError


def _root(found: Lab | str) -> Path:
    assert isinstance(found, Lab), found
    return found.root


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    monkeypatch.delenv(LAB_ENV, raising=False)
    made = init_lab(tmp_path / "lab")
    (made.root / "datasets" / "a").mkdir(parents=True)
    return made


def test_explicit_folder_searches_upwards(lab: Lab, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Lab.locate("lab/datasets").root == lab.root  # `--lab lab/datasets`
    assert Lab.locate(lab.root / "datasets" / "a").root == lab.root
    assert Lab.locate(lab.root.as_uri()).root == lab.root  # file:// is a folder too
    assert _root(locate_lab_or_site("lab/datasets")) == lab.root  # readers: the same rule


def test_a_lab_is_returned_as_it_is(lab: Lab):
    assert Lab.locate(lab) is lab
    assert locate_lab_or_site(lab) is lab


def test_environment_then_current_folder(lab: Lab, tmp_path: Path, monkeypatch):
    other = init_lab(tmp_path / "other")
    monkeypatch.chdir(lab.root / "datasets")
    assert Lab.locate().root == lab.root  # the lab around the current folder
    monkeypatch.setenv(LAB_ENV, str(other.root / "datasets"))
    assert Lab.locate().root == other.root  # $EOTDL_LAB wins over the current folder
    assert Lab.locate(lab.root).root == lab.root  # an explicit --lab wins over both
    found = locate_lab_or_site()
    assert isinstance(found, Lab) and found.root == other.root


def test_no_lab_says_what_to_do(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(LAB_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(LabError, match="no lab here") as info:
        Lab.locate()
    assert "--lab" in str(info.value)
    with pytest.raises(LabError, match="no lab here"):
        Lab.locate(tmp_path)
    with pytest.raises(InputError, match="no lab given and none here") as given:
        locate_lab_or_site()
    assert LAB_ENV in str(given.value)


def test_a_url_is_a_site_for_readers_only(lab: Lab, monkeypatch):
    for url in ("https://example.org/lab/", "s3://bucket/site"):
        assert locate_lab_or_site(url) == url
        with pytest.raises(LabError, match="not a lab folder") as info:
            Lab.locate(url)
        assert "--lab DIR" in str(info.value)
    monkeypatch.setenv(LAB_ENV, "https://example.org/lab/")
    with pytest.raises(LabError, match=f"unset {LAB_ENV}"):
        Lab.locate()


def test_readers_take_a_built_site(lab: Lab, tmp_path: Path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "catalog.json").write_text("{}")
    assert locate_lab_or_site(site) == str(site)  # a site folder is not searched upwards
    assert locate_lab_or_site(str(site / "catalog.json")) == str(site / "catalog.json")
    assert locate_lab_or_site(tmp_path / "nothing") == str(tmp_path / "nothing")
    # with no --lab, prefer_site reads the lab's built site once there is one
    monkeypatch.chdir(lab.root)
    assert _root(locate_lab_or_site(prefer_site=True)) == lab.root
    lab.site_dir.mkdir()
    (lab.site_dir / "catalog.json").write_text("{}")
    assert locate_lab_or_site(prefer_site=True) == str(lab.site_dir)
    assert _root(locate_lab_or_site()) == lab.root
