"""Take documents out of a mix: the next version without them, everything else unchanged.

`take_down` is the library call behind `dolmakit takedown`. A request is a list of document
ids, URLs (`metadata.url`) or domains (a URL's host, or any host under it) and a reason. The
new version is the old one minus every copy of each matched document; nothing is sampled
again. Invariants: every other output document keeps its bytes and its order, and its shard
unless a shard empties (later shards then move up a number); a shard with nothing removed is
copied byte for byte, and so is every decisions file without a removed document. The request
(the sha256 of the list, the reason, the date, what matched and what was removed) goes into
the new manifest's `takedowns`, and the removed documents into `takedowns/t-NNNNN.parquet`.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec
import numpy as np

from dolmakit.errors import ConfigError, DolmakitError
from dolmakit.io import storage
from dolmakit.io.atomic import atomic_open, atomic_path
from dolmakit.io.compression import iter_chunks, open_write
from dolmakit.io.digest import file_sha256
from dolmakit.io.lock import exclusive
from dolmakit.io.reader import read_documents
from dolmakit.io.rejects import Rejects
from dolmakit.io.units import counted
from dolmakit.io.writer import DocumentWriter
from dolmakit.mix.files import read_table, write_table
from dolmakit.mix.licences import document_licence
from dolmakit.mix.manifest import (
    DecisionsFile,
    Funnel,
    LicenceShare,
    Manifest,
    Shard,
    SourceLicences,
    Table,
    Takedown,
    Timing,
    Totals,
    read_manifest,
    write_manifest,
)
from dolmakit.mix.shards import INDEX_ROWS_PER_GROUP, shard_name

Kind = Literal["ids", "urls", "domains"]
KINDS: tuple[Kind, ...] = ("ids", "urls", "domains")
TAKEDOWN_DIR = "takedowns"
OUTCOME = "taken-down"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9-]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EXAMPLES = 5


class TakedownError(DolmakitError):
    """A takedown that cannot be made: a bad list, no match, an output folder in use."""


@dataclass(frozen=True)
class TakedownList:
    """A takedown list as read: its entries (blank and '#' lines left out) and its sha256."""

    path: str
    kind: Kind
    entries: tuple[str, ...]
    sha256: str


def read_takedown_list(path: str | Path, kind: Kind) -> TakedownList:
    """Read one entry a line; TakedownError naming the file and line of a malformed entry.

    URLs must have a scheme and a host; domains are host names (`example.org`). Entries are
    compared as written, except that URL schemes and hosts and domains ignore case.
    """
    if kind not in KINDS:
        raise ConfigError(f"takedown list kind {kind!r}: choose one of {', '.join(KINDS)}")
    loc = storage.location(path)
    try:
        data = loc.read_bytes()
    except OSError as exc:
        raise TakedownError(f"{path}: cannot read the takedown list: {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TakedownError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    entries: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        if kind == "urls":
            normal = normal_url(entry)
            if normal is None:
                raise TakedownError(
                    f"{path}:{lineno}: {entry!r} is not a URL with a scheme and host"
                )
            entry = normal
        elif kind == "domains":
            entry = entry.lower().rstrip(".")
            if not _DOMAIN.match(entry):
                raise TakedownError(f"{path}:{lineno}: {raw.strip()!r} is not a domain name")
        entries.append(entry)
    if not entries:
        raise TakedownError(f"{path}: the takedown list has no entries (one {kind[:-1]} a line)")
    return TakedownList(
        str(path), kind, tuple(dict.fromkeys(entries)), hashlib.sha256(data).hexdigest()
    )


def normal_url(url: str) -> str | None:
    """Return a URL with its scheme and host lower-cased; None when it does not parse."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if not parts.scheme or not host:
        return None
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


