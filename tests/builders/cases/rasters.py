"""Contract case: chips cut from two GeoTIFFs with vector labels, a random split."""

import json

from rastergen import write_tif

KIND = "rasters"


def make_case(tmp_path):
    from cases import Case

    folder = tmp_path / "tifs"
    for n in range(2):
        write_tif(
            folder / f"scene_2023050{n + 1}.tif", seed=n, bands=4, size=64, offset=(n * 1000.0, 0.0)
        )
    labels = tmp_path / "labels.geojson"
    labels.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"class": "water"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [
                                    [1.38, 43.61],
                                    [1.40, 43.61],
                                    [1.40, 43.63],
                                    [1.38, 43.63],
                                    [1.38, 43.61],
                                ]
                            ],
                        },
                    }
                ],
            }
        )
    )
    return Case(
        source=str(folder),
        options={
            "chip_size": 32,
            "overlap": 0,
            "labels": labels,
            "normalize": True,
            "indices": ("ndvi",),
            "bands": "red=3,nir=4",
        },
        split="random:0.5,0.25,0.25",
        items=8,
        splits={"train": 4, "validate": 2, "test": 2},
    )
