"""Property-based fuzzing of the builders' table and GeoJSON readers (hypothesis).

Random bytes, random text and random JSON (plus shapes near the real thing: features with odd
geometries, COCO with odd ids and boxes) go to the points CSV and GeoJSON readers, the GeoJSON
guard every builder uses, the detection builder (GeoJSON and COCO boxes) and the raster
labels. Each either succeeds or raises the project's user-error type (:class:`EotdlError`);
any other exception is a traceback a user would see, and fails the test. Nothing may be
written outside the builder's work folder. Examples are bounded and derandomized, so the
suite stays fast and every run tries the same inputs.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eotdl.builders.detection import DetectionBuilder
from eotdl.builders.geoinputs import LabelShapes, read_points
from eotdl.builders.geojsonfile import check_geometry, features_of
from eotdl.builders.pairs import load_class_map
from eotdl.builders.points import PointsBuilder
from eotdl.builders.scenes import widen
from eotdl.catalog.times import parse_interval, parse_utc
from eotdl.errors import EotdlError
from rastergen import write_tif

FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# JSON values: scalars (NaN and infinities included: Python's json reads them), nested lists
# and objects, a few levels deep.
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
NUMBER = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-400, 400) | SCALARS
POSITION = st.lists(NUMBER, max_size=4)
RING = st.lists(POSITION, max_size=6)
TYPES = st.sampled_from(
    [
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
        "Circle",
        5,
        None,
    ]
)
GEOMETRY = st.one_of(
    st.none(),
    JSON,
    st.fixed_dictionaries(
        {"type": TYPES},
        optional={
            "coordinates": st.one_of(POSITION, RING, st.lists(RING, max_size=3), JSON),
            "geometries": st.lists(JSON, max_size=2),
        },
    ),
)
PROPERTIES = st.one_of(
    st.none(),
    JSON,
    st.fixed_dictionaries(
        {},
        optional={
            "image": st.sampled_from(["a.tif", "b.tif", "../a.tif", "/etc/passwd", "", "a\0.tif"])
            | JSON,
            "class": SCALARS,
            "time": st.sampled_from(
                ["2020-01-01", "0001-01-01T00:00+14:00", "9999-12-31T23:59-05:00", "x", ""]
            )
            | SCALARS,
            "value": NUMBER,
            "id": SCALARS,
        },
    ),
)
FEATURE = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"type": st.just("Feature")}, optional={"geometry": GEOMETRY, "properties": PROPERTIES}
    ),
)
GEOJSON = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"type": st.just("FeatureCollection"), "features": st.lists(FEATURE, max_size=5) | JSON},
        optional={"crs": JSON},
    ),
)


def _dump(value: Any) -> str:
    return json.dumps(value)  # NaN and Infinity as Python's json writes and reads them


@contextmanager
def sandbox() -> Iterator[tuple[Path, Path]]:
    """(inputs folder, work folder) in a fresh temporary folder, which is also the process's
    temporary folder meanwhile; on leaving, nothing may be left anywhere in it but in the work
    folder (and the inputs the test wrote): no stray output, no leftover temporary file."""
    with tempfile.TemporaryDirectory(prefix="eotdl-fuzz-") as top:
        root = Path(top)
        inputs, work, scratch = root / "in", root / "work", root / "tmp"
        inputs.mkdir()
        scratch.mkdir()
        saved = tempfile.tempdir
        tempfile.tempdir = str(scratch)
        try:
            yield inputs, work
        finally:
            tempfile.tempdir = saved
        stray = [
            p
            for p in root.rglob("*")
            if p.is_file() and inputs not in p.parents and work not in p.parents
        ]
        assert not stray, f"written outside the work folder: {stray}"


def expect_user_error(run: Callable[[], Any]) -> None:
    """``run()`` succeeds or raises EotdlError; anything else propagates and fails."""
    try:
        run()
    except EotdlError as exc:
        assert str(exc).strip()


# points: CSV ---------------------------------------------------------------------------------

CSV_LINE = st.lists(
    st.sampled_from(
        [
            "1.5",
            "-200",
            "43.6",
            "2020-01-01",
            "0001-01-01T00:00+14:00",
            "nan",
            "",
            "NA",
            "x",
            '"a,b"',
            "1e400",
            "\x00",
            "é",
        ]
    )
    | st.text(max_size=6),
    max_size=5,
).map(",".join)


@FUZZ
@given(st.lists(CSV_LINE, max_size=6), st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_points_csv_text(lines: list[str], encoding: str) -> None:
    text = "lon,lat,time,v\n" + "\n".join(lines)
    with sandbox() as (inputs, work):
        source = inputs / "obs.csv"
        source.write_bytes(text.encode(encoding, errors="replace"))

        def run() -> None:
            builder = PointsBuilder(str(source), "obs", work)
            list(builder.items())
            builder.collection()

        expect_user_error(run)


@FUZZ
@given(st.binary(max_size=200))
def test_points_csv_bytes(data: bytes) -> None:
    with sandbox() as (inputs, work):
        source = inputs / "obs.csv"
        source.write_bytes(b"lon,lat,time,v\n" + data)
        expect_user_error(lambda: list(PointsBuilder(str(source), "obs", work).items()))


# points and in-situ GeoJSON -------------------------------------------------------------------


@FUZZ
@given(GEOJSON)
def test_points_geojson(data: Any) -> None:
    with sandbox() as (inputs, work):
        source = inputs / "obs.geojson"
        source.write_text(_dump(data))

        def run() -> None:
            builder = PointsBuilder(str(source), "obs", work, values="value")
            list(builder.items())
            builder.collection()

        expect_user_error(run)
        expect_user_error(lambda: read_points(source, "time"))


@FUZZ
@given(st.binary(max_size=200))
def test_geojson_bytes(data: bytes) -> None:
    with sandbox() as (inputs, work):
        source = inputs / "labels.geojson"
        source.write_bytes(data)
        expect_user_error(lambda: LabelShapes.load(source, "class"))
        expect_user_error(lambda: list(PointsBuilder(str(source), "obs", work).items()))


@FUZZ
@given(GEOJSON)
def test_label_shapes(data: Any) -> None:
    with sandbox() as (inputs, _):
        source = inputs / "labels.geojson"
        source.write_text(_dump(data))
        expect_user_error(lambda: LabelShapes.load(source, "class"))


@FUZZ
@given(GEOMETRY)
def test_checked_geometries_are_ones_shapely_takes(geometry: Any) -> None:
    """What the guard lets through, shapely turns into a shape without an exception."""
    from shapely.geometry import shape

    try:
        checked = check_geometry(geometry, "x: feature 0")
    except EotdlError:
        return
    if checked is not None:
        shape(checked)


@FUZZ
@given(GEOJSON)
def test_features_of(data: Any) -> None:
    try:
        features = features_of(data, Path("x.geojson"))
    except EotdlError:
        return
    assert all(isinstance(f, dict) for f in features)


# detection: GeoJSON and COCO boxes ------------------------------------------------------------

COCO = st.fixed_dictionaries(
    {
        "images": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "id": st.sampled_from([1, 2, "1"]) | JSON,
                    "file_name": st.sampled_from(["a.tif", "b.tif", "../a.tif", "a\0"]) | JSON,
                    "width": st.sampled_from([16, 8]) | JSON,
                    "height": st.sampled_from([16, 8]) | JSON,
                },
            )
            | JSON,
            max_size=3,
        )
        | JSON,
        "annotations": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "id": JSON,
                    "image_id": st.sampled_from([1, 2]) | JSON,
                    "category_id": st.sampled_from([1, 2]) | JSON,
                    "bbox": st.lists(NUMBER, min_size=3, max_size=5) | JSON,
                },
            )
            | JSON,
            max_size=4,
        )
        | JSON,
    },
    optional={
        "categories": st.lists(
            st.fixed_dictionaries(
                {}, optional={"id": st.sampled_from([1, 2]) | JSON, "name": SCALARS}
            )
            | JSON,
            max_size=3,
        )
        | JSON
    },
)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("images")
    write_tif(root / "a.tif", seed=1, bands=1, size=16)
    return root


@FUZZ
@given(st.one_of(GEOJSON, COCO))
def test_detection_boxes(image_folder: Path, data: Any) -> None:
    with sandbox() as (inputs, work):
        boxes = inputs / "boxes.json"
        boxes.write_text(_dump(data))

        def run() -> None:
            builder = DetectionBuilder(
                str(image_folder), "det", work, boxes=boxes, datetime="2020-01-01"
            )
            list(builder.items())
            builder.collection()

        expect_user_error(run)


# times ------------------------------------------------------------------------------------------


@FUZZ
@given(
    st.text(max_size=30)
    | st.datetimes().map(lambda d: d.isoformat())
    | st.builds(
        lambda d, h: f"{d.isoformat()}{h}",
        st.datetimes(),
        st.sampled_from(["+14:00", "-12:00", "Z", "z", "+23:59"]),
    )
)
def test_one_time_parser(text: str) -> None:
    """A datetime, or ValueError (that every caller turns into a message): never an
    OverflowError."""
    try:
        when = parse_utc(text)
    except ValueError:
        return
    assert when.utcoffset() is not None and math.isfinite(when.timestamp())


@FUZZ
@given(
    st.text(max_size=30)
    | st.builds(
        lambda a, b: f"{a}/{b}",
        st.sampled_from(["", "..", "0001", "9999", "9999-12", "9999-12-31", "0001-01-01", "x"]),
        st.sampled_from(["", "..", "9999-12-31T23:59-05:00", "0001-01-01T00:00+14:00", "2020"]),
    )
)
def test_datetime_intervals(text: str) -> None:
    """``--datetime`` ranges: an interval that can be widened, or InputError."""
    try:
        interval = parse_interval(text)
    except EotdlError:
        return
    widen(interval, dt.timedelta(days=400))


# tables: class maps and Parquet sources ---------------------------------------------------------


@FUZZ
@given(JSON | st.text(max_size=80))
def test_class_maps(data: Any) -> None:
    with sandbox() as (inputs, _):
        path = inputs / "classes.yaml"
        path.write_text(data if isinstance(data, str) else _dump(data))
        expect_user_error(lambda: load_class_map(path))


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([b"", b"PAR1"]))
def test_points_parquet_bytes(data: bytes, magic: bytes) -> None:
    with sandbox() as (inputs, work):
        source = inputs / "obs.parquet"
        source.write_bytes(magic + data + magic)
        expect_user_error(lambda: list(PointsBuilder(str(source), "obs", work).items()))
