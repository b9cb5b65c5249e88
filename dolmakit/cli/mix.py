"""The `dolmakit mix` command: parse options, call `build_mix`, print the funnel and shares.

Library modules are imported inside each command (lazily), so that `dolmakit --help` and
shell completion load none of them.
"""

from __future__ import annotations

import click

from dolmakit.cli.options import run_options
from dolmakit.run.options import RunOptions


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option(
    "--data-root",
    default=None,
    help="Folder the spec's document globs are relative to (default: the spec's folder).",
)
@click.option(
    "--output",
    "-o",
    default=None,
    help="Folder mixes are written under, as <output>/<name>/v<version> (default: output.root).",
)
@click.option(
    "--work-dir",
    default=None,
    help="Folder for temporary files, as <dir>/<name>/v<version> (default: <mix>/.work). A "
    "local folder speeds up a build whose output is on s3:// when all workers share this disk.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite an existing version built from another spec (drafts only; recorded).",
)
@run_options()
def mix(
    spec: str,
    data_root: str | None,
    output: str | None,
    work_dir: str | None,
    force: bool,
    run_options: RunOptions,
) -> None:
    """Build the mix SPEC describes: filter, sample by token weights, write shards + manifest.

    Pass 1 counts the tokens passing each source's filter; pass 2 samples every source to
    its declared share and writes interleaved shards, a manifest.json with content hashes,
    an index of output documents and a decision log per input file.

    \b
    Example:
      dolmakit mix mixes/demo-v2.yaml --data-root demo-out/data --output demo-out/mixes
    """
    from dolmakit.mix import build_mix

    result = build_mix(
        spec,
        data_root=data_root,
        output=output,
        run_options=run_options,
        force=force,
        work_dir=work_dir,
    )
    for line in result.lines():
        click.echo(line)
