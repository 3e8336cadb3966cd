"""The commands: `eotdl train` on its own `local` cluster, `models`, `predict`, and `cuda`."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from eotdl.catalog.lab import Lab
from eotdl.cli.main import cli, main
from eotdl.errors import InputError
from eotdl.train import cluster as clusters


@dataclass
class Ran:
    returncode: int
    stderr: str


@pytest.fixture
def eotdl(capsys, monkeypatch):
    """Run the CLI's entry point in this process (as `eotdl ARGS` in a folder)."""

    def run(*args: str, cwd: Path) -> Ran:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        return Ran(code, capsys.readouterr().err)

    return run


def test_train_models_and_predict_commands(chips_lab: Lab, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(chips_lab.root)
    runner = CliRunner()
    args = [
        "train",
        "chips",
        "--task",
        "classification",
        "--model",
        "resnet-small",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--workers",
        "2",
        "--name",
        "cli-resnet",
        "--json",
    ]
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    item = json.loads(result.output)
    assert item["id"] == "cli-resnet" and item["properties"]["mlm:architecture"] == "ResNet"
    spec = json.loads((chips_lab.model("cli-resnet").path / "job.json").read_text())
    assert spec["cluster"] == "local" and spec["workers"] == 2

    listed = json.loads(runner.invoke(cli, ["models", "list", "--json"]).output)
    assert "cli-resnet" in {m["name"] for m in listed}
    out = tmp_path / "got"
    result = runner.invoke(cli, ["models", "get", "cli-resnet", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    chip = next((chips_lab.root / "store").rglob("*.tif"))
    result = runner.invoke(
        cli, ["predict", str(out), str(chip), "-o", str(tmp_path / "p.tif"), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["classes"] == ["forest", "water"]


def test_cuda_without_dask_cuda_says_which_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "dask_cuda", None)  # import fails as if not installed
    with pytest.raises(InputError) as caught:
        clusters.check_cuda(None)
    assert "needs the gpu extra" in str(caught.value)
    assert "pip install -e '.[gpu]'" in str(caught.value)


def test_cuda_without_a_gpu_says_so(monkeypatch) -> None:
    import torch

    monkeypatch.setitem(sys.modules, "dask_cuda", types.ModuleType("dask_cuda"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError) as caught:
        clusters.check_cuda(None)
    assert "no CUDA GPU visible (torch.cuda.is_available() is False)" in str(caught.value)


def test_cluster_cuda_on_the_command_line_is_one_clear_message(chips_lab: Lab, eotdl) -> None:
    result = eotdl("train", "chips", "--cluster", "cuda", cwd=chips_lab.root)
    assert result.returncode == 1
    assert result.stderr.startswith("error: --cluster cuda")
    assert "Traceback" not in result.stderr
    try:
        import dask_cuda  # noqa: F401
    except ImportError:
        assert "pip install -e '.[gpu]'" in result.stderr
    else:  # pragma: no cover - a machine with dask-cuda but (in CI) no GPU
        assert "no CUDA GPU visible" in result.stderr


def test_unknown_cluster_and_model_are_user_errors(chips_lab: Lab, eotdl) -> None:
    result = eotdl("train", "chips", "--cluster", "yarn", cwd=chips_lab.root)
    assert result.returncode == 1 and "unknown cluster 'yarn'" in result.stderr
    result = eotdl("train", "chips", "--model", "unet-small", cwd=chips_lab.root)
    assert result.returncode == 1 and "is for segmentation, not classification" in result.stderr
