import tomllib

import pytest
import yaml

from eotdl.catalog.lab import Lab, check_name, init_lab
from eotdl.errors import InputError, LabError


def test_init_writes_a_lab(tmp_path):
    lab = init_lab(tmp_path / "lab", title="My lab", base_url="https://x.org/lab/")
    root = tmp_path / "lab"
    for name in ("eotdl.toml", "README.md", ".gitignore", "datasets", "models"):
        assert (root / name).exists(), name
    config = tomllib.loads((root / "eotdl.toml").read_text())
    assert config["lab"] == {"title": "My lab", "base_url": "https://x.org/lab/"}
    assert config["store"]["url"] == "store" and config["site"]["output"] == "_site"
    assert lab.store_url == (root / "store").resolve().as_uri()
    assert lab.site_dir == (root / "_site").resolve()
    assert "/store/" in (root / ".gitignore").read_text()


def test_workflows_call_the_final_commands(tmp_path):
    init_lab(tmp_path)
    check = yaml.safe_load((tmp_path / ".github/workflows/check.yml").read_text())
    publish = yaml.safe_load((tmp_path / ".github/workflows/publish.yml").read_text())
    check_runs = " ".join(s.get("run", "") for s in check["jobs"]["check"]["steps"])
    publish_steps = publish["jobs"]["publish"]["steps"]
    assert "eotdl check --base" in check_runs
    assert any("eotdl publish" in s.get("run", "") for s in publish_steps)
    # write credentials only in the publish job
    assert "secrets." not in (tmp_path / ".github/workflows/check.yml").read_text()
    assert "secrets." in (tmp_path / ".github/workflows/publish.yml").read_text()
    assert check[True]["pull_request"] is None  # YAML's `on:` key parses as True
    assert publish[True]["push"]["branches"] == ["main"]


def test_init_refuses_an_existing_lab(tmp_path):
    init_lab(tmp_path)
    with pytest.raises(LabError, match="already a lab"):
        init_lab(tmp_path)


def test_find_walks_up(tmp_path):
    init_lab(tmp_path)
    deep = tmp_path / "datasets" / "a" / "b"
    deep.mkdir(parents=True)
    assert Lab.find(deep).root == tmp_path.resolve()


def test_find_outside_a_lab_says_what_to_do(tmp_path):
    with pytest.raises(LabError, match="no lab here") as info:
        Lab.find(tmp_path)
    assert "eotdl init" in str(info.value)


def test_bad_config(tmp_path):
    (tmp_path / "eotdl.toml").write_text("[lab\n")
    with pytest.raises(LabError, match="not valid TOML"):
        Lab(tmp_path)
    (tmp_path / "eotdl.toml").write_text('[store]\nbucket = "x"\n')
    with pytest.raises(LabError, match="unknown \\[store\\] setting"):
        Lab(tmp_path)


def test_s3_store_url_kept(tmp_path):
    lab = init_lab(tmp_path, store_url="s3://bucket/prefix")
    assert Lab(tmp_path).store_url == "s3://bucket/prefix" == lab.store_url


@pytest.mark.parametrize("name", ["../etc", "a/b", "", "UPPER", ".hidden", "x" * 101])
def test_bad_names(name):
    with pytest.raises(InputError):
        check_name(name)


def test_datasets_listed_in_order(tmp_path):
    lab = init_lab(tmp_path)
    for name in ("b", "a"):
        lab.dataset(name).write_collection({"id": name})
    (tmp_path / "datasets" / "not-a-dataset").mkdir()
    assert lab.dataset_names() == ["a", "b"]


@pytest.mark.parametrize(
    "name, why",
    [
        ("a..b", "'..'"),
        ("x.lock", "'.lock'"),
        ("trailing.", "ends with '.'"),
        ("a@{b", "not allowed"),
        ("a\x01b", "not allowed"),
        ("a/b", "not allowed"),
    ],
)
def test_names_follow_git_ref_rules(name, why):
    with pytest.raises(InputError, match=why):
        check_name(name)


def test_names_are_valid_git_tags(tmp_path):
    """Every name check_name accepts makes a tag git accepts (what `publish --tag` writes)."""
    import subprocess

    for name in ("a", "a.b", "a-b_c", "s2.l2a-2023", "x.locks", "0"):
        check_name(name)
        ok = subprocess.run(["git", "check-ref-format", f"refs/tags/{name}@1.0.0"]).returncode
        assert ok == 0, name


def test_ingest_refuses_a_name_git_cannot_tag(tmp_path):
    from eotdl.builders.ingestion import ingest

    lab = init_lab(tmp_path / "lab")
    with pytest.raises(InputError, match="git could not tag"):
        ingest(lab, "rasters", str(tmp_path), "a..b", progress=False)
    assert not (lab.datasets_dir / "a..b").exists()
