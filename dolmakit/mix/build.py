"""Build a mix: validate the spec, run the two passes, merge into shards, write the manifest.

`build_mix` is the library call behind `dolmakit mix`. A finished version is never rebuilt:
the same spec is a no-op, another spec is refused unless `force` (a draft, recorded as such).
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import numpy as np

from dolmakit import __version__
from dolmakit.errors import ConfigError, DolmakitError
from dolmakit.io import storage
from dolmakit.io.atomic import atomic_open
from dolmakit.io.digest import file_sha256
from dolmakit.io.duplicate_ids import DuplicateIds, IdTable, find_duplicate_ids
from dolmakit.io.lock import exclusive
from dolmakit.io.paths import split_dataset_path
from dolmakit.io.rejects import REJECTS_FILE, OnError, rejects_file
from dolmakit.io.units import counted
from dolmakit.mix.contamination import contamination_record
from dolmakit.mix.evaluate import compile_filter, resolve
from dolmakit.mix.files import shard_files
from dolmakit.mix.inputs import (
    InputFile,
    check_output_outside_inputs,
    outside_root_warnings,
    relative,
    resolve_inputs,
)
from dolmakit.mix.licences import (
    UNSTATED,
    count_licences,
    document_licence_warnings,
    licence_shares,
    spec_licence_warnings,
)
from dolmakit.mix.manifest import (
    FORMAT,
    MANIFEST_NAME,
    AttributeFile,
    DecisionsFile,
    DocumentFile,
    Funnel,
    Inputs,
    Location,
    Manifest,
    RejectedLines,
    Shard,
    SourceLicences,
    SourceSection,
    Table,
    Timing,
    Totals,
    read_manifest,
    write_manifest,
)
from dolmakit.mix.optout import optout_record
from dolmakit.mix.output import iter_output_metadata
from dolmakit.mix.plan import MixPlan, plan_mix
from dolmakit.mix.sampling import BUCKETS
from dolmakit.mix.shards import merge_runs
from dolmakit.mix.spec import MixSpec, load_spec, spec_from_canonical
from dolmakit.mix.stage import (
    JobConfig,
    PassOneStats,
    PassTwoStats,
    load_pass1,
    pass1,
    pass2,
)
from dolmakit.run.options import RunOptions, or_default
from dolmakit.run.runner import RunSummary, ShardFn, ShardJob, run_shards
from dolmakit.taggers.tokens import DEFAULT_TOKENIZER
from dolmakit.tokenizers import TOKENIZER_NAMES, get_tokenizer

S = TypeVar("S")

WORK_DIR = ".work"


@dataclass
class MixResult:
    """What a build produced (or found already built)."""

    mix_dir: Path
    manifest: Manifest
    already_built: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def manifest_path(self) -> Path:
        """Return the path of manifest.json."""
        return self.mix_dir / MANIFEST_NAME

    def lines(self) -> list[str]:
        """Return a human summary: per source funnel and shares, then the output."""
        m = self.manifest
        head = "already built, nothing to do: " if self.already_built else ""
        out = [
            f"{head}mix {m.name} v{m.version}: {counted(m.totals.documents, 'document')}, "
            f"{m.totals.tokens:,} tokens ({m.tokenizer}) in {counted(m.totals.shards, 'shard')}"
            f" -> {self.mix_dir}"
        ]
        out.extend(self._read_lines())
        for s in m.sources:
            f = s.funnel
            want = f"{s.declared_share:.2%}" if s.declared_share is not None else f"rate {s.rate:g}"
            bad = f" ({f.rejected_lines:,} rejected)" if f.rejected_lines else ""
            if f.duplicate_ids:
                bad += f" ({f.duplicate_ids:,} with a repeated id)"
            out.append(
                f"  {s.name}: read {f.read + f.rejected_lines:,}{bad}, passed {f.passed:,},"
                f" sampled {f.sampled:,}, emitted {f.emitted_documents:,} docs / "
                f"{f.tokens_emitted:,} tokens; share {s.realised_share:.2%} (declared {want})"
            )
        out.extend(f"  warning: {w}" for w in m.warnings)
        out.append(f"  manifest {self.manifest_path} content sha256 {m.content_sha256}")
        return out

    def _read_lines(self) -> list[str]:
        """Return the balance every stage prints: lines read = valid documents + rejected."""
        m = self.manifest
        valid = sum(s.funnel.read for s in m.sources)
        rejects = m.rejects
        out = [
            f"  {valid + rejects.lines:,} documents read = {valid:,} valid + "
            f"{rejects.lines:,} rejected ({counted(len(m.inputs.documents), 'input file')})"
        ]
        out.extend(f"  rejected: {n:,} {reason}" for reason, n in rejects.by_reason.items())
        if rejects.path is not None:
            out.append(f"  rejected lines listed in {self.mix_dir / rejects.path}")
        return out


def build_mix(
    spec_path: str | Path,
    *,
    data_root: str | Path | None = None,
    output: str | Path | None = None,
    run_options: RunOptions | None = None,
    force: bool = False,
    work_dir: str | Path | None = None,
) -> MixResult:
    """Build the mix a spec describes into `<output>/<name>/v<version>/` and return its manifest.

    `data_root` (default: the spec's folder) is where document globs are matched; `output`
    (default: the spec's `output.root`, relative to the spec's folder) is where mixes go.
    Temporary files (and the records that let an interrupted build resume) go to
    `<mix>/.work`, or to `<work_dir>/<name>/v<version>`; they are removed at the end.
    Every location may be a local path or an s3:// URI.
    """
    spec = load_spec(spec_path)
    root = storage.location(data_root) if data_root is not None else spec.path.parent
    work = storage.location(work_dir) if work_dir is not None else None
    return _build(spec, root, _output_root(spec, output), or_default(run_options), force, work)


def build_from_spec_dict(
    spec: dict[str, Any],
    data_root: str | Path,
    output: str | Path,
    *,
    spec_file: str = "mix.yaml",
    run_options: RunOptions | None = None,
) -> MixResult:
    """Build a mix from a canonical spec (a manifest's `spec`) into `<output>/<name>/v<version>/`.

    This is how a mix is rebuilt from its manifest: the same canonical spec, data root and
    `spec_file` (the manifest's, it is content) give the same manifest content and bytes.
    """
    parsed = spec_from_canonical(spec, Path(spec_file))
    root, out = storage.location(data_root), storage.location(output)
    return _build(parsed, root, out, or_default(run_options), False)


def _build(
    spec: MixSpec,
    root: Path,
    mix_root: Path,
    options: RunOptions,
    force: bool,
    work_root: Path | None = None,
) -> MixResult:
    """Build `spec` on the data under `root` into `<mix_root>/<name>/v<version>/`.

    The build holds the lock of the mix folder (and of an outside work folder): a second build
    into the same folder is turned away naming the first.
    """
    mix_dir = (mix_root / spec.name / f"v{spec.version}").resolve()
    work = mix_dir / WORK_DIR
    if work_root is not None:
        work = work_root.resolve() / spec.name / f"v{spec.version}"
    inputs = resolve_inputs(spec, root)
    check_output_outside_inputs(spec, inputs, root, mix_dir)
    if not force and (existing := _existing(mix_dir, spec.sha256(), force)) is not None:
        return _already_built(existing, inputs, mix_dir)  # (a finished mix may be read-only)
    storage.make_folder(mix_dir, "the mix")
    what = f"mix build of {spec.name} v{spec.version}"
    with exclusive(mix_dir, what):
        existing = _existing(
            mix_dir, spec.sha256(), force
        )  # (again: another run may have built it)
        if existing is not None:
            return _already_built(existing, inputs, mix_dir)
        storage.make_folder(work, "the work folder")
        outside = not work.is_relative_to(mix_dir)
        with exclusive(work, what) if outside else nullcontext():
            return _build_locked(spec, root, inputs, mix_dir, work, options, force)


def _already_built(manifest: Manifest, inputs: list[InputFile], mix_dir: Path) -> MixResult:
    _check_unchanged(manifest, inputs, mix_dir)
    return MixResult(mix_dir, manifest, already_built=True, warnings=list(manifest.warnings))


def _build_locked(
    spec: MixSpec,
    root: Path,
    inputs: list[InputFile],
    mix_dir: Path,
    work: Path,
    options: RunOptions,
    force: bool,
) -> MixResult:
    """Build `spec` into `mix_dir` (whose lock this run holds), with temporaries in `work`."""
    started = datetime.now(UTC)
    clock = time.monotonic()
    spec_hash = spec.sha256()
    _check_tokenizer(spec, inputs)
    licence_warnings = spec_licence_warnings(
        [
            (s.name, s.licence, spec.where(f"sources[{i}].licence"))
            for i, s in enumerate(spec.sources)
        ],
        spec.allowed_licences,
    )
    backend = options.backend
    states = _states(inputs)
    configs = [_job_config(spec, f, work) for f in inputs]
    jobs1 = [
        ShardJob(f"p1-{f.index:05d}", f.path, (c.pass1,), c)
        for f, c in zip(inputs, configs, strict=True)
    ]
    summary1 = _run_largest_first(
        "mix pass 1",
        jobs1,
        pass1,
        record_dir=work / "pass1-records",
        config={"spec": spec_hash, "inputs": states},
        stats=PassOneStats,
        options=options,
    )
    duplicates = _duplicate_ids(inputs, configs, options.on_error)
    warnings = _check_names(spec, inputs, summary1) + _missing_tokens(spec, inputs, summary1)
    warnings.extend(w for w in [duplicates.message()] if w is not None)
    warnings.extend(outside_root_warnings(spec, root))
    warnings.extend(w for w in licence_warnings if "no licence given" not in w)
    plan = _plan(spec, inputs, summary1, configs)
    warnings.extend(plan.warnings)
    jobs2 = []
    for f, c in zip(inputs, configs, strict=True):
        cfg = _with_rate(c, plan.sources[f.source_index].rate, spec.output.drop_fields)
        outputs = (
            work / "runs" / f"{f.index:05d}.jsonl",
            _decisions_path(mix_dir, f.index),
            work / "runs" / f"{f.index:05d}.npz",
        )
        jobs2.append(ShardJob(f"p2-{f.index:05d}", f.path, outputs, cfg))
    summary2 = _run_largest_first(
        "mix pass 2",
        jobs2,
        pass2,
        record_dir=work / "pass2-records",
        config={"spec": spec_hash, "inputs": states, "rates": [p.rate for p in plan.sources]},
        stats=PassTwoStats,
        options=options,
    )
    shards = merge_runs(
        [(job.outputs[0], job.outputs[2]) for job in jobs2],
        mix_dir,
        spec.output.format,
        spec.output.shard_size,
        [f.source for f in inputs],
        [f.rel for f in inputs],
        backend,
        work,
    )
    rejects = _copy_rejects(summary1, mix_dir, root.resolve())
    licences = licence_section(spec, mix_dir, shards, warnings)
    timing = Timing(
        started=started.isoformat(timespec="seconds"),
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=round(time.monotonic() - clock, 3),
        workers=backend.workers,
        backend=backend.name,
    )
    location = Location(data_root=str(root.resolve()))
    manifest = _manifest(
        spec,
        spec_hash,
        force,
        inputs,
        summary1,
        summary2,
        plan,
        shards,
        mix_dir,
        warnings=sorted(warnings),
        rejects=rejects,
        timing=timing,
        location=location,
        duplicate_ids=duplicates.by_source,
    )
    if licences is not None:
        manifest = msgspec.structs.replace(manifest, licences=licences)
    if contamination := contamination_record(spec, inputs, root):
        manifest = msgspec.structs.replace(manifest, contamination=tuple(contamination))
    if optout := optout_record(spec, inputs, root):
        manifest = msgspec.structs.replace(manifest, optout=tuple(optout))
    changed = [a[0] for a, b in zip(states, _states(inputs), strict=True) if a != b]
    if changed:
        raise DolmakitError(
            f"{changed[0]}: changed or deleted while the mix was built"
            + (f" (and {len(changed) - 1} more inputs)" if len(changed) > 1 else "")
            + "; no manifest was written: rerun once the inputs no longer change"
        )
    manifest = write_manifest(mix_dir, manifest)
    storage.delete_tree(work)
    return MixResult(mix_dir, manifest, warnings=list(manifest.warnings))


def licence_section(
    spec: MixSpec, mix_dir: Path, shards: list[Shard], warnings: list[str]
) -> tuple[SourceLicences, ...] | None:
    """Count output tokens per source and licence; None when no licence is stated anywhere.

    Appends the warnings about licences documents carry to `warnings`.
    """
    stated = {s.name: s.licence for s in spec.sources}
    counts = count_licences(iter_output_metadata(mix_dir, shards), stated)
    if not any(stated.values()) and all(set(per) == {UNSTATED} for per in counts.values()):
        return None
    warnings.extend(document_licence_warnings(counts, stated, spec.allowed_licences))
    return licence_shares(counts, [s.name for s in spec.sources])


def _check_tokenizer(spec: MixSpec, inputs: list[InputFile]) -> None:
    """Fail before any work when the tokenizer is unknown, or a tokens run used another one.

    The tokenizer is loaded (a few seconds) only when some source counts tokens; a source
    reading them from a `tokens` attribute counts only documents a span replacement changed.
    A `tokens` name pointing at dolmakit's tokens tagger is checked against the run's record
    (`attributes/<run>/.dolmakit/run.json`): counts of another tokenizer are refused.
    """
    if any(s.tokens is None for s in spec.sources) or not (
        spec.tokenizer in TOKENIZER_NAMES or Path(spec.tokenizer).expanduser().is_file()
    ):
        get_tokenizer(spec.tokenizer)
    for i, source in enumerate(spec.sources):
        if source.tokens is None:
            continue

        datasets = {split_dataset_path(f.path)[0] for f in inputs if f.source_index == i}
        for key in resolve(source.tokens, source.attributes).keys:
            parts = key.split("__")
            if len(parts) != 3 or parts[1] != "tokens":
                continue
            for dataset in sorted(datasets):
                used = _tagger_tokenizer(dataset / "attributes" / parts[0])
                if used is not None and used != spec.tokenizer:
                    raise spec.error(
                        f"sources[{i}].tokens",
                        f"run {parts[0]!r} counted tokens with {used!r}, but the spec's "
                        f"tokenizer is {spec.tokenizer!r}: tag again with tokenizer "
                        f"{spec.tokenizer}, or remove 'tokens' to count them here",
                    )


def _tagger_tokenizer(run_dir: Path) -> str | None:
    """Return the tokenizer a run's `tokens` tagger used (None when not recorded)."""
    import json

    record = run_dir / ".dolmakit" / "run.json"
    if not record.is_file():
        return None
    try:
        taggers = json.loads(record.read_bytes().decode("utf-8")).get("taggers", [])
    except (OSError, ValueError, AttributeError, DolmakitError):
        return None
    for tagger in taggers:
        if isinstance(tagger, dict) and tagger.get("name") == "tokens":
            return str((tagger.get("params") or {}).get("tokenizer", DEFAULT_TOKENIZER))
    return None


def _missing_tokens(
    spec: MixSpec, inputs: list[InputFile], summary: RunSummary[PassOneStats]
) -> list[str]:
    """Warn about sources whose tokens attribute lacked a value for some documents."""
    missing = [0] * len(spec.sources)
    for f, result in zip(inputs, summary.results, strict=True):
        missing[f.source_index] += result.stats.tokens_missing
    return [
        f"source {s.name!r}: {n:,} passing documents have no {s.tokens!r} value; their tokens "
        f"were counted with {spec.tokenizer}"
        for s, n in zip(spec.sources, missing, strict=True)
        if n
    ]


def _run_largest_first(
    stage: str, jobs: list[ShardJob[JobConfig]], fn: ShardFn[JobConfig, S], **kw: Any
) -> RunSummary[S]:
    """Run jobs biggest input first (workers finish together); results in `jobs` order."""
    ordered = sorted(jobs, key=lambda job: (-job.input.stat().st_size, job.key))
    summary = run_shards(stage, ordered, fn, **kw)
    by_key = {result.key: result for result in summary.results}
    summary.results = [by_key[job.key] for job in jobs]
    return summary


def _output_root(spec: MixSpec, output: str | Path | None) -> Path:
    if output is not None:
        return storage.location(output)
    if spec.output.root is None:
        raise ConfigError(
            f"{spec.path}: no output folder: give --output or set output.root in the spec"
        )
    root = storage.location(spec.output.root)
    return root if root.is_absolute() else spec.path.parent / root


def _existing(mix_dir: Path, spec_hash: str, force: bool) -> Manifest | None:
    """Return the manifest of an identical finished build; refuse a different one."""
    if not (mix_dir / MANIFEST_NAME).is_file():
        return None
    manifest = read_manifest(mix_dir)
    if manifest.spec_sha256 == spec_hash and not force:
        return manifest
    if not force:
        raise DolmakitError(
            f"{mix_dir} already holds mix {manifest.name} v{manifest.version} "
            f"built from another spec (sha256 {manifest.spec_sha256[:12]}..., this "
            f"spec {spec_hash[:12]}...): a released version is never changed; bump 'version' "
            "in the spec, or use --force to overwrite a draft"
        )
    for path in [mix_dir / MANIFEST_NAME, mix_dir / "index.parquet", mix_dir / "rejects.jsonl"]:
        path.unlink(missing_ok=True)  # (rejects.jsonl: where earlier builds listed them)
    rejects_file(mix_dir).unlink(missing_ok=True)
    storage.delete_tree(mix_dir / "decisions")
    storage.delete_tree(mix_dir / WORK_DIR)
    for shard in shard_files(mix_dir):
        shard.unlink()
    return None


def _check_unchanged(manifest: Manifest, inputs: list[InputFile], mix_dir: Path) -> None:
    recorded = {d.path: d.bytes for d in manifest.inputs.documents}
    current = {f.rel: f.path.stat().st_size for f in inputs}
    if recorded != current:
        raise DolmakitError(
            f"{mix_dir} was built from the same spec but the input files differ now "
            "(files added, removed or resized): bump 'version' to build the new data"
        )


def _states(inputs: list[InputFile]) -> list[Any]:
    out: list[list[Any]] = []
    for f in inputs:
        for p in (f.path, *f.attributes):
            try:
                st = p.stat()
            except FileNotFoundError:  # deleted during the build: a change like any other
                out.append([str(p), None, None])
                continue
            out.append([str(p), st.st_size, st.st_mtime_ns])
    return out


def _job_config(spec: MixSpec, f: InputFile, work: Path) -> JobConfig:
    source = spec.sources[f.source_index]
    return JobConfig(
        index=f.index,
        source=f.source,
        rel=f.rel,
        runs=source.attributes,
        attribute_rels=f.attribute_rels,
        filter=source.filter,
        rules=spec.span_replacements,
        tokenizer=spec.tokenizer,
        seed=spec.seed,
        pass1=work / "pass1" / f"{f.index:05d}.npz",
        tokens=source.tokens,
    )


def _with_rate(cfg: JobConfig, rate: float, drop: tuple[str, ...]) -> JobConfig:
    from dataclasses import replace

    return replace(cfg, rate=rate, drop_fields=drop)


def _decisions_path(mix_dir: Path, index: int) -> Path:
    return mix_dir / "decisions" / f"d-{index:05d}.parquet"


def _check_names(
    spec: MixSpec, inputs: list[InputFile], summary: RunSummary[PassOneStats]
) -> list[str]:
    """Error for a name matching keys of two runs; warning for a name no document has.

    Attributes are sparse (a PII tagger writes no key for a clean document), so a name is
    only reported when it matched nothing in any source: a typo, or nothing to match.
    """
    seen: list[set[str]] = [set() for _ in spec.sources]
    for f, result in zip(inputs, summary.results, strict=True):
        seen[f.source_index].update(result.stats.keys)
    matched: dict[str, bool] = {}
    for i, source in enumerate(spec.sources):
        used = dict(compile_filter(source.filter, source.attributes).attribute_keys())
        for rule in spec.span_replacements:
            used.setdefault(rule.attribute, resolve(rule.attribute, source.attributes).keys)
        for name, keys in used.items():
            found = [k for k in keys if k in seen[i]]
            if len(found) > 1:
                raise spec.error(
                    f"sources[{i}].filter",
                    f"{name!r} is ambiguous: it matches {', '.join(found)}; name the run "
                    f"(run.tagger.type)",
                )
            matched[name] = matched.get(name, False) or bool(found)
    return [
        f"{name!r} matched no attribute key in any document of any source "
        "(a misspelt name, or nothing to match)"
        for name, hit in matched.items()
        if not hit
    ]


def _plan(
    spec: MixSpec,
    inputs: list[InputFile],
    summary: RunSummary[PassOneStats],
    configs: list[JobConfig],
) -> MixPlan:
    available = [0] * len(spec.sources)
    histograms = [[0] * BUCKETS for _ in spec.sources]
    for f, result in zip(inputs, summary.results, strict=True):
        available[f.source_index] += result.stats.tokens
        for b, tokens in result.stats.histogram:
            histograms[f.source_index][b] += tokens

    def candidates(source: int, bucket: int) -> list[tuple[float, int]]:
        out: list[tuple[float, int]] = []
        for f, cfg in zip(inputs, configs, strict=True):
            if f.source_index != source:
                continue
            data = load_pass1(cfg.pass1)
            mask = (data["clause"] < 0) & (np.floor(data["u"] * BUCKETS) == bucket)
            out.extend(zip(data["u"][mask].tolist(), data["tokens"][mask].tolist(), strict=True))
        return out

    return plan_mix(spec, available, histograms, candidates)


def _manifest(
    spec: MixSpec,
    spec_hash: str,
    force: bool,
    inputs: list[InputFile],
    summary1: RunSummary[PassOneStats],
    summary2: RunSummary[PassTwoStats],
    plan: MixPlan,
    shards: list[Shard],
    mix_dir: Path,
    *,
    warnings: list[str],
    rejects: RejectedLines,
    timing: Timing,
    location: Location,
    duplicate_ids: dict[str, int],
) -> Manifest:
    """Assemble the manifest of a finished build (its content hash is set when written)."""
    total_tokens = sum(s.tokens for s in shards)
    documents, attributes = [], []
    for f, r1 in zip(inputs, summary1.results, strict=True):
        documents.append(
            DocumentFile(
                path=f.rel,
                source=f.source,
                documents=r1.written,
                sha256=r1.stats.document.sha256,
                bytes=r1.stats.document.bytes,
            )
        )
        for run, rel, info in zip(
            spec.sources[f.source_index].attributes,
            f.attribute_rels,
            r1.stats.attributes,
            strict=True,
        ):
            attributes.append(
                AttributeFile(
                    path=rel,
                    run=run,
                    document=f.rel,
                    lines=r1.written,
                    sha256=info.sha256,
                    bytes=info.bytes,
                )
            )
    decisions = []
    for f in inputs:
        path = _decisions_path(mix_dir, f.index)
        decisions.append(
            DecisionsFile(
                path=path.relative_to(mix_dir).as_posix(),
                sha256=file_sha256(path),
                bytes=path.stat().st_size,
                rows=summary1.results[f.index].written,
                input=f.rel,
            )
        )
    index_path = mix_dir / "index.parquet"
    return Manifest(
        format=FORMAT,
        name=spec.name,
        version=spec.version,
        description=spec.description,
        seed=spec.seed,
        tokenizer=spec.tokenizer,
        dolmakit_version=__version__,
        spec=spec.canonical(),
        spec_sha256=spec_hash,
        spec_file=spec.path.name,
        draft=force,
        target_tokens=plan.target_tokens,
        totals=Totals(
            documents=sum(s.documents for s in shards),
            tokens=total_tokens,
            bytes=sum(s.bytes for s in shards),
            shards=len(shards),
        ),
        sources=tuple(
            _source_section(spec, i, inputs, summary1, summary2, plan, total_tokens, duplicate_ids)
            for i in range(len(spec.sources))
        ),
        inputs=Inputs(documents=tuple(documents), attributes=tuple(attributes)),
        shards=tuple(shards),
        index=Table(
            path="index.parquet",
            sha256=file_sha256(index_path),
            bytes=index_path.stat().st_size,
            rows=sum(s.documents for s in shards),
        ),
        decisions=tuple(decisions),
        rejects=rejects,
        warnings=tuple(warnings),
        timing=timing,
        location=location,
    )


def _duplicate_ids(
    inputs: list[InputFile], configs: list[JobConfig], on_error: OnError
) -> DuplicateIds:
    """Count valid documents whose id an earlier document of the same source had (pass 1).

    Under on_error 'fail' a repeat stops the build here, before anything is sampled.
    """

    def table(i: int) -> IdTable:
        first = load_pass1(configs[i].pass1)
        ids = first["ids"]
        return IdTable(inputs[i].rel, first["line"], ids, [inputs[i].source] * len(ids))

    found = find_duplicate_ids(len(inputs), table)
    found.check(on_error)
    return found


def _source_section(
    spec: MixSpec,
    i: int,
    inputs: list[InputFile],
    summary1: RunSummary[PassOneStats],
    summary2: RunSummary[PassTwoStats],
    plan: MixPlan,
    total_tokens: int,
    duplicate_ids: dict[str, int],
) -> SourceSection:
    """Sum the per-file statistics of source `i` into its funnel and section."""
    source = spec.sources[i]
    clauses = _clauses(source.filter, source.attributes)
    pairs = [
        (r1, r2)
        for f, r1, r2 in zip(inputs, summary1.results, summary2.results, strict=True)
        if f.source_index == i
    ]
    by_clause = [0] * len(clauses)
    for r1, _ in pairs:
        for c, n in enumerate(r1.stats.rejected_by_clause):
            by_clause[c] += n
    passed = sum(r1.stats.passed for r1, _ in pairs)
    sampled = sum(r2.stats.sampled for _, r2 in pairs)
    tokens_emitted = sum(r2.stats.tokens_emitted for _, r2 in pairs)
    funnel = Funnel(
        read=sum(r1.written for r1, _ in pairs),
        rejected_lines=sum(sum(r1.rejected.values()) for r1, _ in pairs),
        rejected_by_clause=tuple(by_clause),
        passed=passed,
        sampled=sampled,
        not_sampled=passed - sampled,
        repeated=sum(r2.stats.repeated for _, r2 in pairs),
        emitted_documents=sum(r2.stats.emitted for _, r2 in pairs),
        tokens_available=sum(r1.stats.tokens for r1, _ in pairs),
        tokens_emitted=tokens_emitted,
        target_tokens=plan.sources[i].target_tokens,
        duplicate_ids=duplicate_ids.get(source.name, 0),
    )
    return SourceSection(
        name=source.name,
        attributes=source.attributes,
        filter=source.filter,
        clauses=clauses,
        weight=source.weight,
        declared_share=plan.sources[i].declared_share,
        rate=plan.sources[i].rate,
        max_repeats=source.max_repeats,
        licence=source.licence,
        notes=source.notes,
        files=len(pairs),
        funnel=funnel,
        realised_share=tokens_emitted / total_tokens if total_tokens else 0.0,
    )


def _clauses(text: str | None, runs: tuple[str, ...]) -> tuple[str, ...]:
    return compile_filter(text, runs).clause_texts


def _copy_rejects(summary: RunSummary[PassOneStats], mix_dir: Path, root: Path) -> RejectedLines:
    """Copy pass 1's rejected lines into the mix, with input paths relative to the data root."""
    import msgspec

    target = rejects_file(mix_dir)
    if summary.rejects_file is not None and summary.rejects_file.is_file():
        with atomic_open(target) as out:
            for line in summary.rejects_file.read_bytes().splitlines():
                entry = msgspec.json.decode(line)
                entry["path"] = relative(storage.location(entry["path"]), root)
                out.write(msgspec.json.encode(entry) + b"\n")
        path: str | None = REJECTS_FILE.as_posix()
        summary.rejects_file = target
    else:
        target.unlink(missing_ok=True)
        path = None
    return RejectedLines(
        lines=summary.rejected_total, path=path, by_reason=dict(sorted(summary.rejected.items()))
    )