def url_host(url: str) -> str | None:
    """Return a URL's host, lower-cased (None when it does not parse)."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


@dataclass
class TakedownResult:
    """What a takedown made: the new version's folder and manifest, what matched."""

    mix_dir: Path
    manifest: Manifest
    record: Takedown
    unmatched: tuple[str, ...] = ()
    removed_examples: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Return a human summary: the request, what it removed, where the new version is."""
        r, m = self.record, self.manifest
        out = [
            f"takedown {r.number} of {m.name} v{r.previous_version} -> v{r.version}: "
            f"{r.entries_matched:,} of {counted(r.entries, r.kind[:-1])} matched; removed "
            f"{counted(r.documents, 'document')} ({counted(r.copies, 'copy', 'copies')} in the"
            f" output, {counted(r.tokens, 'token')}) -> {self.mix_dir}",
            f"  reason: {r.reason}; list sha256 {r.list_sha256}; date {r.date}",
        ]
        if self.unmatched:
            shown = ", ".join(self.unmatched[:EXAMPLES])
            more = (
                f" and {len(self.unmatched) - EXAMPLES} more"
                if len(self.unmatched) > EXAMPLES
                else ""
            )
            out.append(f"  matched nothing: {shown}{more}")
        out.extend(f"  removed: {example}" for example in self.removed_examples)
        out.append(
            f"  {counted(m.totals.documents, 'document')}, {m.totals.tokens:,} tokens in"
            f" {counted(m.totals.shards, 'shard')}; manifest content sha256 {m.content_sha256}"
        )
        return out


def next_version(version: str) -> str:
    """Return the version after `version` (`2` -> `3`, `1.4` -> `1.5`); ConfigError if none."""
    match = re.fullmatch(r"(.*?)(\d+)", version)
    if match is None:
        raise ConfigError(
            f"version {version!r} does not end in a number: give the new version (--new-version)"
        )
    return f"{match.group(1)}{int(match.group(2)) + 1}"


def take_down(
    mix_dir: str | Path,
    request: TakedownList,
    reason: str,
    *,
    out: str | Path | None = None,
    version: str | None = None,
    allow_empty: bool = False,
    on: str | None = None,
) -> TakedownResult:
    """Write the next version of the mix at `mix_dir` without the documents `request` names.

    `out` defaults to the sibling `v<version>` folder; it must be new or empty. `version`
    defaults to `next_version` of the mix's. `on` is the request's date (YYYY-MM-DD, default
    today, UTC). A list matching nothing is a TakedownError unless `allow_empty`, which
    records the request in a new version holding the same documents.
    """
    clock = time.monotonic()
    started = datetime.now(UTC)
    source_dir = storage.location(mix_dir).resolve()
    old = read_manifest(source_dir)
    reason = " ".join(reason.split())
    if not reason:
        raise ConfigError("a takedown needs a reason (--reason TEXT)")
    when = on or started.date().isoformat()
    if not _DATE.match(when) or not _valid_date(when):
        raise ConfigError(f"date {when!r}: expected YYYY-MM-DD")
    new_version = version or next_version(old.version)
    if new_version == old.version:
        raise ConfigError(f"the new version must differ from the mix's ({old.version!r})")
    target = (
        storage.location(out).resolve()
        if out is not None
        else source_dir.parent / f"v{new_version}"
    )
    if target == source_dir:
        raise TakedownError(f"{target}: the new version cannot replace the mix it is made from")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise TakedownError(
            f"{target}: the output folder is not empty; give --out a new or empty folder"
        )

    index = read_table(source_dir / old.index.path)
    cols = {name: index.column(name).to_pylist() for name in ("source", "path", "line", "id")}
    matched_by, matched_entries = _match(source_dir, old, request, cols)
    if not matched_by and not allow_empty:
        raise TakedownError(
            f"{request.path}: none of its {counted(len(request.entries), request.kind[:-1])}"
            f" matches a document of {old.name} v{old.version}; nothing taken down (--allow-empty"
            " records the request anyway)"
        )
    keys = list(zip(cols["source"], cols["path"], cols["line"], strict=True))
    removed_keys = {keys[i]: entry for i, entry in sorted(matched_by.items())}
    facts = {
        "number": len(old.takedowns or ()) + 1,
        "version": new_version,
        "kind": request.kind,
        "list_file": Path(request.path).name,
        "list_sha256": request.sha256,
        "entries": len(request.entries),
        "entries_matched": len(matched_entries),
        "reason": reason,
        "date": when,
    }
    target.mkdir(parents=True, exist_ok=True)
    with exclusive(target, f"takedown {facts['number']} of {old.name} v{old.version}"):
        manifest, record = _write_version(
            source_dir, target, old, index, removed_keys, facts, started=started, clock=clock
        )
    unmatched = tuple(e for e in request.entries if e not in matched_entries)
    examples = [
        f"{cols['id'][i]}  ({source}, {path}:{line})"
        for (source, path, line), i in list(_first_rows(removed_keys, keys).items())[:EXAMPLES]
    ]
    return TakedownResult(target, manifest, record, unmatched, examples)


def _first_rows(
    removed_keys: dict[tuple[str, str, int], str], keys: list[tuple[str, str, int]]
) -> dict[tuple[str, str, int], int]:
    """Return the first index row of each removed document, in output order."""
    first: dict[tuple[str, str, int], int] = {}
    for i, key in enumerate(keys):
        if key in removed_keys and key not in first:
            first[key] = i
    return first


def _valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _match(
    mix_dir: Path, manifest: Manifest, request: TakedownList, cols: dict[str, list[Any]]
) -> tuple[dict[int, str], set[str]]:
    """Return {index row: the entry it matched} for the documents the list names, and the
    entries that matched any (a domain and one under it may both match a document; the
    most specific is the one recorded for it)."""
    wanted = set(request.entries)
    if request.kind == "ids":
        hits = {i: doc_id for i, doc_id in enumerate(cols["id"]) if doc_id in wanted}
        return hits, set(hits.values())
    found: dict[int, str] = {}
    entries: set[str] = set()
    for i, (_, _, doc) in enumerate(_documents(mix_dir, manifest)):
        url = ((doc.get("metadata") or {}) if isinstance(doc.get("metadata"), dict) else {}).get(
            "url"
        )
        if not isinstance(url, str):
            continue
        if request.kind == "urls":
            normal = normal_url(url)
            if normal is not None and normal in wanted:
                found[i] = normal
                entries.add(normal)
            continue
        host = url_host(url)
        labels = host.split(".") if host else []
        for k in range(len(labels)):
            suffix = ".".join(labels[k:])
            if suffix in wanted:
                found.setdefault(i, suffix)
                entries.add(suffix)
    return found, entries


def _documents(mix_dir: Path, manifest: Manifest) -> Iterator[tuple[int, bytes, dict[str, Any]]]:
    """Yield (shard number, line bytes, decoded document) for every output row, in order."""
    decode = msgspec.json.Decoder().decode
    for number, shard in enumerate(manifest.shards):
        for line in _shard_lines(mix_dir / shard.path):
            yield number, line, decode(line)


def _shard_lines(path: Path) -> Iterator[bytes]:
    """Yield a shard's document lines as stored (without the newline); Parquet re-encoded."""
    if path.name.endswith(".parquet"):
        for _, doc in read_documents(path, Rejects(on_error="fail")):
            yield msgspec.json.encode(doc.to_dict())
        return
    rest = b""
    for chunk in iter_chunks(path):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from (line for line in lines if line)
    if rest:
        yield rest


