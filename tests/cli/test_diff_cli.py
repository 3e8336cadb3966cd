import json

import pytest
from click.testing import CliRunner

from eotdl.cli.main import cli
from labs import commit, git, make_lab, stub_items, write_stub


def test_diff_between_tagged_versions_and_worktree(tmp_path, monkeypatch):
    lab = make_lab(tmp_path, git=True)
    write_stub(lab, "ds", stub_items(3))
    commit(lab, "v1")
    git(lab.root, "tag", "-a", "ds@1.0.0", "-m", "ds 1.0.0")
    write_stub(lab, "ds", stub_items(4), version="1.1.0")
    monkeypatch.chdir(lab.root)
    runner = CliRunner()
    result = runner.invoke(cli, ["diff", "ds", "1.0.0", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["items"]["added"] == ["i003"] and data["new_version"] == "1.1.0"
    result = runner.invoke(cli, ["diff", "ds", "1.0.0", "--format", "markdown"])
    assert "| items added | 1 |" in result.output
    result = runner.invoke(cli, ["diff", "ds", "1.0.0"])
    assert "+ i003" in result.output


def test_diff_unknown_ref_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from eotdl.cli.main import main

    lab = make_lab(tmp_path, git=True)
    write_stub(lab, "ds", stub_items(1))
    commit(lab, "v1")
    monkeypatch.chdir(lab.root)
    with pytest.raises(SystemExit) as exc:
        main(["diff", "ds", "nope"])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err
