"""Contract case: chips cut from two GeoTIFFs with vector labels, a random split.

The lab factory (tests/labs.py) makes other sources through the options: ``labelled=False``
gives ``count`` plain GeoTIFFs (one item each, no split) straight in the source folder.
"""

import json

from rastergen import write_tif

KIND = "rasters"


def make_case(
    tmp_path,
    *,
    labelled=True,
    count=2,
    size=64,
    stem="scene_2023050{m}",
    spacing=1000.0,
):
    from cases import Case

    folder = tmp_path / "tifs" if labelled else tmp_path
    for n in range(count):
        write_tif(
            folder / f"{stem.format(n=n, m=n + 1)}.tif",
            seed=n,
            bands=4,
            size=size,
            offset=(n * spacing, 0.0),
        )
    if not labelled:
        return Case(source=str(folder), items=count)
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
