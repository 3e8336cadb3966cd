"""The builder registry's description of every builder (what `eotdl builders list` shows)."""

from __future__ import annotations

from eotdl.builders import registry


def test_describe_lists_every_builder_with_its_flags_and_recipes():
    rows = registry.describe()
    kinds = [row["kind"] for row in rows]
    assert kinds == sorted(kinds) and set(registry.BUILTIN) <= set(kinds)
    by_kind = {row["kind"]: row for row in rows}
    rasters = by_kind["rasters"]
    assert rasters["summary"] and rasters["version"]
    assert all(o["name"].startswith("--") and "_" not in o["name"] for o in rasters["options"])
    assert "recipe" not in rasters
    assert by_kind["eurosat"]["recipe"]["name"]
