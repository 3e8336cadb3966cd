"""Planted defects in the bytes: missing, corrupt, wrong checksum or size, dangling sources."""

from __future__ import annotations

from qacases import NAME, by_code, edit_item, items, stored_path

from eotdl.qa import run_qa

pytest_plugins = ["qacases"]


def _run(lab, *checks):
    return run_qa(lab, NAME, checks=list(checks), eda=False)


def test_corrupt_asset_is_caught(lab):
    item = items(lab)[2]
    path = stored_path(lab, item, "image")
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # same size, other bytes
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    report = _run(lab, "assets")
    assert [(f.code, f.object) for f in report.errors] == [
        ("asset-checksum", f"item:{item['id']}/asset:image")
    ]


def test_wrong_declared_checksum_is_caught(lab):
    item = items(lab)[1]
    wrong = "1220" + "0" * 64

    edit_item(lab, item["id"], lambda i: i["assets"]["image"].update({"file:checksum": wrong}))
    report = _run(lab, "assets")
    assert [f.code for f in report.errors] == ["asset-checksum"]
    assert "SHA-256" in report.errors[0].message


def test_wrong_declared_size_is_caught(lab):
    item = items(lab)[1]
    edit_item(lab, item["id"], lambda i: i["assets"]["labels"].update({"file:size": 12}))
    assert [(f.code, f.object) for f in _run(lab, "assets").errors] == [
        ("asset-size", f"item:{item['id']}/asset:labels")
    ]


def test_missing_asset_is_caught(lab):
    item = items(lab)[0]
    stored_path(lab, item, "labels").unlink()
    report = _run(lab, "assets")
    assert [(f.code, f.object) for f in report.errors] == [
        ("asset-missing", f"item:{item['id']}/asset:labels")
    ]


def test_malformed_checksum_and_no_checksum(lab):
    first, second = items(lab)[:2]
    edit_item(lab, first["id"], lambda i: i["assets"]["image"].update({"file:checksum": "abc"}))
    edit_item(lab, second["id"], lambda i: i["assets"]["image"].pop("file:checksum"))
    report = _run(lab, "assets")
    assert sorted((f.severity, f.code) for f in report.findings) == [
        ("error", "asset-bad-checksum"),
        ("warning", "asset-no-checksum"),
    ]


def test_external_asset_is_noted_not_fetched(lab):
    item = items(lab)[0]
    edit_item(
        lab,
        item["id"],
        lambda i: i["assets"].update(
            {"thumbnail": {"href": "https://example.invalid/t.png", "roles": ["thumbnail"]}}
        ),
    )
    report = _run(lab, "assets")
    assert [(f.severity, f.code) for f in report.findings] == [("info", "asset-external")]


def test_label_source_link_to_nothing_is_caught(lab):
    item = items(lab)[4]

    def dangle(i):
        i["links"] = [{"rel": "source", "href": "../source-items/nowhere.json"}]

    edit_item(lab, item["id"], dangle)
    report = _run(lab, "label-sources")
    assert [(f.code, f.object) for f in report.errors] == [
        ("label-source-missing", f"item:{item['id']}")
    ]


def test_label_source_link_to_another_item_or_outside(lab):
    first, second, third = items(lab)[:3]
    edit_item(
        lab,
        first["id"],
        lambda i: i.update(links=[{"rel": "source", "href": f"./{second['id']}.json"}]),
    )
    edit_item(
        lab,
        second["id"],
        lambda i: i.update(links=[{"rel": "source", "href": "https://x.invalid/s.json"}]),
    )
    edit_item(lab, third["id"], lambda i: i.update(links=[]))
    report = _run(lab, "label-sources")
    assert sorted((f.severity, f.code) for f in report.findings) == [
        ("info", "label-source-external"),
        ("warning", "label-no-source"),
    ]
    assert by_code(report, "label-no-source")[0].object == f"item:{third['id']}"
