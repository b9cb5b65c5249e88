"""`dolmakit takedown`: the next version of a mix without the documents a request names."""

from __future__ import annotations

import click

from dolmakit.errors import ConfigError


@click.command()
@click.argument("mix_dir", type=click.Path(file_okay=False))
@click.option("--ids", "ids", default=None, help="File of document ids, one a line.")
@click.option("--urls", "urls", default=None, help="File of URLs (metadata.url), one a line.")
@click.option(
    "--domains", "domains", default=None, help="File of domains (a host and those under it)."
)
@click.option("--reason", required=True, help="Why the documents are taken out (recorded).")
@click.option(
    "--out", default=None, help="Folder of the new version (default: MIX_DIR's sibling v<next>)."
)
@click.option("--new-version", default=None, help="Version of the new mix (default: the next).")
@click.option(
    "--date", "on", default=None, help="Date of the request, YYYY-MM-DD (default: today)."
)
@click.option(
    "--allow-empty", is_flag=True, help="Record the request even if it matches no document."
)
def takedown(
    mix_dir: str,
    ids: str | None,
    urls: str | None,
    domains: str | None,
    reason: str,
    out: str | None,
    new_version: str | None,
    on: str | None,
    allow_empty: bool,
) -> None:
    """Write the next version of MIX_DIR without every copy of the listed documents.

    Nothing is sampled again: every other document keeps its bytes and its order. The new
    manifest records the request (the list's sha256, the reason, the date, the counts); the
    removed documents are listed in takedowns/t-NNNNN.parquet. A list that matches nothing
    is an error unless --allow-empty.

    \b
    Example:
      dolmakit takedown demo-out/mixes/demo/v2 --ids request.txt --reason "author's request"
    """
    from dolmakit.mix.takedown import read_takedown_list, take_down

    given = [(kind, path) for kind, path in (("ids", ids), ("urls", urls), ("domains", domains))]
    chosen = [(kind, path) for kind, path in given if path is not None]
    if len(chosen) != 1:
        raise ConfigError("give exactly one of --ids FILE, --urls FILE, --domains FILE")
    kind, path = chosen[0]
    request = read_takedown_list(path, kind)  # type: ignore[arg-type]
    result = take_down(
        mix_dir, request, reason, out=out, version=new_version, allow_empty=allow_empty, on=on
    )
    for line in result.lines():
        click.echo(line)
