"""`dolmakit publish`: write a mix as a Hugging Face dataset folder.

Library modules are imported inside each command (lazily), so that `dolmakit --help` and
shell completion load none of them.
"""

from __future__ import annotations

import click


@click.command()
@click.argument("mix_dir", type=click.Path(file_okay=False))
@click.argument("out_dir", type=click.Path())
@click.option(
    "--no-provenance",
    is_flag=True,
    help="Leave out the provenance columns (and with them the per-source configs).",
)
def publish(mix_dir: str, out_dir: str, no_provenance: bool) -> None:
    """Write MIX_DIR as a folder ready to upload as a Hugging Face dataset.

    OUT_DIR (new or empty) gets data/train-NNNNN.parquet (documents in mix order, with
    provenance columns), README.md (the dataset card, its YAML header with one config per
    source and a default) and croissant.json (Croissant 1.0 metadata).

    \b
    Example:
      dolmakit publish demo-out/mixes/demo/v2 demo-out/release/v2
    """
    from dolmakit.publish.release import publish_mix

    release = publish_mix(mix_dir, out_dir, provenance=not no_provenance)
    for line in release.lines():
        click.echo(line)
