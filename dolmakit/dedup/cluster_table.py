"""`clusters.parquet` of a MinHash run, written from numpy columns one row group at a time.

The member columns stay numpy arrays (about 40 bytes per clustered document); the text
columns (path, id, source) are built with pyarrow for one row group at a time, reading the
ids of the shards that row group needs. No Python object per member is ever held, so the
memory of this step does not grow with the documents beyond those numpy columns. The file is
the one `report.write_clusters` writes for the same rows, byte for byte (same schema, same
row groups of `ROW_GROUP_ROWS`, same compression).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dolmakit.dedup.index import ShardEntry, load_ids
from dolmakit.io import storage
from dolmakit.io.arrays import parquet_writer

# pyarrow's default row group length: what `pyarrow.parquet.write_table` uses.
ROW_GROUP_ROWS = 1024 * 1024
# Similarities rounded at once: bounds the temporary Python floats.
ROUND_CHUNK = 65536
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class MemberColumns:
    """One row per cluster member, in output order (cluster, then rank in the cluster).

    `shard` indexes the run's shards, `row` the document within its shard, `source` the
    `source_names` list (None: documents without a source).
    """

    cluster: I64
    shard: I64
    row: I64
    line: I64
    source: npt.NDArray[np.int32]
    keeper: npt.NDArray[np.bool_]
    removed: npt.NDArray[np.bool_]
    similarity: npt.NDArray[np.float64]
    source_names: tuple[str | None, ...]


def round5(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Return `round(x, 5)` of every value, as Python rounds (correctly rounded decimals)."""
    out = np.empty(len(values), dtype=np.float64)
    for start in range(0, len(values), ROUND_CHUNK):
        chunk = values[start : start + ROUND_CHUNK].tolist()
        out[start : start + len(chunk)] = [round(x, 5) for x in chunk]
    return out


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("cluster", pa.int64()),
            pa.field("path", pa.string()),
            pa.field("line", pa.int64()),
            pa.field("id", pa.string()),
            pa.field("source", pa.string()),
            pa.field("keeper", pa.bool_()),
            pa.field("removed", pa.bool_()),
            pa.field("similarity", pa.float64()),
        ]
    )


def _ids(shards: Sequence[ShardEntry], shard: I64, row: I64) -> Any:
    """Return a string array of the ids of (shard, row), in the order given."""
    import pyarrow as pa

    if not len(shard):
        return pa.array([], pa.string())
    order = np.argsort(shard, kind="stable")
    sorted_shards = shard[order]
    bounds = np.flatnonzero(np.concatenate(([True], sorted_shards[1:] != sorted_shards[:-1])))
    pieces = []
    for lo, hi in zip(bounds, np.append(bounds[1:], len(order)), strict=True):
        ids = load_ids(storage.location(shards[int(sorted_shards[lo])].dir))
        pieces.append(pa.array(ids, pa.string()).take(pa.array(row[order[lo:hi]])))
    gathered = pa.concat_arrays(pieces)
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order), dtype=np.int64)
    return gathered.take(pa.array(inverse))


def write_member_clusters(path: Path, shards: Sequence[ShardEntry], cols: MemberColumns) -> None:
    """Write clusters.parquet: one row per member; path, id and source per row group."""
    import pyarrow as pa

    schema = _schema()
    paths = pa.array([s.path for s in shards], pa.string())
    names = pa.array(list(cols.source_names), pa.string())
    n = len(cols.cluster)
    with parquet_writer(path, schema, compression="zstd") as writer:
        # An empty run still writes one (empty) table, as `pyarrow.parquet.write_table` does.
        for start in range(0, max(n, 1), ROW_GROUP_ROWS):
            part = slice(start, min(start + ROW_GROUP_ROWS, n))
            shard = cols.shard[part]
            table = pa.Table.from_arrays(
                [
                    pa.array(cols.cluster[part]),
                    paths.take(pa.array(shard)),
                    pa.array(cols.line[part]),
                    _ids(shards, shard, cols.row[part]),
                    names.take(pa.array(cols.source[part])),
                    pa.array(cols.keeper[part]),
                    pa.array(cols.removed[part]),
                    pa.array(round5(cols.similarity[part])),
                ],
                schema=schema,
            )
            writer.write_table(table)
