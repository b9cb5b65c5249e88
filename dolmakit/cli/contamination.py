"""The `dolmakit contamination` commands and `dolmakit audit contamination`.

Library modules are imported inside each command (lazily), so that `dolmakit --help` and
shell completion load none of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dolmakit.cli.options import run_options
from dolmakit.run.options import RunOptions


@click.group("contamination")
def contamination() -> None:
    """Find benchmark examples in a corpus: build a benchmark n-gram index.

    Tag with it (`dolmakit tag --taggers contamination --param contamination.index=IDX`),
    filter or mask in a mix, and check a finished mix with `dolmakit audit contamination`.

    \b
    Example:
      dolmakit contamination index quiz=evals/quiz.jsonl --name evals --fields question,answer
    """


@contamination.command("index")
@click.argument("benchmarks", nargs=-1, required=True)
@click.option("--name", required=True, help="The index's name (letters, digits, '_').")
@click.option("--fields", required=True, help="Comma-separated fields that make an example.")
@click.option("--id-field", default=None, help="The example id field (default: FILE:ROW).")
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Index folder (default: ./NAME.index).",
)
@click.option("-n", "--ngram", "n", default=13, show_default=True, help="Words per n-gram.")
@click.option(
    "--max-examples-per-ngram",
    default=10,
    show_default=True,
    help="Set aside n-grams found in more examples than this (templates, licence text).",
)
@click.option(
    "--boilerplate",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A text file, or a folder of them, whose n-grams are set aside (repeatable; "
    "paragraphs split at blank lines).",
)
@click.option(
    "--common-in",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Documents (files or folders, e.g. the corpus to check): n-grams held by more than "
    "--max-docs-per-ngram of them are set aside as boilerplate (repeatable).",
)
@click.option(
    "--max-docs-per-ngram",
    default=20,
    show_default=True,
    help="With --common-in: set aside n-grams held by more documents than this.",
)
@click.option(
    "--on-error",
    type=click.Choice(["skip", "fail"]),
    default="skip",
    show_default=True,
    help="skip: count bad rows per reason in the index; fail: stop at the first.",
)
def index_command(
    benchmarks: tuple[str, ...],
    name: str,
    fields: str,
    id_field: str | None,
    output: Path | None,
    n: int,
    max_examples_per_ngram: int,
    boilerplate: tuple[Path, ...],
    common_in: tuple[Path, ...],
    max_docs_per_ngram: int,
    on_error: str,
) -> None:
    """Build a benchmark index from local files: normalised word n-grams with example ids.

    BENCHMARKS are NAME=PATH or PATH (named by the file stem); PATH is a JSONL, JSON,
    Parquet or CSV file (plain, .gz or .zst) or a folder of them. Prints, per benchmark,
    the examples indexed and those skipped with the reason (too short to detect, missing
    fields, bad rows).

    \b
    Example:
      dolmakit contamination index mmlu=evals/mmlu/test.parquet arc=evals/arc \\
        --name evals --fields question,choices --id-field id -o evals.index
    """
    from dolmakit.contamination.index import IndexOptions, index_benchmarks

    options = IndexOptions(n, max_examples_per_ngram, boilerplate, common_in, max_docs_per_ngram)
    summary = index_benchmarks(
        benchmarks,
        output if output is not None else Path(f"{name}.index"),
        name,
        [f.strip() for f in fields.split(",") if f.strip()],
        id_field,
        options,
        on_error=on_error,
    )
    for line in summary.lines:
        click.echo(line)
    click.echo(f"wrote {summary.path} (index.json sha256 {summary.sha256[:16]})")


@click.command("contamination")
@click.argument("mix_dir", type=click.Path(file_okay=False))
@click.option(
    "--index",
    "index_path",
    required=True,
    type=click.Path(file_okay=False),
    help="A benchmark index from `dolmakit contamination index`.",
)
@click.option(
    "--min-coverage",
    default=0.4,
    show_default=True,
    help="Share of an example's words that must be found for it to count.",
)
@click.option(
    "--max-share",
    default=None,
    type=float,
    help="Exit 1 when any benchmark has a larger share of its examples in the mix.",
)
@click.option("--top", default=5, show_default=True, help="Longest overlaps shown per benchmark.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@run_options(backends=False, on_error=False)
def audit_contamination(
    mix_dir: str,
    index_path: str,
    min_coverage: float,
    max_share: float | None,
    top: int,
    as_json: bool,
    run_options: RunOptions,
) -> None:
    """Find benchmark examples in a finished mix: per benchmark, how many and where.

    Reads every shard of MIX_DIR (checked against its manifest) and reports, per
    benchmark, the examples found and their share of the benchmark, the sources and
    documents they are in, and the longest overlaps. Exits 1 when a share exceeds
    --max-share: the check an outside researcher runs on a published mix.

    \b
    Example:
      dolmakit audit contamination mixes/demo/v2 --index evals.index --max-share 0
    """
    import msgspec

    from dolmakit.audit.contamination import audit_contamination as run_audit
    from dolmakit.audit.contamination import format_report

    report = run_audit(
        mix_dir,
        index_path,
        min_coverage=min_coverage,
        max_share=max_share,
        top=top,
        backend=run_options.backend,
    )
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(report.to_dict())).decode())
    else:
        click.echo(format_report(report))
    if not report.ok:
        sys.exit(1)
