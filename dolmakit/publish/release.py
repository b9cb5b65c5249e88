"""Write a mix as a folder ready to upload as a Hugging Face dataset (`dolmakit publish`).

The folder holds `data/train-NNNNN.parquet` (the mix's documents in output order, row groups
sized for streaming), `README.md` (the dataset card, its YAML header read by
`huggingface_hub`) and `croissant.json` (Croissant 1.0 metadata). Its bytes follow from the
mix alone: publishing the same mix twice gives the same files.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.io.arrays import parquet_writer
from dolmakit.io.atomic import write_bytes_atomic
from dolmakit.io.lock import exclusive, lock_path
from dolmakit.io.units import counted
from dolmakit.mix.licences import count_licences, licence_shares
from dolmakit.mix.manifest import Manifest, SourceLicences, read_manifest
from dolmakit.mix.output import iter_output
from dolmakit.publish.card import render_card
from dolmakit.publish.croissant import croissant

DATA_DIR = "data"
ROW_GROUP_BYTES = 32 * 2**20
SHARD_BYTES = 512 * 2**20
PROVENANCE_COLUMNS = (
    "provenance_source",
    "provenance_path",
    "provenance_line",
    "provenance_repeat",
)


@dataclass(frozen=True)
class Release:
    """What `publish_mix` wrote and the facts the card and Croissant file are made from."""

    out_dir: Path
    manifest: Manifest
    files: tuple[str, ...]
    documents: int
    provenance: bool
    languages: dict[str, int]
    licences: tuple[SourceLicences, ...]
    documents_per_source: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Return what the command prints."""
        return [
            f"published {self.manifest.name} v{self.manifest.version}: {self.documents:,}"
            f" documents in {counted(len(self.files), 'Parquet file')} -> {self.out_dir}",
            f"  card: {self.out_dir / 'README.md'}",
            f"  croissant: {self.out_dir / 'croissant.json'}",
        ]


UNFINISHED_MARK = ".dolmakit-publish-unfinished"
"""A file in the output folder while `publish_mix` writes it; a killed run leaves it behind."""


def check_empty_output(out_dir: Path) -> None:
    """Refuse an output that exists and is not empty (its lock file aside) nor left unfinished.

    A folder an unfinished publish left (it holds UNFINISHED_MARK) is taken: it is cleared.
    """
    if not out_dir.exists():
        return
    ours = {out_dir / ".dolmakit", lock_path(out_dir)}
    if out_dir.is_dir() and (
        (out_dir / UNFINISHED_MARK).is_file() or all(p in ours for p in out_dir.rglob("*"))
    ):
        return
    raise DolmakitError(f"{out_dir}: the output folder is not empty; choose a new folder")


def remove_output(out_dir: Path) -> None:
    """Delete an output folder that `check_empty_output` takes, holding its lock meanwhile.

    Such a folder is empty but for a lock file a killed run left, or holds an unfinished
    publish; one that a publish is writing is turned away (LockedError), never deleted.
    """
    if not out_dir.exists():
        return
    with exclusive(out_dir, "publish", remove=True):
        check_empty_output(out_dir)
        _clear(out_dir)
    out_dir.rmdir()


def _clear(out_dir: Path) -> None:
    """Delete everything in `out_dir` (an unfinished publish's files) but the lock's folder."""
    if out_dir.is_dir():
        for child in sorted(out_dir.iterdir()):
            if child != lock_path(out_dir).parent:  # the lock this run holds stays taken
                storage.delete_tree(child)


def _row(doc: dict[str, Any], provenance: bool) -> dict[str, Any]:
    meta = dict(doc.get("metadata") or {})
    prov = meta.pop("provenance", None) or {}
    row: dict[str, Any] = {
        "id": doc["id"],
        "text": doc["text"],
        "source": doc.get("source"),
        "added": doc.get("added"),
        "created": doc.get("created"),
        "metadata": json.dumps(meta, sort_keys=True, ensure_ascii=False),
    }
    if provenance:
        row["provenance_source"] = prov.get("source")
        row["provenance_path"] = prov.get("path")
        row["provenance_line"] = prov.get("line")
        row["provenance_repeat"] = prov.get("repeat", 0)
    return row


def _schema(provenance: bool) -> Any:
    import pyarrow as pa

    fields = [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("added", pa.string()),
        pa.field("created", pa.string()),
        pa.field("metadata", pa.string()),
    ]
    if provenance:
        fields += [
            pa.field("provenance_source", pa.string()),
            pa.field("provenance_path", pa.string()),
            pa.field("provenance_line", pa.int64()),
            pa.field("provenance_repeat", pa.int32()),
        ]
    return pa.schema(fields)


