"""Check a mix folder against its manifest: shards, counts, the manifest itself, the inputs.

Every problem is collected (none stops the check): a shard changed, truncated, missing or
not listed; document or token counts that differ; a manifest whose content hash or spec hash
does not match its content; with `inputs=True`, input files changed or gone. A span index
(`index/`, dolmakit.trace) is checked against its `index.json` and that against the manifest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dolmakit.audit.folder import MixFolder, open_mix
from dolmakit.audit.sign import SIGNATURE_NAME, fingerprint, load_public_key, signature_problems
from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.io.compression import compression_of
from dolmakit.io.digest import file_sha256
from dolmakit.io.reader import READ_ERRORS, iter_lines, read_documents
from dolmakit.io.rejects import Rejects
from dolmakit.io.units import counted
from dolmakit.mix.files import parquet_rows
from dolmakit.mix.manifest import (
    MANIFEST_NAME,
    HashedFile,
    Manifest,
    Table,
    content_hash,
    spec_hash,
)
from dolmakit.run.backends import Backend, SerialBackend
from dolmakit.tokenizers import get_tokenizer
from dolmakit.trace.layout import INDEX_DIR, INDEX_MANIFEST, index_files, read_index_manifest

HASH_CHUNK = 1 << 20
# Files a mix folder may hold besides those the manifest hashes.
UNHASHED_FILES = (MANIFEST_NAME, SIGNATURE_NAME, "rejects.jsonl", "card.md", "card.html")
TRUNCATED = "the compressed stream ends early"


@dataclass(frozen=True)
class Problem:
    """One finding: `kind` is a short class (changed, truncated, missing, extra, ...)."""

    kind: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}: {self.detail}"


@dataclass
class VerifyReport:
    """What `verify_mix` checked and found."""

    mix_dir: Path
    name: str
    version: str
    shards: int = 0
    documents: int = 0
    tokens: int = 0
    bytes: int = 0
    inputs_checked: int = 0
    signed_by: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return true when nothing is wrong."""
        return not self.problems

    def summary(self) -> str:
        """Return one line: what was verified, or how many problems were found."""
        what = (
            f"{self.name} v{self.version}: {counted(self.shards, 'shard')},"
            f" {counted(self.documents, 'document')}, {counted(self.tokens, 'token')},"
            f" {counted(self.bytes, 'byte')}"
        )
        if self.inputs_checked:
            what += f", {counted(self.inputs_checked, 'input file')}"
        if self.signed_by:
            what += f", signature of {self.signed_by}"
        if self.ok:
            return f"verified {what}: all match the manifest"
        n = len(self.problems)
        return f"FAILED {what}: {n} problem{'s' if n != 1 else ''}"

    def lines(self) -> list[str]:
        """Return every problem, one per line, then the summary."""
        return [str(p) for p in self.problems] + [self.summary()]


@dataclass(frozen=True)
class _ShardCheck:
    """A file to check: a shard (counted, with its tokens) or a table (its rows)."""

    path: Path
    record: HashedFile
    count: int
    tokens: int | None
    tokenizer: str
    is_shard: bool = True


@dataclass
class _ShardFound:
    problems: list[Problem]
    documents: int
    tokens: int


def _check_shard(job: _ShardCheck) -> _ShardFound:
    """Compare one shard's size, hash and counts with its manifest record."""
    record, path = job.record, job.path
    found = _ShardFound([], 0, 0)
    if not path.is_file():
        found.problems.append(Problem("missing", record.path, "listed in the manifest, not found"))
        return found
    size = path.stat().st_size
    digest = file_sha256(path)
    if not job.is_shard:
        if digest != record.sha256:
            found.problems.append(_hash_problem(record, size))
        # span index text and suffix arrays (.bin) have no rows to count
        return _check_table(job, found) if job.path.suffix == ".parquet" else found
    documents, tokens, error = _count(path, job.tokenizer)
    found.documents, found.tokens = documents, tokens
    if digest != record.sha256:
        found.problems.append(_shard_hash_problem(job, size, documents, tokens, error))
    if error and not error.startswith(TRUNCATED):
        found.problems.append(Problem("unreadable", record.path, error))
    if documents != job.count:
        found.problems.append(
            Problem("count", record.path, f"{documents:,} documents, manifest says {job.count:,}")
        )
    if job.tokens is not None and tokens != job.tokens and not error:
        found.problems.append(
            Problem("count", record.path, f"{tokens:,} tokens, manifest says {job.tokens:,}")
        )
    return found


