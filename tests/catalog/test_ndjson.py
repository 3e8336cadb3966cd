import os
import tracemalloc

import pytest

from eotdl.catalog import ndjson
from eotdl.errors import InputError
from stacgen import item


def test_written_sorted_by_id_with_sorted_keys(tmp_path):
    path = tmp_path / "items.ndjson"
    count = ndjson.write_items(path, [item("b"), item("c"), item("a")])
    lines = path.read_bytes().splitlines()
    assert count == 3
    assert [ndjson.canonical.loads(x)["id"] for x in lines] == ["a", "b", "c"]
    # keys sorted, no spaces: identical content gives identical bytes whatever the dict order
    first = lines[0].decode()
    assert first.index('"assets"') < first.index('"bbox"') < first.index('"id"')
    assert ": " not in first and ", " not in first


def test_identical_content_identical_bytes(tmp_path):
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    one = item("x", cloud=1)
    reordered = dict(reversed(list(item("x", cloud=1).items())))
    ndjson.write_items(a, [one, item("y")])
    ndjson.write_items(b, [item("y"), reordered])
    assert a.read_bytes() == b.read_bytes()


def test_duplicate_id_refused_and_nothing_written(tmp_path):
    path = tmp_path / "items.ndjson"
    path.write_text("previous\n")
    with pytest.raises(InputError, match="duplicate item id 'a'"):
        ndjson.write_items(path, [item("a"), item("b"), item("a")])
    assert path.read_text() == "previous\n"
    assert os.listdir(tmp_path) == ["items.ndjson"]


def test_bad_lines_name_file_and_line(tmp_path):
    path = tmp_path / "items.ndjson"
    path.write_text('{"type": "Feature", "id": "a"}\n\n{not json}\n')
    with pytest.raises(InputError, match=r"items.ndjson:3: malformed JSON"):
        list(ndjson.iter_items(path))
    path.write_text("[1, 2]\n")
    with pytest.raises(InputError, match=r":1: expected a JSON object .*an array"):
        list(ndjson.iter_items(path))
    path.write_text('{"type": "Collection", "id": "c"}\n')
    with pytest.raises(InputError, match=r":1: not a STAC Item"):
        list(ndjson.iter_items(path))
    path.write_bytes(b'{"id": "\xff"}\n')
    with pytest.raises(InputError, match=r":1: not UTF-8"):
        list(ndjson.iter_items(path))


def test_overlong_line_refused_without_reading_it_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(ndjson, "MAX_LINE_BYTES", 1000)
    path = tmp_path / "big.ndjson"
    path.write_bytes(b'{"a": "' + b"x" * 5000 + b'"}')
    with pytest.raises(InputError, match="longer than"):
        list(ndjson.iter_lines(path))


def test_reading_streams_with_flat_memory(tmp_path):
    path = tmp_path / "many.ndjson"
    line = ndjson.canonical.dumps(item("x")) + b"\n"
    with path.open("wb") as handle:
        for _ in range(200_000):
            handle.write(line)
    size = path.stat().st_size
    tracemalloc.start()
    count = sum(1 for _ in ndjson.iter_items(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 200_000
    assert peak < 2_000_000 < size  # a few items' worth, not the file's