def _write_version(
    source_dir: Path,
    target: Path,
    old: Manifest,
    index: Any,
    removed_keys: dict[tuple[str, str, int], str],
    facts: dict[str, Any],
    *,
    started: datetime,
    clock: float,
) -> tuple[Manifest, Takedown]:
    """Write shards, index, decisions and the removed table; return the sealed manifest.

    `removed_keys` maps (source, path, line) of each removed document to the entry that
    matched it; `facts` holds the request's fields of the Takedown record.
    """
    import pyarrow as pa

    number = int(facts["number"])
    keys = zip(
        index.column("source").to_pylist(),
        index.column("path").to_pylist(),
        index.column("line").to_pylist(),
        strict=True,
    )
    removed = np.array([k in removed_keys for k in keys], dtype=bool)

    shard_col = np.asarray(index.column("shard").to_numpy(), dtype=np.int64)
    tokens_col = np.asarray(index.column("tokens").to_numpy(), dtype=np.int64)
    sources_col = index.column("source").to_pylist()
    stated = {s.name: s.licence for s in old.sources}
    licence_removed: dict[str, Counter[str]] = {}
    licence_tokens: dict[str, Counter[str]] = {}
    shards: list[Shard] = []
    new_shard = np.full(len(shard_col), -1, dtype=np.int32)
    new_row = np.zeros(len(shard_col), dtype=np.int64)
    removed_rows = np.flatnonzero(removed)
    for number_old, shard in enumerate(old.shards):
        in_shard = np.flatnonzero(shard_col == number_old)
        gone = removed[in_shard]
        src = source_dir / shard.path
        if gone.all() and len(in_shard):
            _count_removed_licences(
                src, gone, in_shard, tokens_col, stated, licence_removed, licence_tokens
            )
            continue
        name = shard_name(len(shards), _format_of(shard.path))
        dst = target / name
        if not gone.any():
            _copy(src, dst)
            sha, size = shard.sha256, shard.bytes
        else:
            _count_removed_licences(
                src, gone, in_shard, tokens_col, stated, licence_removed, licence_tokens
            )
            _rewrite_shard(src, dst, gone)
            sha, size = file_sha256(dst), dst.stat().st_size
        kept = in_shard[~gone]
        new_shard[kept] = len(shards)
        new_row[kept] = np.arange(1, len(kept) + 1)
        shards.append(
            Shard(
                path=name,
                sha256=sha,
                bytes=size,
                documents=len(kept),
                tokens=int(tokens_col[kept].sum()),
                sources=dict(sorted(Counter(sources_col[i] for i in kept.tolist()).items())),
            )
        )
    keep = ~removed
    kept_index = index.filter(pa.array(keep)).set_column(
        0, "shard", pa.array(new_shard[keep], pa.int32())
    )
    kept_index = kept_index.set_column(1, "row", pa.array(new_row[keep], pa.int64()))
    write_table(kept_index, target / "index.parquet", compression="zstd",
                row_group_size=INDEX_ROWS_PER_GROUP)  # fmt: skip
    decisions = tuple(
        _decisions(source_dir, target, d, removed_keys, number) for d in old.decisions
    )
    for previous in old.takedowns or ():
        _copy(source_dir / previous.removed.path, target / previous.removed.path)
    removed_path = f"{TAKEDOWN_DIR}/t-{number:05d}.parquet"
    old_paths = [old.shards[int(s)].path for s in shard_col[removed_rows].tolist()]
    removed_table = index.take(pa.array(removed_rows, pa.int64())).drop_columns(["shard"])
    removed_table = removed_table.append_column("shard", pa.array(old_paths, pa.string()))
    matched = [
        removed_keys[(r["source"], r["path"], r["line"])]
        for r in removed_table.select(["source", "path", "line"]).to_pylist()
    ]
    removed_table = removed_table.append_column("matched", pa.array(matched, pa.string()))
    write_table(removed_table, target / removed_path, compression="zstd")
    if old.rejects.path is not None and (source_dir / old.rejects.path).is_file():
        _copy(source_dir / old.rejects.path, target / old.rejects.path)
    sources = _sources(old, removed, removed_keys, sources_col, tokens_col, index)
    record = Takedown(
        **facts,
        previous_version=old.version,
        previous_sha256=old.content_sha256,
        documents=len(removed_keys),
        copies=len(removed_rows),
        tokens=int(tokens_col[removed_rows].sum()),
        removed=Table(
            path=removed_path,
            sha256=file_sha256(target / removed_path),
            bytes=(target / removed_path).stat().st_size,
            rows=len(removed_rows),
        ),
    )
    index_path = target / "index.parquet"
    from dolmakit import __version__  # (lazy: the package imports the stages)

    manifest = msgspec.structs.replace(
        old,
        version=str(facts["version"]),
        dolmakit_version=__version__,
        totals=Totals(
            documents=sum(s.documents for s in shards),
            tokens=sum(s.tokens for s in shards),
            bytes=sum(s.bytes for s in shards),
            shards=len(shards),
        ),
        sources=sources,
        shards=tuple(shards),
        index=Table(
            path="index.parquet",
            sha256=file_sha256(index_path),
            bytes=index_path.stat().st_size,
            rows=int(keep.sum()),
        ),
        decisions=decisions,
        licences=_licences(old.licences, licence_removed, licence_tokens),
        takedowns=(*(old.takedowns or ()), record),
        timing=Timing(
            started=started.isoformat(timespec="seconds"),
            finished=datetime.now(UTC).isoformat(timespec="seconds"),
            seconds=round(time.monotonic() - clock, 3),
            workers=1,
            backend="serial",
        ),
    )
    return write_manifest(target, manifest), record


