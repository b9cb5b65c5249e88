"""The `dolmakit` command line: each command parses options, calls one library function.

Library modules are imported inside each command (lazily), so that `dolmakit --help` and
shell completion load none of them.
"""

from __future__ import annotations

import os
import sys

import click

from dolmakit import __version__
from dolmakit.cli.options import DolmakitGroup, report, run_options
from dolmakit.errors import DolmakitError
from dolmakit.io.reader import MAX_LINE_ENV
from dolmakit.io.storage import location
from dolmakit.io.units import counted, parse_size
from dolmakit.run.options import RunOptions
from dolmakit.startup import skip_pandas_probe


@click.group(cls=DolmakitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dolmakit")
@click.option(
    "--max-line-bytes",
    default="64MiB",
    show_default=True,
    help="Reject input lines longer than this (e.g. 16MB).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.pass_context
def cli(ctx: click.Context, max_line_bytes: str, quiet: bool) -> None:
    """Curate pretraining corpora in the Dolma format: tag, deduplicate, mix, audit.

    \b
    Example, the whole pipeline on the embedded demo corpus:
      dolmakit demo ./demo-out
    """
    os.environ[MAX_LINE_ENV] = str(parse_size(max_line_bytes))
    ctx.obj = {"progress": not quiet}


SHOW_SKIPPED = 20


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--id", "ids", multiple=True, help="Show only documents with this id (repeatable).")
@click.option("--limit", default=5, show_default=True, help="Show at most this many (0: all).")
@click.option("--runs", default=None, help="Attribute runs to show (comma-separated; default all).")
@click.option("--max-chars", default=600, show_default=True, help="Truncate text to this length.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per document.")
def inspect(
    paths: tuple[str, ...],
    ids: tuple[str, ...],
    limit: int,
    runs: str | None,
    max_chars: int,
    as_json: bool,
) -> None:
    """Pretty-print documents with their attributes.

    PATHS are files, folders or globs of document files.

    \b
    Example:
      dolmakit inspect data/documents/web/part-0.jsonl.zst --id doc-17
    """
    import msgspec

    from dolmakit.io.inspect import Inspection, render

    run_list = [r for r in runs.split(",") if r] if runs is not None else None
    inspection = Inspection(paths, ids=ids, limit=limit or None, runs=run_list)
    for item in inspection:
        if as_json:
            obj = item.document.to_dict()
            obj["attributes"] = item.attributes
            click.echo(msgspec.json.encode(obj).decode())
        else:
            click.echo(render(item, max_chars))
    for skipped in inspection.skipped[:SHOW_SKIPPED]:
        click.echo(str(skipped), err=True)
    if len(inspection.skipped) > SHOW_SKIPPED:
        click.echo(f"... and {len(inspection.skipped) - SHOW_SKIPPED:,} more", err=True)
    problem = inspection.problem()
    if problem is not None:
        raise DolmakitError(problem)


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.argument("destination", nargs=1)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl.zst", "jsonl.gz", "jsonl", "parquet"]),
    default="jsonl.zst",
    show_default=True,
    help="Output format and compression.",
)
@click.option("--shard-size", default=None, help="Reshard into parts of this size, e.g. 256MB.")
@run_options()
def convert(
    sources: tuple[str, ...],
    destination: str,
    fmt: str,
    shard_size: str | None,
    run_options: RunOptions,
) -> None:
    """Convert documents between JSONL (plain, gz, zst) and Parquet, or reshard them.

    SOURCES are files, folders or globs; DESTINATION is a folder. Each input keeps its
    relative path, or with --shard-size all inputs become part-NNNNN files.

    \b
    Example:
      dolmakit convert data/documents out/ --format parquet
    """
    from dolmakit.convert import convert as run_convert

    summary = run_convert(
        sources,
        destination,
        fmt,
        shard_bytes=parse_size(shard_size) if shard_size else None,
        run_options=run_options,
    )
    report(summary)
    click.echo(f"wrote {counted(summary.written, 'document')} to {location(destination)}")


@cli.command()
@click.argument("out_dir", default="demo-out")
@run_options(backends=False, on_error=False)
@click.option(
    "--mixes",
    "mixes_dir",
    default=None,
    help="Folder with demo-v1.yaml and demo-v2.yaml (default: the repository's mixes/).",
)
def demo(out_dir: str, run_options: RunOptions, mixes_dir: str | None) -> None:
    """Run the whole pipeline on the embedded demo corpus into OUT_DIR.

    Copies the demo corpus (real Debian documentation text, 6 languages) to
    OUT_DIR/data/documents, then tags, deduplicates, mixes and audits it, and prints
    what each stage produced and where.

    \b
    Example:
      dolmakit demo ./demo-out
    """
    from dolmakit.demo import run_demo

    result = run_demo(out_dir, run_options=run_options, mixes_dir=mixes_dir)
    for step in result.steps:
        click.echo(step)
    if not result.ok:
        raise DolmakitError("the demo mix did not verify against its manifest (see above)")
    click.echo(f"demo complete: everything is under {result.out_dir}")


# Stage commands register here, one line each (their code lives in dolmakit/*_cli.py).
from dolmakit.cli.train import train_classifier_command  # noqa: E402

cli.add_command(train_classifier_command)
from dolmakit.cli.mix import mix  # noqa: E402

cli.add_command(mix)
from dolmakit.cli.dedup import dedup_group  # noqa: E402

cli.add_command(dedup_group)
from dolmakit.cli.tag import COMMANDS as TAG_COMMANDS  # noqa: E402

for _command in TAG_COMMANDS:
    cli.add_command(_command)
from dolmakit.cli.audit import audit, stats  # noqa: E402
from dolmakit.cli.publish import publish  # noqa: E402

cli.add_command(audit)
cli.add_command(stats)
from dolmakit.cli.trace import index, trace  # noqa: E402

cli.add_command(index)
cli.add_command(trace)
cli.add_command(publish)
from dolmakit.cli.takedown import takedown  # noqa: E402

cli.add_command(takedown)
from dolmakit.cli.contamination import audit_contamination, contamination  # noqa: E402

cli.add_command(contamination)
audit.add_command(audit_contamination)
from dolmakit.cli.run import run  # noqa: E402

cli.add_command(run)


def main() -> None:
    """Run the command line."""
    skip_pandas_probe()
    sys.exit(cli.main(prog_name="dolmakit"))