class _ShardWriter:
    """Write rows into numbered Parquet files, a row group per `row_group_bytes` of rows."""

    def __init__(self, folder: Path, schema: Any, row_group_bytes: int, shard_bytes: int) -> None:
        self.folder, self.schema = folder, schema
        self.row_group_bytes, self.shard_bytes = row_group_bytes, shard_bytes
        self.files: list[str] = []
        self._rows: list[dict[str, Any]] = []
        self._buffered = 0
        self._written = 0
        self._writer: Any = None
        self._context: Any = None

    def add(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        self._buffered += len(row["text"].encode()) + len(row["metadata"])
        if self._buffered >= self.row_group_bytes:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if not self._rows:
            return
        if self._writer is None:
            name = f"train-{len(self.files):05d}.parquet"
            self.files.append(f"{DATA_DIR}/{name}")
            # (parquet_writer writes locally or to object storage, renaming when complete)
            self._context = parquet_writer(self.folder / name, self.schema, compression="zstd")
            self._writer = self._context.__enter__()
        try:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
        except BaseException as exc:
            self._abort(exc)
            raise
        self._written += self._buffered
        self._rows, self._buffered = [], 0
        if self._written >= self.shard_bytes:
            self._close_file()

    def _close_file(self) -> None:
        if self._writer is not None:
            context, self._writer, self._context, self._written = self._context, None, None, 0
            context.__exit__(None, None, None)

    def _abort(self, exc: BaseException) -> None:
        """Delete the file being written; a full disk becomes a StorageError naming it."""
        context, self._writer, self._context = self._context, None, None
        context.__exit__(type(exc), exc, exc.__traceback__)

    def close(self) -> None:
        self._flush()
        self._close_file()


def publish_mix(
    mix_dir: str | Path,
    out_dir: str | Path,
    *,
    provenance: bool = True,
    row_group_bytes: int = ROW_GROUP_BYTES,
    shard_bytes: int = SHARD_BYTES,
) -> Release:
    """Write the mix in `mix_dir` as a Hugging Face dataset folder `out_dir` (new or empty).

    The run holds the output folder's lock and removes its lock file at the end: the release
    holds only the release. While it writes, `out_dir` holds an UNFINISHED_MARK file; a rerun
    after a kill clears such a folder and starts again, and a run that fails leaves the folder
    empty.
    """
    folder = storage.location(mix_dir)
    manifest = read_manifest(folder)
    out = storage.location(out_dir).resolve()
    check_empty_output(out)
    storage.make_folder(out, "the release folder")
    with exclusive(out, "publish", remove=True):
        check_empty_output(out)  # (again: another run may have written here meanwhile)
        # A rerun after a kill starts again from an empty folder; a failed run leaves one.
        _clear(out)
        (out / UNFINISHED_MARK).write_bytes(b"written by `dolmakit publish`; it did not finish\n")
        try:
            (out / DATA_DIR).mkdir(exist_ok=True)
            release = _publish(folder, manifest, out, provenance, row_group_bytes, shard_bytes)
        except BaseException:
            _clear(out)
            raise
        (out / UNFINISHED_MARK).unlink()
        return release


def _publish(
    folder: Path,
    manifest: Manifest,
    out: Path,
    provenance: bool,
    row_group_bytes: int,
    shard_bytes: int,
) -> Release:
    writer = _ShardWriter(out / DATA_DIR, _schema(provenance), row_group_bytes, shard_bytes)
    languages: Counter[str] = Counter()
    per_source: Counter[str] = Counter()
    stated = {s.name: s.licence for s in manifest.sources}
    pairs: list[tuple[dict[str, Any], int]] = []
    for doc, tokens in _documents(folder, manifest):
        writer.add(_row(doc, provenance))
        meta = doc.get("metadata") or {}
        languages[str(meta.get("lang") or meta.get("language") or "unknown")] += tokens
        per_source[str((meta.get("provenance") or {}).get("source", ""))] += 1
        pairs.append(({"metadata": _licence_meta(meta)}, tokens))
    writer.close()
    licences = manifest.licences or licence_shares(
        count_licences(pairs, stated), [s.name for s in manifest.sources]
    )
    release = Release(
        out_dir=out,
        manifest=manifest,
        files=tuple(writer.files),
        documents=sum(per_source.values()),
        provenance=provenance,
        languages=dict(sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))),
        licences=licences,
        documents_per_source=dict(per_source),
    )
    text = json.dumps(croissant(release), indent=2, ensure_ascii=False) + "\n"
    write_bytes_atomic(out / "croissant.json", text.encode())
    write_bytes_atomic(out / "README.md", render_card(release).encode())
    return release


def _licence_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Keep only what the licence count reads (the document's licence and its source)."""
    return {"license": meta.get("license"), "provenance": meta.get("provenance") or {}}


def _documents(folder: Path, manifest: Manifest) -> Iterator[tuple[dict[str, Any], int]]:
    for _, _, doc, tokens in iter_output(folder, manifest.shards, manifest.index.path):
        yield doc, tokens
