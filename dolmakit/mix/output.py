"""Read a mix's output documents back in output order, each with its index row and tokens."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dolmakit.errors import DolmakitError
from dolmakit.io.reader import read_documents
from dolmakit.io.rejects import Rejects
from dolmakit.mix.files import read_table
from dolmakit.mix.manifest import Shard


def iter_output(
    mix_dir: Path, shards: Sequence[Shard], index_name: str = "index.parquet"
) -> Iterator[tuple[int, int, dict[str, Any], int]]:
    """Yield (shard number, row, document, tokens) for every output document, in order.

    The index and the shards are read side by side; a row that does not line up is an error
    (the mix was changed after it was built: `dolmakit audit verify` says where).
    """
    index = read_table(mix_dir / index_name, columns=["shard", "row", "tokens"])
    numbers, rows, tokens = (index.column(c).to_pylist() for c in ("shard", "row", "tokens"))
    i = 0
    for number, shard in enumerate(shards):
        path = mix_dir / shard.path
        for row, doc in read_documents(path, Rejects(on_error="fail")):
            if i >= len(numbers) or (numbers[i], rows[i]) != (number, row):
                raise DolmakitError(
                    f"{path}: row {row} does not match {index_name}; run dolmakit audit verify"
                )
            yield number, row, doc.to_dict(), int(tokens[i] or 0)
            i += 1
    if i != len(numbers):
        raise DolmakitError(f"{mix_dir / index_name}: lists more documents than the shards hold")
