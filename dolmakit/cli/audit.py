"""The `dolmakit audit` command group and `dolmakit stats`: parse options, call the library.

Library modules are imported inside each command (lazily), so that `dolmakit --help` and
shell completion load none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from dolmakit.cli.options import run_options
from dolmakit.errors import DolmakitError
from dolmakit.run.options import RunOptions

F = TypeVar("F", bound=Callable[..., Any])


@click.command()
@click.argument("target", type=click.Path(file_okay=False))
@click.option(
    "--attribute",
    "attributes",
    multiple=True,
    help="Attribute key or glob pattern to summarise (repeatable; default: all).",
)
@click.option("--bins", default=20, show_default=True, help="Histogram bins.")
@click.option("--html", "html_path", default=None, help="Also write an HTML report here.")
@click.option("--png", "png_dir", default=None, help="Also write one PNG histogram per key here.")
@run_options(backends=False, on_error=False, workers=1)
def stats(
    target: str,
    attributes: tuple[str, ...],
    bins: int,
    html_path: str | None,
    png_dir: str | None,
    run_options: RunOptions,
) -> None:
    """Show counts, quantiles and histograms of attributes, per source.

    TARGET is a dataset folder (every attribute run) or one run folder
    <dataset>/attributes/<run>. A key whose spans cover whole documents is summarised
    by its score; other keys by their spans per document and highest span score.

    \b
    Example:
      dolmakit stats data/attributes/tags --attribute 'tags__quality*' --html stats.html
    """
    from dolmakit.audit.stats import (
        StatsConfig,
        compute_stats,
        format_report,
        write_html,
        write_png,
    )

    report = compute_stats(
        target, StatsConfig(attributes=attributes, bins=bins), backend=run_options.backend
    )
    click.echo(format_report(report))
    if html_path:
        click.echo(f"wrote {write_html(report, html_path)}")
    if png_dir:
        paths = write_png(report, png_dir)
        click.echo(f"wrote {len(paths)} PNG files to {png_dir}")


class AuditGroup(click.Group):
    """Turn I/O and Parquet errors of a damaged mix into a one-line error (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as exc:
            raise DolmakitError(str(exc)) from None
        except Exception as exc:
            if not type(exc).__module__.startswith("pyarrow"):
                raise
            raise DolmakitError(
                f"unreadable Parquet file in the mix ({exc}); run dolmakit audit verify"
            ) from None


@click.group(cls=AuditGroup)
def audit() -> None:
    """Answer which sources went into a mix, in what share, from which input bytes.

    \b
    Example:
      dolmakit audit verify demo-out/mixes/demo/v2
    """


def _data_root_option(fn: F) -> F:
    return click.option(
        "--data-root",
        default=None,
        type=click.Path(file_okay=False),
        help="Folder the mix's input paths are relative to (the dataset the mix read).",
    )(fn)


@audit.command()
@click.argument("mix_dir", type=click.Path(file_okay=False))
@click.option("--inputs", is_flag=True, help="Also check the input files against their hashes.")
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also require a valid signature (manifest.sig) by this Ed25519 public key.",
)
@_data_root_option
@run_options(on_error=False)
def verify(
    mix_dir: str,
    inputs: bool,
    public_key: str | None,
    data_root: str | None,
    run_options: RunOptions,
) -> None:
    """Check a mix's shards, index and decisions (and inputs) against its manifest.

    Recomputes every shard's sha256, size, documents and tokens; finds changed, truncated,
    missing and extra files and a hand-edited manifest. With --public-key, also checks the
    signature `audit sign` wrote, which catches an edit that recomputed every hash. Exits 1
    naming every problem.

    \b
    Example:
      dolmakit audit verify demo-out/mixes/demo/v2 --inputs --data-root demo-out/data
    """
    from dolmakit.audit.verify import verify_mix

    report = verify_mix(
        mix_dir,
        inputs=inputs,
        data_root=data_root,
        backend=run_options.backend,
        public_key=public_key,
    )
    for problem in report.problems:
        click.echo(str(problem), err=True)
    click.echo(report.summary())
    if not report.ok:
        raise SystemExit(1)


@audit.command()
@click.argument("key_path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace an existing key.")
def keygen(key_path: str, force: bool) -> None:
    """Make an Ed25519 key pair for signing mixes: KEY_PATH (private, mode 0600) and .pub.

    Keep the private key out of the mix and out of version control; publish the .pub file
    (or its fingerprint) where users of the mix can find it.

    \b
    Example:
      dolmakit audit keygen ~/.config/dolmakit/mix-signing.key
    """
    from dolmakit.audit.sign import generate_key

    print_fingerprint = generate_key(key_path, force=force)
    click.echo(f"wrote {key_path} (private) and {key_path}.pub (public), {print_fingerprint}")


@audit.command()
@click.argument("mix_dir", type=click.Path(file_okay=False))
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The Ed25519 private key (from dolmakit audit keygen).",
)
def sign(mix_dir: str, key_path: str) -> None:
    """Sign a mix: write manifest.sig, a detached Ed25519 signature of its content hash.

    \b
    Example:
      dolmakit audit sign demo-out/mixes/demo/v2 --key mix-signing.key
      dolmakit audit verify demo-out/mixes/demo/v2 --public-key mix-signing.key.pub
    """
    from dolmakit.audit.sign import SIGNATURE_NAME, sign_mix

    signature = sign_mix(mix_dir, key_path)
    click.echo(
        f"signed {mix_dir} (content {signature.content_sha256[:16]}…) with"
        f" {signature.key_fingerprint}: {SIGNATURE_NAME}"
    )