def _format_of(path: str) -> str:
    return path.split(".", 1)[1]


def _copy(src: Path, dst: Path) -> None:
    with storage.open_read(src) as fin, atomic_open(dst) as fout:
        while chunk := fin.read(1 << 20):
            fout.write(chunk)


def _rewrite_shard(src: Path, dst: Path, gone: Any) -> None:
    """Write `src` to `dst` without the rows marked in `gone`; kept lines keep their bytes."""
    drop = gone.tolist()
    if src.name.endswith(".parquet"):
        writer = DocumentWriter(dst)
        try:
            for (_, doc), skip in zip(
                read_documents(src, Rejects(on_error="fail")), drop, strict=True
            ):
                if not skip:
                    writer.write(doc)
        except BaseException:
            writer.abort()
            raise
        writer.close()
        return
    with atomic_path(dst) as tmp, open_write(tmp, kind_of=dst) as out:
        batch: list[bytes] = []
        for line, skip in zip(_shard_lines(src), drop, strict=True):
            if not skip:
                batch.append(line + b"\n")
            if len(batch) >= 4096:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch))


def _count_removed_licences(
    src: Path,
    gone: Any,
    in_shard: Any,
    tokens: Any,
    stated: dict[str, str],
    documents: dict[str, Counter[str]],
    token_counts: dict[str, Counter[str]],
) -> None:
    """Add the removed rows of one shard to per-source licence counts (documents, tokens)."""
    decode = msgspec.json.Decoder().decode
    for line, skip, row in zip(_shard_lines(src), gone.tolist(), in_shard.tolist(), strict=True):
        if not skip:
            continue
        doc = decode(line)
        meta = doc.get("metadata") or {}
        source = str((meta.get("provenance") or {}).get("source", ""))
        licence = document_licence(doc, stated.get(source, ""))
        documents.setdefault(source, Counter())[licence] += 1
        token_counts.setdefault(source, Counter())[licence] += int(tokens[row])


