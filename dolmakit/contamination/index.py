"""Build and open a benchmark n-gram index: sorted 64-bit n-gram hashes with example ids.

An index is a folder:

- `index.json`: format, normalisation, hash, n, the common-n-gram rule, every benchmark with
  its files (sha256), fields and counts of examples indexed and skipped (by reason), and the
  sha256 of each file below. Its own sha256 names the index (manifests record it).
- `ngrams.npy` (uint64, sorted), `examples.npy` (uint32, the example's row in
  `examples.parquet`), `positions.npy` (uint16, the n-gram's first word in the example):
  one entry per n-gram occurrence of an indexed example, 14 bytes each, sorted by hash.
- `common.npy` (uint64, sorted): n-grams set aside as common (in more than
  `max_examples_per_ngram` examples, in a boilerplate file, or in more than
  `max_docs_per_ngram` documents of a reference corpus); they never match.
- `examples.parquet`: every example read, indexed or not: benchmark, number (its order in
  the benchmark), id, file, row, words, coverable words (words inside a non-common n-gram,
  the denominator of coverage) and status (`indexed`, `too_short`, `only_common`,
  `too_long`).

Same benchmarks and options give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dolmakit.contamination.examples import (
    BenchmarkRead,
    check_name,
    parse_benchmark_arg,
    read_benchmark,
)
from dolmakit.contamination.ngrams import DEFAULT_N, HASH, NORMALISATION, ngram_hashes
from dolmakit.errors import ConfigError, DolmakitError
from dolmakit.io import storage
from dolmakit.io.arrays import write_table
from dolmakit.io.atomic import write_bytes_atomic
from dolmakit.io.digest import file_sha256
from dolmakit.io.lock import exclusive

FORMAT = "dolmakit.contamination.index/1"
INDEX_JSON = "index.json"
ARRAYS = ("ngrams", "examples", "positions", "common")
DEFAULT_MAX_EXAMPLES = 10
DEFAULT_MAX_DOCS = 20
MAX_WORDS = 1 << 16
STATUSES = ("indexed", "too_short", "only_common", "too_long")


@dataclass(frozen=True)
class IndexOptions:
    """How an index is built: n, and which n-grams are set aside as common."""

    n: int = DEFAULT_N
    max_examples_per_ngram: int = DEFAULT_MAX_EXAMPLES
    boilerplate: tuple[Path, ...] = ()
    common_in: tuple[Path, ...] = ()
    max_docs_per_ngram: int = DEFAULT_MAX_DOCS

    def check(self) -> None:
        """Refuse options that cannot work."""
        if not 1 <= self.n <= 64:
            raise ConfigError(f"n = {self.n}: use 1 to 64 words")
        if self.max_examples_per_ngram < 1:
            raise ConfigError("max examples per n-gram must be at least 1")
        if self.max_docs_per_ngram < 1:
            raise ConfigError("max documents per n-gram must be at least 1")


@dataclass
class IndexSummary:
    """What an index build wrote: per benchmark, examples read, indexed and skipped."""

    path: Path
    sha256: str
    record: dict[str, Any]
    lines: list[str] = field(default_factory=list)


def build_index(
    benchmarks: Sequence[BenchmarkRead],
    output: str | Path,
    name: str,
    options: IndexOptions = IndexOptions(),
) -> IndexSummary:
    """Write the index of `benchmarks` to the folder `output`; return what it holds.

    The build holds the lock of `output`.
    """
    options.check()
    check_name(name)
    names = [b.name for b in benchmarks]
    if not benchmarks:
        raise ConfigError("give at least one benchmark")
    if len(set(names)) != len(names):
        raise ConfigError(f"benchmark names repeat: {', '.join(names)}")
    n = options.n
    examples = [e for b in benchmarks for e in b.examples]
    bench_of = np.concatenate(
        [np.full(len(b.examples), i, dtype=np.int64) for i, b in enumerate(benchmarks)]
    )
    grams = ngram_hashes([e.text for e in examples], n)
    words = grams.words
    too_long = words > MAX_WORDS
    keep = ~too_long[grams.text]
    hashes, owner, position = grams.hashes[keep], grams.text[keep], grams.word[keep]
    common, boiler_files = _common(hashes, owner, options)
    corpus_record = None
    if options.common_in:
        in_corpus, corpus_record = _common_in_corpus(np.unique(hashes), options)
        common = np.union1d(common, in_corpus).astype(np.uint64)
    usable = ~np.isin(hashes, common)
    coverable = _coverable(owner[usable], position[usable], len(examples), n)
    status = np.where(too_long, 3, np.where(words < n, 1, np.where(coverable == 0, 2, 0))).astype(
        np.int64
    )
    hashes, owner, position = hashes[usable], owner[usable], position[usable]
    order = np.lexsort((position, owner, hashes))
    arrays: dict[str, npt.NDArray[Any]] = {
        "ngrams": hashes[order].astype(np.uint64),
        "examples": owner[order].astype(np.uint32),
        "positions": position[order].astype(np.uint16),
        "common": common.astype(np.uint64),
    }
    out = Path(output)
    storage.make_folder(out, "the index folder")
    with exclusive(out, "contamination index build"):
        digests = {}
        for key, array in arrays.items():
            buf = _npy_bytes(array)
            write_bytes_atomic(out / f"{key}.npy", buf)
            digests[f"{key}.npy"] = hashlib.sha256(buf).hexdigest()
        table = _examples_table(benchmarks, bench_of, words, coverable, status)
        _write_table(table, out / "examples.parquet")
        digests["examples.parquet"] = file_sha256(out / "examples.parquet")
        record = _record(name, benchmarks, bench_of, status, options, boiler_files, arrays, digests)
        if corpus_record is not None:
            record["common_in"] = corpus_record
        data = json.dumps(record, indent=2, sort_keys=True).encode() + b"\n"
        write_bytes_atomic(out / INDEX_JSON, data)
        summary = IndexSummary(out, hashlib.sha256(data).hexdigest(), record)
        summary.lines = describe(record)
        return summary


def _npy_bytes(array: npt.NDArray[Any]) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _common(
    hashes: npt.NDArray[np.uint64], owner: npt.NDArray[np.int64], options: IndexOptions
) -> tuple[npt.NDArray[np.uint64], list[dict[str, Any]]]:
    """Return the sorted common n-grams and the boilerplate files that added to them."""
    pairs = np.unique(np.stack([hashes, owner.astype(np.uint64)], axis=1), axis=0)
    values, counts = np.unique(pairs[:, 0], return_counts=True)
    common = values[counts > options.max_examples_per_ngram]
    files = []
    for path in _boilerplate_files(options.boilerplate):
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DolmakitError(f"{path}: cannot read boilerplate file: {exc}") from None
        grams = ngram_hashes(text.split("\n\n"), options.n).hashes
        files.append(
            {"path": Path(path).name, "sha256": file_sha256(path), "ngrams": int(grams.size)}
        )
        common = np.union1d(common, grams)
    return np.unique(common).astype(np.uint64), files


def _boilerplate_files(paths: Sequence[Path]) -> list[Path]:
    """Return the boilerplate files: each file given, and the files below each folder (sorted,
    hidden ones left out), so a folder of licences (/usr/share/common-licenses) is one option."""
    out: list[Path] = []
    for path in paths:
        if Path(path).is_dir():
            below = sorted(p for p in Path(path).rglob("*") if p.is_file())
            out.extend(p for p in below if not any(x.startswith(".") for x in p.parts))
        else:
            out.append(Path(path))
    return out


def _common_in_corpus(
    ngrams: npt.NDArray[np.uint64], options: IndexOptions
) -> tuple[npt.NDArray[np.uint64], dict[str, Any]]:
    """Return the example n-grams (sorted, unique) held by more than max_docs_per_ngram
    documents of the reference corpus `options.common_in`, and what was read.

    Boilerplate that no benchmark repeats (a licence, a man-page section template, a
    changelog line) is common in a corpus: counting only the benchmark's own n-grams there
    finds it. A document counts once per n-gram. A bad line or unreadable file stops the
    build naming it: a reference corpus read in part would set aside too little, silently.
    """
    from dolmakit.io.paths import expand_inputs
    from dolmakit.io.reader import read_documents
    from dolmakit.io.rejects import Rejects

    files = expand_inputs(options.common_in)
    docs = np.zeros(ngrams.size, dtype=np.int64)
    digest = hashlib.sha256()
    total = 0
    batch: list[str] = []

    def count(texts: list[str]) -> None:
        if ngrams.size == 0:  # every example too short: nothing to count
            return
        grams = ngram_hashes(texts, options.n)
        at = np.minimum(np.searchsorted(ngrams, grams.hashes), ngrams.size - 1)
        hit = ngrams[at] == grams.hashes
        pairs = np.unique(grams.text[hit] * ngrams.size + at[hit])
        docs[:] += np.bincount(pairs % ngrams.size, minlength=ngrams.size)

    rejects = Rejects(on_error="fail")
    for path in files:
        digest.update(f"{path.name}\0{file_sha256(path)}\n".encode())
        for _, doc in read_documents(path, rejects):
            batch.append(doc.text)
            total += 1
            if len(batch) >= 1024:
                count(batch)
                batch = []
    if batch:
        count(batch)
    common = ngrams[docs > options.max_docs_per_ngram].astype(np.uint64)
    record = {
        "paths": [str(p) for p in options.common_in],
        "files": len(files),
        "sha256": digest.hexdigest(),
        "documents": total,
        "max_docs_per_ngram": options.max_docs_per_ngram,
        "ngrams": int(common.size),
    }
    return common, record


def _coverable(
    owner: npt.NDArray[np.int64], position: npt.NDArray[np.int64], count: int, n: int
) -> npt.NDArray[np.int64]:
    """Return, per example, how many of its words lie inside one of its usable n-grams."""
    if owner.size == 0:
        return np.zeros(count, dtype=np.int64)
    covered = np.unique(((owner << 17) | position)[:, None] + np.arange(n, dtype=np.int64))
    return np.bincount(covered >> 17, minlength=count).astype(np.int64)


def _examples_table(
    benchmarks: Sequence[BenchmarkRead],
    bench_of: npt.NDArray[np.int64],
    words: npt.NDArray[np.int64],
    coverable: npt.NDArray[np.int64],
    status: npt.NDArray[np.int64],
) -> Any:
    import pyarrow as pa

    examples = [e for b in benchmarks for e in b.examples]
    numbers = [i for b in benchmarks for i in range(len(b.examples))]
    return pa.table(
        {
            "benchmark": pa.array([benchmarks[i].name for i in bench_of], pa.string()),
            "number": pa.array(numbers, pa.int64()),
            "id": pa.array([e.id for e in examples], pa.string()),
            "file": pa.array([e.file for e in examples], pa.string()),
            "row": pa.array([e.row for e in examples], pa.int64()),
            "words": pa.array(words, pa.int64()),
            "coverable": pa.array(coverable, pa.int64()),
            "status": pa.array([STATUSES[s] for s in status], pa.string()),
        }
    )


def _write_table(table: Any, path: Path) -> None:
    write_table(table, path, compression="zstd")


def _record(
    name: str,
    benchmarks: Sequence[BenchmarkRead],
    bench_of: npt.NDArray[np.int64],
    status: npt.NDArray[np.int64],
    options: IndexOptions,
    boiler_files: list[dict[str, Any]],
    arrays: dict[str, npt.NDArray[Any]],
    digests: dict[str, str],
) -> dict[str, Any]:
    entries = []
    for i, bench in enumerate(benchmarks):
        mine = status[bench_of == i]
        counts = {s: int((mine == k).sum()) for k, s in enumerate(STATUSES)}
        entries.append(
            {
                "name": bench.name,
                "files": bench.files,
                "fields": list(bench.fields),
                "id_field": bench.id_field,
                "rows_skipped": {
                    reason: {"count": s.count, "first": s.first}
                    for reason, s in sorted(bench.skipped.items())
                },
                "examples": counts,
            }
        )
    return {
        "format": FORMAT,
        "name": name,
        "normalisation": NORMALISATION,
        "hash": HASH,
        "n": options.n,
        "max_examples_per_ngram": options.max_examples_per_ngram,
        "boilerplate": boiler_files,
        "benchmarks": entries,
        "ngrams": int(arrays["ngrams"].size),
        "common_ngrams": int(arrays["common"].size),
        "files": digests,
    }


def describe(record: dict[str, Any]) -> list[str]:
    """Return one line per benchmark (examples indexed, skipped and why) and a total line."""
    n = record["n"]
    lines = []
    for bench in record["benchmarks"]:
        c = bench["examples"]
        total = sum(c.values()) + sum(s["count"] for s in bench["rows_skipped"].values())
        line = f"{bench['name']}: {c['indexed']:,} of {total:,} examples indexed"
        notes = []
        if c["too_short"]:
            notes.append(f"{c['too_short']:,} shorter than {n} words (not detectable)")
        if c["only_common"]:
            notes.append(f"{c['only_common']:,} made only of common n-grams")
        if c["too_long"]:
            notes.append(f"{c['too_long']:,} longer than {MAX_WORDS:,} words")
        for reason, s in bench["rows_skipped"].items():
            notes.append(f"{s['count']:,} skipped: {reason} (first at {s['first']})")
        lines.append(line + ("; " + "; ".join(notes) if notes else ""))
    lines.append(
        f"{record['ngrams']:,} n-grams (n={n}) indexed, {record['common_ngrams']:,} set aside "
        "as common"
    )
    corpus = record.get("common_in")
    if corpus:
        lines.append(
            f"{corpus['ngrams']:,} of them held by more than {corpus['max_docs_per_ngram']:,} "
            f"of the {corpus['documents']:,} documents in {corpus['files']:,} reference files"
        )
    return lines


def index_benchmarks(
    benchmarks: Sequence[str | tuple[str, str | Path]],
    output: str | Path,
    name: str,
    fields: Sequence[str],
    id_field: str | None = None,
    options: IndexOptions = IndexOptions(),
    *,
    on_error: str = "skip",
) -> IndexSummary:
    """Read benchmarks (`NAME=PATH`, a PATH, or (name, path)) and write their index.

    With `on_error="skip"` bad rows are skipped and counted per reason in the index record;
    with "fail" the first one stops the build naming its file and line.
    """
    options.check()
    reads = []
    for item in benchmarks:
        bench_name, path = (
            parse_benchmark_arg(item) if isinstance(item, str) else (item[0], Path(item[1]))
        )
        check_name(bench_name)
        reads.append(read_benchmark(bench_name, path, fields, id_field, fail=on_error == "fail"))
    return build_index(reads, output, name, options)