@audit.command()
@click.argument("mix_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def sources(mix_dir: str, as_json: bool) -> None:
    """Show each source of a mix: shares, documents, tokens, repeats, files, filter funnel.

    \b
    Example:
      dolmakit audit sources demo-out/mixes/demo/v2 --json
    """
    import json

    from dolmakit.audit.sources import format_sources, mix_sources, sources_json

    rows = mix_sources(mix_dir)
    if as_json:
        click.echo(json.dumps(sources_json(rows), indent=2, ensure_ascii=False))
    else:
        click.echo(format_sources(rows))


_attributes_option = click.option(
    "--attributes", is_flag=True, help="List every attribute the document had at mix time."
)


@audit.command()
@click.argument("mix_dir", type=click.Path(file_okay=False))
@click.argument("ref")
@_data_root_option
@_attributes_option
def trace(mix_dir: str, ref: str, data_root: str | None, attributes: bool) -> None:
    """Show where an output document came from: input, attributes, clauses, repeat.

    REF is a document id or SHARD:ROW (e.g. shard-00000:17 or 0:17).

    \b
    Example:
      dolmakit audit trace demo-out/mixes/demo/v2 shard-00000:1 --data-root demo-out/data
    """
    from dolmakit.audit.trace import format_origins
    from dolmakit.audit.trace import trace as run_trace

    origins = run_trace(mix_dir, ref, data_root=data_root)
    click.echo(format_origins(origins, all_attributes=attributes))


@audit.command()
@click.argument("mix_dir", type=click.Path(file_okay=False))
@click.argument("ref")
@_data_root_option
@_attributes_option
def where(mix_dir: str, ref: str, data_root: str | None, attributes: bool) -> None:
    """Say whether an input document is in a mix, how many times, and if not, why not.

    REF is INPUT_PATH:LINE (the path as in the manifest, or a file under the data root)
    or an input document id.

    \b
    Example:
      dolmakit audit where demo-out/mixes/demo/v2 documents/fortunes/en-0000.jsonl.zst:3
    """
    from dolmakit.audit.trace import format_origins
    from dolmakit.audit.trace import where as run_where

    origins = run_where(mix_dir, ref, data_root=data_root)
    click.echo(format_origins(origins, all_attributes=attributes))


@audit.command()
@click.argument("mix_a", type=click.Path(file_okay=False))
@click.argument("mix_b", type=click.Path(file_okay=False))
@click.option(
    "--all", "every", is_flag=True, help="List every added and removed document (not 5 of each)."
)
def diff(mix_a: str, mix_b: str, every: bool) -> None:
    """Compare two mixes: spec, per-source documents/tokens/shares, documents added/removed.

    \b
    Example:
      dolmakit audit diff demo-out/mixes/demo/v1 demo-out/mixes/demo/v2
    """
    from dolmakit.audit.diff import diff_mixes, format_diff

    click.echo(format_diff(diff_mixes(mix_a, mix_b, every=every)))


@audit.command()
@click.argument("mix_dir", type=click.Path(file_okay=False))
@click.option("--out", default=None, help="Folder for card.md and card.html (default: the mix).")
@click.option(
    "--score",
    "scores",
    multiple=True,
    help="Also draw this attribute key or glob's histogram (default: keys the filters read).",
)
@_data_root_option
def card(mix_dir: str, out: str | None, scores: tuple[str, ...], data_root: str | None) -> None:
    """Write a data card: card.md and a self-contained card.html with charts.

    \b
    Example:
      dolmakit audit card demo-out/mixes/demo/v2 --data-root demo-out/data
    """
    from dolmakit.audit.card_data import render_card

    md_path, html_path = render_card(mix_dir, out=out, data_root=data_root, score_keys=scores)
    click.echo(f"wrote {md_path}")
    click.echo(f"wrote {html_path}")


@audit.command()
@click.argument("mix_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option(
    "--provider",
    default=None,
    type=click.Path(dir_okay=False),
    help="provider.yaml: what only the provider can state (name, contact, models, ...).",
)
@click.option("--out", required=True, help="Folder for summary.md, summary.html, summary.json.")
def summary(mix_dirs: tuple[str, ...], provider: str | None, out: str) -> None:
    """Write the EU AI Act public summary of training content for one or several mixes.

    Sizes, languages, sources and licences, crawled domains, periods and processing
    measures come from the mixes; provider fields left empty are listed as missing.

    \b
    Example:
      dolmakit audit summary demo-out/mixes/demo/v2 --provider provider.yaml --out summary
    """
    from dolmakit.audit.summary import build_summary, load_provider
    from dolmakit.audit.summary_render import write_summary

    found = build_summary(list(mix_dirs), load_provider(provider))
    for path in write_summary(found, out):
        click.echo(f"wrote {path}")
    if found["missing"]:
        click.echo(f"missing provider fields: {', '.join(found['missing'])}")


@audit.command()
@click.argument("mix_dir", type=click.Path(file_okay=False))
@_data_root_option
@run_options(backends=False, on_error=False, workers=1)
@click.option(
    "--keep",
    default=None,
    type=click.Path(file_okay=False),
    help="Build into this folder and keep it (default: a temporary folder, removed).",
)
def rebuild(mix_dir: str, data_root: str | None, run_options: RunOptions, keep: str | None) -> None:
    """Rebuild a mix from its manifest into a temporary folder and compare the bytes.

    Prints "reproducible", or the first difference and exits 1.

    \b
    Example:
      dolmakit audit rebuild demo-out/mixes/demo/v2 --data-root demo-out/data
    """
    from dolmakit.audit.rebuild import rebuild_mix

    result = rebuild_mix(mix_dir, data_root=data_root, backend=run_options.backend, keep=keep)
    click.echo(result.message())
    if not result.reproducible:
        raise SystemExit(1)
