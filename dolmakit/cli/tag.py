"""The `dolmakit tag` and `dolmakit taggers` commands.

Library modules are imported inside each command (lazily), so that `dolmakit --help` and
shell completion load none of them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import click

from dolmakit.cli.options import report, run_options
from dolmakit.io.units import counted
from dolmakit.run.options import RunOptions


@click.command("tag")
@click.argument("documents", nargs=-1, required=True)
@click.option("--run", "run_name", required=True, help="Run name: attributes/<RUN>/, key prefix.")
@click.option("--taggers", "tagger_names", default=None, help="Comma-separated tagger names.")
@click.option(
    "--recipe",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A recipe file (YAML) listing taggers and their parameters, e.g. taggers/web.yaml.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="TAGGER.KEY=VALUE",
    help="A parameter of a --taggers tagger, e.g. contamination.index=evals.index (repeatable).",
)
@click.option("--batch-size", default=512, show_default=True, help="Documents per tag_batch call.")
@click.option("--no-resume", is_flag=True, help="Redo shards an earlier run completed.")
@run_options()
@click.pass_obj
def tag(
    obj: dict[str, Any],
    documents: tuple[str, ...],
    run_name: str,
    tagger_names: str | None,
    recipe: Path | None,
    params: tuple[str, ...],
    batch_size: int,
    no_resume: bool,
    run_options: RunOptions,
) -> None:
    """Tag documents and write Dolma attribute files, one pass over each shard.

    DOCUMENTS are files, folders or globs under <dataset>/documents/. Attributes go to
    <dataset>/attributes/<RUN>/ with the same relative paths, keys <RUN>__<tagger>__<type>.
    Give the taggers with --taggers or --recipe (`dolmakit taggers` lists them). Documents
    are never changed or dropped; a rerun resumes.

    \b
    Example:
      dolmakit tag data/documents --run quality --taggers lengths,gopher_quality,c4
      dolmakit tag data/documents --run web --recipe taggers/web.yaml
      dolmakit tag data/documents --run evals --taggers contamination \\
        --param contamination.index=evals.index
    """
    from dolmakit.taggers.stage import tag as run_tag

    if (tagger_names is None) == (recipe is None):
        raise click.UsageError("give exactly one of --taggers and --recipe")
    if params and tagger_names is None:
        raise click.UsageError("--param goes with --taggers; a recipe lists its parameters")
    summary = run_tag(
        documents,
        run_name,
        recipe if recipe is not None else _with_params(str(tagger_names), params),
        run_options=run_options.replace(resume=not no_resume),
        batch_size=batch_size,
    )
    report(summary)
    click.echo(f"tagged {counted(summary.written, 'document')} as run {run_name!r}")


def _with_params(names: str, params: tuple[str, ...]) -> Any:
    """Return tagger names, or TaggerSpecs when `--param TAGGER.KEY=VALUE` options are given."""
    if not params:
        return names
    import yaml

    from dolmakit.taggers.recipes import TaggerSpec

    listed = [n.strip() for n in names.split(",") if n.strip()]
    values: dict[str, dict[str, Any]] = {n: {} for n in listed}
    for item in params:
        target, eq, raw = item.partition("=")
        tagger, dot, key = target.partition(".")
        if not (eq and dot and tagger and key):
            raise click.UsageError(f"--param {item!r}: use TAGGER.KEY=VALUE")
        if tagger not in values:
            raise click.UsageError(f"--param {item!r}: {tagger!r} is not in --taggers")
        values[tagger][key] = yaml.safe_load(raw) if raw else ""
    return [TaggerSpec(n, values[n]) for n in listed]


@click.command("taggers")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per tagger.")
def taggers(as_json: bool) -> None:
    """List every tagger: version, attribute types, what it requires, what it does.

    Built-in taggers and those that packages register under the entry-point group
    `dolmakit.taggers`.

    \b
    Example:
      dolmakit taggers
      dolmakit taggers --json
    """
    import msgspec

    from dolmakit.taggers.base import available_taggers, tagger_info

    infos = [tagger_info(name) for name in available_taggers()]
    if as_json:
        for info in infos:
            click.echo(msgspec.json.encode(info).decode())
        return
    width = max(len(i.name) for i in infos)
    click.echo(f"{'name':<{width}}  version  requires")
    for info in infos:
        click.echo(f"{info.name:<{width}}  {info.version:<7}  {info.requires or '-'}")
        indent = " " * (width + 2)
        for line in textwrap.wrap(info.description, 96 - len(indent)):
            click.echo(indent + line)
        types = textwrap.wrap("attributes: " + ", ".join(info.attributes), 96 - len(indent))
        for line in types:
            click.echo(indent + line)


# Annotated so that type checking of dolmakit/cli/main.py (which imports this module) needs no
# inference through the import cycle.
COMMANDS: tuple[click.Command, ...] = (tag, taggers)