def _licences(
    old: tuple[SourceLicences, ...] | None,
    documents: dict[str, Counter[str]],
    tokens: dict[str, Counter[str]],
) -> tuple[SourceLicences, ...] | None:
    """Return the licences section less the removed documents (None stays None)."""
    if old is None:
        return None
    out = []
    for entry in old:
        gone_docs, gone_tokens = (
            documents.get(entry.source, Counter()),
            tokens.get(entry.source, Counter()),
        )
        left = [
            (x.licence, x.documents - gone_docs[x.licence], x.tokens - gone_tokens[x.licence])
            for x in entry.licences
        ]
        left = [item for item in left if item[1] > 0]
        total = sum(t for _, _, t in left)
        left.sort(key=lambda item: (-item[2], item[0]))
        out.append(
            SourceLicences(
                source=entry.source,
                licences=tuple(
                    LicenceShare(
                        licence=name, documents=d, tokens=t, share=t / total if total else 0.0
                    )
                    for name, d, t in left
                ),
            )
        )
    return tuple(out)


def _decisions(
    source_dir: Path,
    target: Path,
    record: DecisionsFile,
    removed_keys: dict[tuple[str, str, int], str],
    number: int,
) -> DecisionsFile:
    """Copy one decisions file, marking its removed documents `taken-down` by `number`."""
    import pyarrow as pa

    src, dst = source_dir / record.path, target / record.path
    if not any(path == record.input for _, path, _ in removed_keys):
        _copy(src, dst)
        return record
    table = read_table(src)
    hit = [
        (s, p, ln) in removed_keys
        for s, p, ln in zip(
            table.column("source").to_pylist(),
            table.column("path").to_pylist(),
            table.column("line").to_pylist(),
            strict=True,
        )
    ]
    outcome = [
        OUTCOME if h else o for h, o in zip(hit, table.column("outcome").to_pylist(), strict=True)
    ]
    repeats = [0 if h else r for h, r in zip(hit, table.column("repeats").to_pylist(), strict=True)]
    before = (
        table.column("takedown").to_pylist()
        if "takedown" in table.column_names
        else [None] * table.num_rows
    )
    takedown = [number if h else b for h, b in zip(hit, before, strict=True)]
    table = table.set_column(
        table.column_names.index("outcome"), "outcome", pa.array(outcome, pa.string())
    )
    table = table.set_column(
        table.column_names.index("repeats"), "repeats", pa.array(repeats, pa.int32())
    )
    column = pa.array(takedown, pa.int32())
    if "takedown" in table.column_names:
        table = table.set_column(table.column_names.index("takedown"), "takedown", column)
    else:
        table = table.append_column("takedown", column)
    write_table(table, dst, compression="zstd")
    return msgspec.structs.replace(record, sha256=file_sha256(dst), bytes=dst.stat().st_size)


