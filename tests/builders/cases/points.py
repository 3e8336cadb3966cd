"""Contract case: eight CSV observations with a numeric and a categorical value, stratified."""

from __future__ import annotations

from pathlib import Path

from cases import Case

KIND = "points"


def make_case(tmp_path: Path) -> Case:
    tmp_path.mkdir(parents=True, exist_ok=True)
    rows = ["lon,lat,time,soil_moisture,crop_type"]
    for i in range(8):
        crop = "wheat" if i % 2 else "maize"
        rows.append(f"{1.4 + i / 100:.2f},43.{60 + i},2023-05-0{i + 1}T10:00:00Z,0.{20 + i},{crop}")
    source = tmp_path / "observations.csv"
    source.write_text("\n".join(rows) + "\n")
    return Case(
        source=str(source),
        options={"categorical": "crop_type", "units": "soil_moisture=m3/m3"},
        split="stratified:0.5,0.25,0.25",
        items=8,
        splits={"train": 4, "validate": 2, "test": 2},
    )
