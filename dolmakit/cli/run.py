"""The `dolmakit run` command: the whole pipeline from one file."""

from __future__ import annotations

import click

from dolmakit.cli.options import run_options
from dolmakit.run.options import RunOptions


@click.command("run")
@click.argument("pipeline", type=click.Path(dir_okay=False))
@click.option("--no-resume", is_flag=True, help="Run every stage again, even those done earlier.")
@run_options()
def run(pipeline: str, no_resume: bool, run_options: RunOptions) -> None:
    """Run the whole pipeline PIPELINE describes: tag, dedup, mix, and what follows.

    PIPELINE is a YAML file (docs/pipeline.md) naming the datasets, the tag runs (a recipe or
    a list of taggers), the dedup runs (exact, MinHash), the mixes and, optionally, benchmark
    indexes, span indexes and releases. Each stage is the call its own command makes, with
    the same outputs. A stage finished earlier is skipped if nothing it read or wrote has
    changed; a stage that was interrupted resumes. A table of documents, bytes, wall and CPU
    seconds per stage ends the run.

    \b
    Example:
      dolmakit demo demo-out && dolmakit run pipelines/demo.yaml
    """
    from dolmakit.pipeline import run_pipeline

    report = run_pipeline(pipeline, run_options=run_options.replace(resume=not no_resume))
    for line in report.lines():
        click.echo(line)