def _sources(
    old: Manifest,
    removed: Any,
    removed_keys: dict[tuple[str, str, int], str],
    sources_col: list[str],
    tokens_col: Any,
    index: Any,
) -> tuple[Any, ...]:
    """Return the source sections with their funnels less the removed documents."""
    copies = Counter(sources_col[i] for i in np.flatnonzero(removed).tolist())
    gone_tokens: Counter[str] = Counter()
    for i in np.flatnonzero(removed).tolist():
        gone_tokens[sources_col[i]] += int(tokens_col[i])
    documents = Counter(source for source, _, _ in removed_keys)
    per_key = Counter(
        (s, p, ln)
        for s, p, ln, gone in zip(
            sources_col,
            index.column("path").to_pylist(),
            index.column("line").to_pylist(),
            removed.tolist(),
            strict=True,
        )
        if gone
    )
    repeated = Counter(key[0] for key, n in per_key.items() if n > 1)
    total = int(tokens_col[~removed].sum())
    out = []
    for s in old.sources:
        f = s.funnel
        emitted = f.tokens_emitted - gone_tokens[s.name]
        funnel = msgspec.structs.replace(
            f,
            repeated=f.repeated - repeated[s.name],
            emitted_documents=f.emitted_documents - copies[s.name],
            tokens_emitted=emitted,
            taken_down=f.taken_down + documents[s.name],
        )
        assert isinstance(funnel, Funnel)
        out.append(
            msgspec.structs.replace(
                s, funnel=funnel, realised_share=emitted / total if total else 0.0
            )
        )
    return tuple(out)


def replay_takedowns(base_dir: str | Path, recorded: Manifest, tables: Path, out: Path) -> Path:
    """Apply the takedowns `recorded` lists, in order, to the mix at `base_dir`; return the last.

    The removed documents are read from the `takedowns/` tables under `tables` (the mix that
    recorded them); each version goes to `out/v<version>`. This is how `audit rebuild` makes a
    taken-down version again from its spec.
    """
    current = storage.location(base_dir)
    for record in recorded.takedowns or ():
        old = read_manifest(current)
        table = read_table(
            tables / record.removed.path, columns=["source", "path", "line", "matched"]
        )
        rows = table.to_pylist() if table.num_rows else []
        removed_keys = {(r["source"], r["path"], r["line"]): r["matched"] for r in rows}
        facts = {
            name: getattr(record, name)
            for name in (
                "number", "version", "kind", "list_file", "list_sha256", "entries",
                "entries_matched", "reason", "date",
            )
        }  # fmt: skip
        target = out / f"v{record.version}"
        target.mkdir(parents=True, exist_ok=True)
        index = read_table(current / old.index.path)
        _write_version(
            current, target, old, index, removed_keys, facts,
            started=datetime.now(UTC), clock=time.monotonic(),
        )  # fmt: skip
        current = target
    return current
