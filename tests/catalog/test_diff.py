import pytest

from eotdl.catalog.diff import changed_fields, diff_dataset
from eotdl.catalog.git import WORKTREE
from eotdl.catalog.versions import bump_between, parse_version, required_bump, version_verdict
from eotdl.errors import InputError
from labs import Dataset, commit, git, make_lab, stub_items, write_stub


@pytest.fixture
def repo(tmp_path):
    lab = make_lab(tmp_path, [Dataset("ds", "stub", count=5)], git=True)
    git(lab.root, "checkout", "-q", "-b", "pr")
    return lab


def _diff(lab, fast=True):
    return diff_dataset(lab.root, "datasets/ds", "ds", "main", WORKTREE, fast=fast)


def test_no_change(repo):
    d = _diff(repo)
    assert not d.content_changed and version_verdict(d).ok


def test_changed_item_names_fields_and_needs_a_bump(repo):
    new = stub_items(5)
    new[2]["properties"]["cloud"] = 3
    new[3]["assets"] = {"image": {"href": "x.tif", "file:checksum": "1220ab"}}
    write_stub(repo, "ds", new)
    for fast in (True, False):
        d = _diff(repo, fast)
        assert d.added == [] and d.removed == []
        assert [(c.id, c.fields) for c in d.changed] == [
            ("i002", ["properties.cloud"]),
            ("i003", ["assets.image"]),
        ]
        assert d.assets_changed == [{"item": "i003", "asset": "image", "change": "added"}]
    verdict = version_verdict(_diff(repo))
    assert not verdict.ok and verdict.required == "minor"
    assert "a minor bump is needed" in verdict.message
    write_stub(repo, "ds", new, version="1.1.0")
    assert version_verdict(_diff(repo)).ok


def test_removed_items_need_a_major_bump(repo):
    write_stub(repo, "ds", stub_items(3), version="1.1.0")
    d = _diff(repo)
    assert d.removed == ["i003", "i004"]
    verdict = version_verdict(d)
    assert not verdict.ok and verdict.required == "major" and verdict.actual == "minor"
    assert "2 item(s) removed" in verdict.message
    write_stub(repo, "ds", stub_items(3), version="2.0.0")
    assert version_verdict(_diff(repo)).ok


def test_classes_change_needs_major(repo):
    write_stub(
        repo, "ds", stub_items(5), summaries={"label:classes": [{"name": None, "classes": ["a"]}]}
    )
    commit(repo, "declare classes")
    write_stub(
        repo,
        "ds",
        stub_items(5),
        version="1.0.1",
        summaries={"label:classes": [{"name": None, "classes": ["a", "b"]}]},
    )
    d = diff_dataset(repo.root, "datasets/ds", "ds", "HEAD")
    assert d.classes_changed and required_bump(d)[0] == "major"


def test_metadata_only_is_a_patch(repo):
    write_stub(repo, "ds", stub_items(5), title="Better title")
    d = _diff(repo)
    assert d.metadata_changed == ["title"] and not d.items_changed
    assert version_verdict(d).required == "patch" and not version_verdict(d).ok
    write_stub(repo, "ds", stub_items(5), version="1.0.1", title="Better title")
    assert version_verdict(_diff(repo)).ok


def test_new_and_deleted_datasets(repo):
    write_stub(repo, "new", stub_items(2))
    d = diff_dataset(repo.root, "datasets/new", "new", "main")
    assert d.is_new and d.added == ["i000", "i001"] and version_verdict(d).ok
    git(repo.root, "rm", "-rq", "datasets/ds")
    d = _diff(repo)
    assert d.is_deleted and not version_verdict(d).ok


def test_diff_between_two_commits(repo):
    first = git(repo.root, "rev-parse", "HEAD").strip()
    write_stub(repo, "ds", stub_items(6), version="1.1.0")
    second = commit(repo, "add one")
    d = diff_dataset(repo.root, "datasets/ds", "ds", first, second)
    assert d.added == ["i005"] and (d.base_version, d.new_version) == ("1.0.0", "1.1.0")


def test_version_helpers():
    assert parse_version("v1.2.3") == (1, 2, 3)
    assert bump_between("1.2.3", "1.3.0") == "minor"
    assert bump_between("1.2.3", "1.2.2") == "down"
    with pytest.raises(InputError, match="not a semantic version"):
        parse_version("one")
    assert changed_fields({"a": {"b": 1}, "links": [1]}, {"a": {"b": 2}, "links": []}) == ["a.b"]


def test_diff_versions_by_tag_ref_and_worktree(repo):
    from eotdl.catalog.diff import diff_versions
    from eotdl.errors import LabError

    git(repo.root, "tag", "-a", "ds@1.0.0", "-m", "ds 1.0.0")
    write_stub(repo, "ds", stub_items(6), version="1.1.0")
    by_tag = diff_versions(repo, "ds", "1.0.0")
    assert by_tag.added == ["i005"] and by_tag.new_version == "1.1.0"
    assert diff_versions(repo, "ds", "main", ".").added == ["i005"]
    assert diff_versions(repo, "ds", "1.0.0", "main").added == []
    with pytest.raises(LabError, match="'nope' not found"):
        diff_versions(repo, "ds", "nope")
    with pytest.raises(InputError):
        diff_versions(repo, "../ds", "main")


def test_diff_versions_needs_git(tmp_path):
    from eotdl.catalog.diff import diff_versions
    from eotdl.catalog.lab import init_lab
    from eotdl.errors import LabError

    lab = init_lab(tmp_path / "lab")
    with pytest.raises(LabError, match="not a git repository"):
        diff_versions(lab, "ds", "main")
