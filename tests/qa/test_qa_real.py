"""QA of the three real label catalogs of ../shared, imported with the ``stac`` builder.

Nobody here wrote them: an MLHub label catalog in STAC 0.8.1 (Open Cities, Zanzibar), an
MLHub dataset archive (SU SAR moisture: a regression target, not classes) and the label
extension's multi-dataset example (SpaceNet buildings and Zanzibar). Their imagery is remote,
so QA notes it as external instead of fetching it; each gets a sensible level and report.
"""

from __future__ import annotations

import socket
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from eotdl.builders.ingestion import ingest
from eotdl.catalog.lab import init_lab
from eotdl.qa import run_qa
from shareddata import EXAMPLES, needs_shared

OPEN_CITIES = (
    EXAMPLES
    / "mlhub-open-cities-label-catalog/tests/data-files/catalogs/label_catalog-v0.8.1/catalog.json"
)
SU_SAR = EXAMPLES / "mlhub-su-sar-moisture/su_sar_moisture_content_main.tar.gz"
MULTIDATASET = EXAMPLES / "ext-label/examples/multidataset/catalog.json"


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1", None):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


def _qa(tmp_path: Path, source: Path, **options: Any):
    needs_shared(source)
    lab = init_lab(tmp_path / "lab")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest(lab, "stac", str(source), "ds", options, progress=False)
    report = run_qa(lab, "ds")
    return report, Counter((f.severity, f.code) for f in report.findings)


def test_open_cities(tmp_path: Path, shared_mirror: Path) -> None:
    report, found = _qa(tmp_path, OPEN_CITIES, skip_assets=True)
    assert report.level == "Q1" and report.items == 31
    assert "Q2: 31 label item(s) without an ml-aoi:split" in report.level_reasons
    # remote imagery and labels are noted, not fetched; no raster error without the bytes
    assert found[("info", "asset-external")] == 62
    assert found[("info", "label-source-external")] == 31
    assert {code for severity, code in found if severity == "error"} <= {"card-license"}
    eda = report.eda
    assert eda is not None and eda["splits"] == {"unassigned": 31}
    assert eda["bias"]["continents"] == {"Africa": 31}  # Zanzibar
    assert sum(eda["bias"]["years"].values()) == 31
    assert eda["classes"]["counts"] == {}  # the labels are remote: nothing measured


def test_su_sar_moisture(tmp_path: Path, shared_mirror: Path) -> None:
    report, found = _qa(tmp_path, SU_SAR, assets=("labels", "training_features_descriptions"))
    assert report.level == "Q1" and report.items == 8
    assert report.errors == []
    # a regression target (percent moisture) is not a class: no class findings
    assert set(found) == {("warning", "label-no-source")}
    eda = report.eda
    assert eda is not None and eda["classes"]["counts"] == {}
    assert eda["bias"]["continents"] == {"North America": 8}
    assert eda["temporal"]["items_with_datetime"] == 8  # start/end ranges count


def test_label_extension_multidataset(tmp_path: Path, shared_mirror: Path) -> None:
    report, found = _qa(tmp_path, MULTIDATASET, skip_assets=True)
    assert report.level == "Q1" and report.items == 5
    assert found[("warning", "label-no-source")] == 5
    assert {code for severity, code in found if severity == "error"} <= {"card-license"}
    eda = report.eda
    assert eda is not None
    assert set(eda["bias"]["continents"]) == {"Africa", "Asia", "Europe", "North America"}
    assert eda["bias"]["geo_top10_share"] == 0.4
