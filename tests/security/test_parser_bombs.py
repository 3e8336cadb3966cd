"""Hostile input, parser bombs: alias bombs, deep nesting, huge JSON and ndjson fail fast."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eotdlrun import run_eotdl

from eotdl.catalog import jsonfile, ndjson, yamlfile
from eotdl.catalog.card import parse_card
from eotdl.catalog.lab import Lab
from eotdl.catalog.yamlfile import YamlLimitError, load_yaml
from eotdl.errors import InputError
from eotdl.qa.pull_request import check_pull_request, render_markdown
from labs import commit, git, make_lab, stub_items, write_stub

#: A 1 KB card whose front matter expands to 9**9 strings ("billion laughs").
BOMB = (
    "---\ntitle: t\n"
    + "".join(
        f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}" if i else '"lol"'] * 9) + "]\n" for i in range(9)
    )
    + "description: *l8\n---\nbody\n"
)


def test_the_bomb_is_small():
    assert len(BOMB) < 1024


@pytest.mark.timeout(30)
def test_alias_bomb_card_fails_fast():
    with pytest.raises(YamlLimitError, match="billion laughs"):
        parse_card(BOMB)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "text, match",
    [
        ("a: " + "[" * 5000 + "]" * 5000, "nested deeper"),
        ("a: " + "{b: " * 200 + "1" + "}" * 200, "nested deeper"),
        (
            "\n".join(f"a{i}: &a{i} x" for i in range(200))
            + "\nb: ["
            + ", ".join(f"*a{i}" for i in range(200))
            + "]",
            "aliases",
        ),
    ],
)
def test_deep_or_alias_heavy_yaml_is_refused(text, match):
    with pytest.raises(YamlLimitError, match=match):
        load_yaml(text, "x.yaml")


def test_large_yaml_is_refused(monkeypatch):
    monkeypatch.setattr(yamlfile, "MAX_YAML_BYTES", 1000)
    with pytest.raises(YamlLimitError, match="larger than"):
        load_yaml("a: " + "x" * 2000, "x.yaml")


def test_plain_anchors_still_work():
    assert load_yaml("a: &x [1, 2]\nb: *x", "x.yaml") == {"a": [1, 2], "b": [1, 2]}


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    lab = make_lab(tmp_path, git=True)
    write_stub(lab, "ds", stub_items(2))
    (lab.dataset("ds").card_path).write_text("---\ntitle: t\ndescription: d\nlicense: MIT\n---\n")
    commit(lab, "v1")
    return lab


@pytest.mark.timeout(60)
def test_validate_check_and_build_survive_a_bomb_card(lab, tmp_path, capsys):
    from eotdl.site.build import build_site

    git(lab.root, "checkout", "-q", "-b", "pr")
    lab.dataset("ds").card_path.write_text(BOMB)
    commit(lab, "bomb")
    ran = run_eotdl(capsys, "validate", str(lab.root))
    assert ran.code == 1 and "billion laughs" in ran.text and "Traceback" not in ran.text
    report = check_pull_request(lab, "main")
    assert not report.ok
    assert "billion laughs" in render_markdown(report)
    build_site(lab, tmp_path / "site", qa=False)  # the card is left out, the build finishes


def test_huge_json_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonfile, "MAX_JSON_BYTES", 10_000)
    path = tmp_path / "collection.json"
    path.write_text(json.dumps({"type": "Collection", "x": "y" * 20_000}))
    with pytest.raises(InputError, match="larger than the 10 KiB limit"):
        jsonfile.read_json_object(path)


def test_deeply_nested_json_is_a_clear_error(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InputError, match="malformed JSON"):
        jsonfile.read_json_object(path)
    nd = tmp_path / "items.ndjson"
    nd.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(InputError, match="items.ndjson:1: malformed JSON"):
        list(ndjson.iter_items(nd))


def test_ndjson_line_and_file_limits(tmp_path, monkeypatch):
    path = tmp_path / "items.ndjson"
    line = json.dumps({"type": "Feature", "id": "a", "pad": "x" * 500})
    path.write_text((line + "\n") * 10)
    monkeypatch.setattr(ndjson, "MAX_LINE_BYTES", 100)
    with pytest.raises(InputError, match=r"items.ndjson:1: line is longer"):
        list(ndjson.iter_items(path))
    monkeypatch.setattr(ndjson, "MAX_LINE_BYTES", 10_000)
    monkeypatch.setattr(ndjson, "MAX_FILE_BYTES", 2_000)
    with pytest.raises(InputError, match="larger than the .* limit for one ndjson file"):
        list(ndjson.iter_items(path))


@pytest.mark.timeout(30)
def test_a_bomb_in_yanked_yaml_fails_fast(lab):
    from eotdl.catalog.published import yanked

    body = BOMB.split("---\n")[1].replace("title: t\n", "")
    (lab.datasets_dir / "ds" / "yanked.yaml").write_text(body)
    with pytest.raises(YamlLimitError, match="billion laughs"):
        yanked(lab, "ds")


def test_a_huge_collection_in_git_history_is_refused_before_it_is_read(lab, monkeypatch):
    from eotdl.catalog.git import show

    path = lab.dataset("ds").collection_path
    path.write_text(json.dumps({"type": "Collection", "pad": "x" * 50_000}))
    commit(lab, "huge")
    monkeypatch.setattr(jsonfile, "MAX_JSON_BYTES", 10_000)
    with pytest.raises(InputError, match="larger than the"):
        show(lab.root, "HEAD", "datasets/ds/collection.json")
    with pytest.raises(InputError, match="larger than the"):
        show(lab.root, "WORKTREE", "datasets/ds/collection.json")
    assert show(lab.root, "HEAD", "datasets/ds/nothing.json") is None
