"""Columns of an Item table as NumPy arrays, made once and kept, so filters cost microseconds.

Numbers become float64, text becomes dictionary codes (a comparison runs on the few distinct
values, then is looked up per row), times become microseconds since 1970, and every column
keeps its null mask. Other types (lists, structs) are left to pyarrow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

KINDS = ("number", "text", "time", "bool", "null", "other")


@dataclass
class Column:
    """One column: its kind, values as NumPy, its null mask and (text) its dictionary.

    ``arrow`` is the whole original column (restricted columns keep it for its type only).
    """

    name: str
    kind: str
    arrow: pa.Array
    null: np.ndarray
    values: np.ndarray | None = None
    dictionary: pa.Array | None = None

    @property
    def type_name(self) -> str:
        return str(self.arrow.type)

    def take(self, rows: np.ndarray) -> Column:
        """The same column restricted to ``rows``."""
        values = None if self.values is None else self.values[rows]
        return Column(self.name, self.kind, self.arrow, self.null[rows], values, self.dictionary)

    def lookup(self, per_value: np.ndarray) -> np.ndarray:
        """Text: a boolean per dictionary entry, spread to the rows (False for nulls)."""
        assert self.values is not None
        table = np.append(np.asarray(per_value, dtype=bool), False)  # code -1 (null) → False
        return table[self.values]


def make_column(name: str, arrow: pa.Array | pa.ChunkedArray) -> Column:
    """Classify and convert one column."""
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    kind_type = arrow.type
    null = np.asarray(arrow.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_null(kind_type):
        return Column(name, "null", arrow, null)
    if pa.types.is_integer(kind_type) or pa.types.is_floating(kind_type):
        values = np.asarray(pc.fill_null(arrow, 0).to_numpy(zero_copy_only=False), dtype=float)
        return Column(name, "number", arrow, null, values)
    if pa.types.is_string(kind_type) or pa.types.is_large_string(kind_type):
        encoded = pc.dictionary_encode(arrow)
        codes = np.asarray(
            pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64
        )
        return Column(name, "text", arrow, null, codes, encoded.dictionary)
    if pa.types.is_timestamp(kind_type):
        micros = arrow.cast(pa.timestamp("us", tz=kind_type.tz or "UTC")).cast(pa.int64())
        values = np.asarray(pc.fill_null(micros, 0).to_numpy(zero_copy_only=False), np.int64)
        return Column(name, "time", arrow, null, values)
    if pa.types.is_boolean(kind_type):
        values = np.asarray(pc.fill_null(arrow, False).to_numpy(zero_copy_only=False), bool)
        return Column(name, "bool", arrow, null, values)
    return Column(name, "other", arrow, null)
