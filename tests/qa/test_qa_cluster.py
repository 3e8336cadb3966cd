"""QA's heavy part (band statistics and EDA) on a real Dask cluster: a scheduler and two worker
processes on 127.0.0.1. The report equals the in-process run's, engine aside."""

from __future__ import annotations

import json

import pytest

from eotdl.catalog.compute import check_cluster, lab_cluster
from eotdl.errors import InputError
from eotdl.qa.run import run_qa
from labs import Dataset, make_lab


def without_engine(report) -> dict:
    data = report.to_dict()
    data["eda"].pop("engine")
    data.pop("generated_at", None)
    return data


@pytest.mark.slow
def test_qa_on_a_cluster_equals_qa_here(dask_cluster, tmp_path, no_bytes_here):
    """The workers scan the rasters, re-hash the store's objects and compute the statistics:
    this process opens no raster of the store and re-hashes nothing."""
    chips = Dataset("chips", "classification_folders", per_class=6, size=32)
    lab = make_lab(tmp_path, [chips])
    folder = lab.dataset("chips")
    items = list(folder.iter_items())
    for item in items[::2]:  # band data types from the files' headers, read there
        del item["assets"]["image"]["raster:bands"]
    folder.write_items(items)
    here = run_qa(lab, "chips", output=tmp_path / "here", scheduler="threads")
    no_bytes_here(lab)
    there = run_qa(lab, "chips", output=tmp_path / "there", cluster=dask_cluster)
    assert no_bytes_here.reads == []
    assert there.eda["engine"]["scheduler"] == "distributed"
    assert {"assets", "rasters"} <= set(there.checks_run)
    assert there.eda["bands"] and there.eda["bands"] == here.eda["bands"]
    assert json.dumps(without_engine(there), sort_keys=True) == json.dumps(
        without_engine(here), sort_keys=True
    )


def test_the_lab_setting_and_bad_values(tmp_path):
    (tmp_path / "eotdl.toml").write_text('[compute]\ncluster = "tcp://10.0.0.5:8786"\n')
    assert lab_cluster(tmp_path) == "tcp://10.0.0.5:8786"
    (tmp_path / "eotdl.toml").write_text('[compute]\ncluster = "somewhere"\n')
    with pytest.raises(InputError, match="unknown cluster"):
        lab_cluster(tmp_path)
    assert check_cluster("local") == "local"


def test_choose_cluster_prefers_the_option_over_the_lab(tmp_path):
    from eotdl.catalog.compute import choose_cluster

    assert choose_cluster(tmp_path) is None  # no eotdl.toml: the command's own default
    (tmp_path / "eotdl.toml").write_text('[compute]\ncluster = "tcp://10.0.0.5:8786"\n')
    assert choose_cluster(tmp_path) == "tcp://10.0.0.5:8786"
    assert choose_cluster(tmp_path, "local") == "local"
    with pytest.raises(InputError, match="unknown cluster"):
        choose_cluster(tmp_path, "somewhere")


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    lab = make_lab(tmp_path, [Dataset("chips", "classification_folders", per_class=2)])
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        run_qa(lab, "chips", output=tmp_path / "qa", cluster=f"tcp://127.0.0.1:{port}")


@pytest.mark.slow
def test_the_library_follows_the_lab_setting_as_the_command_does(dask_cluster, tmp_path):
    """``[compute] cluster`` holds for ``eotdl.run_qa`` as for ``eotdl qa``; a named
    scheduler keeps the run here."""
    lab = make_lab(tmp_path, [Dataset("chips", "classification_folders", per_class=3, size=16)])
    toml = lab.root / "eotdl.toml"
    toml.write_text(toml.read_text() + f'\n[compute]\ncluster = "{dask_cluster}"\n')
    there = run_qa(lab, "chips", output=tmp_path / "there")
    assert there.eda["engine"]["scheduler"] == "distributed"
    here = run_qa(lab, "chips", output=tmp_path / "here", scheduler="threads")
    assert here.eda["engine"]["scheduler"] == "threads"