def _hash_problem(record: HashedFile, size: int) -> Problem:
    """Name a file whose bytes differ from the manifest: smaller is truncated, else changed."""
    if size < record.bytes:
        return Problem("truncated", record.path, f"{size:,} bytes, manifest says {record.bytes:,}")
    grew = f" ({size:,} bytes, manifest says {record.bytes:,})" if size != record.bytes else ""
    return Problem("changed", record.path, f"sha256 differs{grew}")


def _shard_hash_problem(
    job: _ShardCheck, size: int, documents: int, tokens: int, error: str
) -> Problem:
    """Name how a shard whose sha256 differs changed, from what reading it found.

    A compressed shard is called truncated only when its stream ends early: one recompressed
    (another level, other frames) is smaller but reads to its end with the recorded counts.
    """
    record = job.record
    if error.startswith(TRUNCATED):
        return Problem(
            "truncated", record.path, f"{size:,} bytes, manifest says {record.bytes:,}: {error}"
        )
    if compression_of(job.path) == "" or error:
        return _hash_problem(record, size)
    if documents == job.count and tokens == job.tokens:
        return Problem(
            "changed",
            record.path,
            f"compressed bytes differ from the manifest's sha256 ({size:,} bytes, manifest says "
            f"{record.bytes:,}), but the shard decompresses to its end with the recorded "
            f"{documents:,} documents and {tokens:,} tokens: recompressed, or edited without "
            "changing those counts (`dolmakit audit rebuild` compares the content)",
        )
    grew = f" ({size:,} bytes, manifest says {record.bytes:,})" if size != record.bytes else ""
    return Problem("changed", record.path, f"sha256 differs{grew}")


def _check_table(job: _ShardCheck, found: _ShardFound) -> _ShardFound:
    """Check the row count of an index or decisions Parquet file."""
    import pyarrow as pa

    try:
        rows = parquet_rows(job.path)
    except (OSError, pa.ArrowInvalid) as exc:
        found.problems.append(Problem("unreadable", job.record.path, str(exc)))
        return found
    if rows != job.count:
        found.problems.append(
            Problem("count", job.record.path, f"{rows:,} rows, manifest says {job.count:,}")
        )
    return found


def _count(path: Path, tokenizer_name: str) -> tuple[int, int, str]:
    """Return (documents, tokens, error) of a shard; error is '' when it reads cleanly."""
    import msgspec

    tokenizer = get_tokenizer(tokenizer_name)
    documents = tokens = 0
    batch: list[str] = []
    lineno = 0
    try:
        for lineno, line in _lines(path):
            obj = msgspec.json.decode(line)
            text = obj.get("text") if isinstance(obj, dict) else None
            if not isinstance(text, str):
                return documents, tokens, f"line {lineno}: no string 'text'"
            documents += 1
            batch.append(text)
            if len(batch) >= 256:
                tokens += sum(tokenizer.count_batch(batch))
                batch.clear()
        tokens += sum(tokenizer.count_batch(batch))
    except EOFError:
        return documents, tokens, f"{TRUNCATED} after line {lineno}" if lineno else TRUNCATED
    except (
        msgspec.DecodeError,
        UnicodeDecodeError,
        ValueError,
        RecursionError,
        *READ_ERRORS,
    ) as exc:
        return documents, tokens, f"line {lineno + 1}: {exc}"
    return documents, tokens, ""


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    if path.name.endswith(".parquet"):
        import msgspec

        for lineno, doc in read_documents(path, Rejects(on_error="fail")):
            yield lineno, msgspec.json.encode(doc.to_dict())
        return
    for lineno, line in iter_lines(path, 1 << 40):
        if line is None or not line.strip():
            raise ValueError("blank or oversized line")
        yield lineno, line


