"""The `dolmakit mix` command: parse options, call `build_mix`, print the funnel and shares."""

from __future__ import annotations

from typing import Any

import click

from dolmakit.cli.options import backend_from, runner_options


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
@runner_options
@click.pass_obj
def mix(
    obj: dict[str, Any],
    spec: str,
    data_root: str | None,
    output: str | None,
    work_dir: str | None,
    force: bool,
    backend: str,
    workers: int | None,
    on_error: str,
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
        backend=backend_from(backend, workers),
        on_error=on_error,  # type: ignore[arg-type]
        force=force,
        work_dir=work_dir,
        progress=(obj or {}).get("progress", True),
    )
    for line in result.lines():
        click.echo(line)
