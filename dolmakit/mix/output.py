"""Read a mix's output documents back in output order, each with its index row and tokens."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from dolmakit.errors import DolmakitError
from dolmakit.io.reader import DEFAULT_MAX_LINE_BYTES, iter_lines, read_documents
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


class _MetadataOnly(msgspec.Struct):
    """An output line's `metadata`; the text and other fields are skipped, not built."""

    metadata: Any = None


_metadata_decoder = msgspec.json.Decoder(_MetadataOnly)


def iter_output_metadata(
    mix_dir: Path, shards: Sequence[Shard], index_name: str = "index.parquet"
) -> Iterator[tuple[dict[str, Any], int]]:
    """Yield ({"metadata": ...}, tokens) for every output document, in order.

    What `iter_output` gives for the `metadata` field, with the same checks against the
    index, without building the rest of each document: JSON lines shards are decoded into
    their `metadata` only (Parquet shards are read whole).
    """
    index = read_table(mix_dir / index_name, columns=["shard", "row", "tokens"])
    numbers, rows, tokens = (index.column(c).to_pylist() for c in ("shard", "row", "tokens"))
    i = 0
    for number, shard in enumerate(shards):
        path = mix_dir / shard.path
        if path.name.endswith(".parquet"):
            for row, doc in read_documents(path, Rejects(on_error="fail")):
                if i >= len(numbers) or (numbers[i], rows[i]) != (number, row):
                    raise DolmakitError(
                        f"{path}: row {row} does not match {index_name}; run dolmakit audit verify"
                    )
                yield {"metadata": doc.metadata}, int(tokens[i] or 0)
                i += 1
            continue
        for row, line in iter_lines(path, DEFAULT_MAX_LINE_BYTES):
            if i >= len(numbers) or (numbers[i], rows[i]) != (number, row) or line is None:
                raise DolmakitError(
                    f"{path}: row {row} does not match {index_name}; run dolmakit audit verify"
                )
            try:
                metadata = _metadata_decoder.decode(line).metadata
            except (msgspec.DecodeError, UnicodeDecodeError) as exc:
                raise DolmakitError(f"{path}: row {row}: not a document ({exc})") from None
            yield {"metadata": metadata}, int(tokens[i] or 0)
            i += 1
    if i != len(numbers):
        raise DolmakitError(f"{mix_dir / index_name}: lists more documents than the shards hold")