def verify_mix(
    mix_dir: str | Path,
    *,
    inputs: bool = False,
    data_root: str | Path | None = None,
    backend: Backend | None = None,
    public_key: str | Path | None = None,
) -> VerifyReport:
    """Check every shard, the index and decisions files (and with `inputs`, every input file).

    With `public_key`, the mix must also carry a valid signature by that key (audit/sign.py).

    Any other file in the mix folder (except the manifest, rejects.jsonl, the data card and
    hidden folders) is reported as extra.
    """
    mix = open_mix(mix_dir, data_root)
    root, manifest = mix.folder, mix.manifest
    report = VerifyReport(root, manifest.name, manifest.version)
    report.problems.extend(_manifest_problems(manifest))
    if public_key is not None:
        bad = signature_problems(mix, public_key)
        report.problems.extend(Problem("signature", SIGNATURE_NAME, b) for b in bad)
        if not bad:
            report.signed_by = fingerprint(load_public_key(public_key))
    tokenizer = manifest.tokenizer
    jobs = [
        _ShardCheck(root / s.path, s, s.documents, s.tokens, tokenizer) for s in manifest.shards
    ]
    jobs.extend(
        _ShardCheck(root / t.path, t, t.rows, None, tokenizer, is_shard=False)
        for t in (*manifest.decisions, manifest.index, *_removed_tables(manifest))
    )
    index_records, index_known = _span_index(root, manifest, report)
    jobs.extend(
        _ShardCheck(root / r.path, r, rows, None, tokenizer, is_shard=False)
        for r, rows in index_records
    )
    results: list[_ShardFound | None] = [None] * len(jobs)
    for index, result in (backend or SerialBackend()).map(_check_shard, jobs):
        results[index] = result
    for job, found in zip(jobs, results, strict=True):
        assert found is not None
        report.problems.extend(found.problems)
        if job.is_shard and job.path.is_file():
            report.shards += 1
            report.bytes += job.path.stat().st_size
        report.documents += found.documents
        report.tokens += found.tokens
    known = {Path(j.record.path).as_posix() for j in jobs} | set(UNHASHED_FILES) | index_known
    for path in sorted(storage.list_files(root), key=lambda p: p.parts):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if not index_known and rel.parts[0] == INDEX_DIR:
            continue  # a partial or unreadable span index: one problem says so
        if rel.as_posix() not in known:
            what = "a shard" if rel.name.startswith("shard-") else "a file"
            report.problems.append(Problem("extra", str(rel), f"{what} not listed in the manifest"))
    if inputs:
        for record in (*manifest.inputs.documents, *manifest.inputs.attributes):
            report.inputs_checked += 1
            report.problems.extend(_input_problems(mix, record))
    return report


def _removed_tables(manifest: Manifest) -> list[Table]:
    """Return the tables of documents removed by takedowns (`takedowns/t-NNNNN.parquet`)."""
    return [t.removed for t in manifest.takedowns or ()]


def _span_index(
    root: Path, manifest: Manifest, report: VerifyReport
) -> tuple[list[tuple[HashedFile, int]], set[str]]:
    """Return the files of the mix's span index (`index/index.json`) to check, and its names.

    No index folder: nothing to check. A partial or unreadable index, or one built for
    another version of the mix, is a problem of its own.
    """
    if not (root / INDEX_DIR).is_dir():
        return [], set()
    try:
        index = read_index_manifest(root)
    except DolmakitError as exc:
        report.problems.append(Problem("index", f"{INDEX_DIR}/", str(exc)))
        return [], set()
    if index.get("mix", {}).get("content_sha256") != manifest.content_sha256:
        report.problems.append(
            Problem(
                "index",
                f"{INDEX_DIR}/{INDEX_MANIFEST}",
                f"built for another version of the mix; rebuild: dolmakit index {root}",
            )
        )
    records = [
        (
            HashedFile(path=f"{INDEX_DIR}/{f['path']}", sha256=f["sha256"], bytes=f["bytes"]),
            int(f.get("rows") or 0),
        )
        for f in index_files(index)
    ]
    return records, {f"{INDEX_DIR}/{INDEX_MANIFEST}"}


def _manifest_problems(manifest: Manifest) -> list[Problem]:
    problems = []
    actual = content_hash(manifest)
    if actual != manifest.content_sha256:
        problems.append(
            Problem(
                "manifest",
                MANIFEST_NAME,
                f"content hash {actual[:16]}… does not match the recorded"
                f" {manifest.content_sha256[:16]}…: the manifest was edited",
            )
        )
    if spec_hash(manifest.spec) != manifest.spec_sha256:
        problems.append(
            Problem("manifest", MANIFEST_NAME, "the embedded spec does not match its sha256")
        )
    return problems


def _input_problems(mix: MixFolder, record: HashedFile) -> list[Problem]:
    path = mix.input_path(record.path)
    if not path.is_file():
        return [Problem("input missing", str(path), "recorded in the manifest, not found")]
    size = path.stat().st_size
    if size != record.bytes:
        return [
            Problem("input changed", str(path), f"{size:,} bytes, manifest says {record.bytes:,}")
        ]
    if file_sha256(path) != record.sha256:
        return [Problem("input changed", str(path), "sha256 differs from the manifest")]
    return []
