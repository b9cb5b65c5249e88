"""`dolmakit dedup exact` and `dolmakit dedup minhash`: parse options, call the library.

Library modules are imported inside each command (lazily), so that `dolmakit --help` and
shell completion load none of them.
"""

from __future__ import annotations

import click

from dolmakit.cli.options import run_options
from dolmakit.run.options import RunOptions


def _echo_summary(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)


@click.command("exact")
@click.argument("documents", nargs=-1, required=True)
@click.option("--run", default="dedup_exact", show_default=True, help="Attribute run name.")
@click.option(
    "--by",
    default="text",
    show_default=True,
    help="What must be equal: text, paragraph, or a field path such as metadata.url.",
)
@click.option(
    "--no-normalize",
    is_flag=True,
    help="Compare raw text (default: NFKC, lower case, collapsed whitespace).",
)
@click.option("--partitions", default=16, show_default=True, help="Hash partitions on disk.")
@click.option("--report-dir", default=None, help="Where summary and clusters go.")
@run_options()
def exact(
    documents: tuple[str, ...],
    run: str,
    by: str,
    no_normalize: bool,
    partitions: int,
    report_dir: str | None,
    run_options: RunOptions,
) -> None:
    """Mark exact duplicates: same text, same field value, or repeated paragraphs.

    DOCUMENTS are files, folders or globs under <dataset>/documents, from one or several
    datasets. The first copy in canonical order (sorted path, then line) is kept; the others
    get <run>__exact__duplicate [[0, len, 1.0]] (paragraphs: <run>__exact__paragraph_duplicate
    spans).

    \b
    Example:
      dolmakit dedup exact data/documents --run dedup_exact
      dolmakit dedup exact data/documents --by metadata.url --run dedup_url
      dolmakit dedup exact data/documents --by paragraph --run dedup_para
    """
    from dolmakit.dedup import ExactConfig, dedup_exact

    summary = dedup_exact(
        documents,
        run,
        ExactConfig(by=by, normalize=not no_normalize, partitions=partitions),
        report_dir=report_dir,
        run_options=run_options,
    )
    _echo_summary(summary.lines())


@click.command("minhash")
@click.argument("documents", nargs=-1, required=True)
@click.option("--run", default="dedup_minhash", show_default=True, help="Attribute run name.")
@click.option("--threshold", default=0.8, show_default=True, help="Jaccard similarity threshold.")
@click.option("--ngram", default=5, show_default=True, help="Words per shingle.")
@click.option("--num-perm", default=128, show_default=True, help="MinHash permutations.")
@click.option("--seed", default=1, show_default=True, help="Permutation seed (datasketch's).")
@click.option("--bands", type=int, default=None, help="LSH bands (default: from threshold).")
@click.option("--rows", type=int, default=None, help="Rows per band (with --bands).")
@click.option(
    "--verify",
    type=click.Choice(["exact", "estimate", "none"]),
    default="exact",
    show_default=True,
    help="Check candidate pairs: exact Jaccard of shingles, signature estimate, or not at all.",
)
@click.option(
    "--chaining",
    type=click.Choice(["keep", "remove", "recenter"]),
    default="recenter",
    show_default=True,
    help="Members less similar than the threshold to their keeper: keep them, remove them, "
    "or recenter (the best of them is kept too and removes those within the threshold of it).",
)
@click.option(
    "--source-priority",
    default="",
    help="Comma-separated sources, preferred first, when choosing the copy to keep.",
)
@click.option(
    "--keep-attribute",
    default=None,
    help="Keep the copy with the highest score of this attribute (e.g. quality__model__score).",
)
@click.option("--no-prefer-longer", is_flag=True, help="Do not prefer the longest copy.")
@click.option("--index", default=None, help="Report folder of an earlier run (incremental).")
@click.option("--partitions", default=16, show_default=True, help="Bucket partitions on disk.")
@click.option("--report-dir", default=None, help="Where index, summary and clusters go.")
@run_options()
def minhash(
    documents: tuple[str, ...],
    run: str,
    threshold: float,
    ngram: int,
    num_perm: int,
    seed: int,
    bands: int | None,
    rows: int | None,
    verify: str,
    chaining: str,
    source_priority: str,
    keep_attribute: str | None,
    no_prefer_longer: bool,
    index: str | None,
    partitions: int,
    report_dir: str | None,
    run_options: RunOptions,
) -> None:
    """Mark near-duplicate documents with MinHash LSH, verified and clustered.

    DOCUMENTS are files, folders or globs under <dataset>/documents. In each cluster one
    document is kept (source priority, then highest --keep-attribute, then longest, then
    canonical order); the others get <run>__minhash__duplicate [[0, len, 1.0]]. Every member
    gets <run>__minhash__cluster_size and <run>__minhash__similarity (to its keeper).

    \b
    Example:
      dolmakit dedup minhash data/documents --run dedup_minhash --threshold 0.8
      dolmakit dedup minhash new/documents --run dedup_minhash \\
          --index data/attributes/dedup_minhash/.dolmakit
    """
    from dolmakit.dedup import KeepRule, MinHashConfig, dedup_minhash

    config = MinHashConfig(
        ngram=ngram,
        num_perm=num_perm,
        seed=seed,
        threshold=threshold,
        bands=bands,
        rows=rows,
        verify=verify,  # type: ignore[arg-type]
        chaining=chaining,  # type: ignore[arg-type]
        partitions=partitions,
        keep=KeepRule(
            source_priority=tuple(s for s in source_priority.split(",") if s),
            attribute=keep_attribute,
            prefer_longer=not no_prefer_longer,
        ),
    )
    summary = dedup_minhash(
        documents,
        run,
        config,
        report_dir=report_dir,
        index=index,
        run_options=run_options,
    )
    _echo_summary(summary.lines())


dedup_group: click.Group = click.Group(
    "dedup",
    commands=[exact, minhash],
    help=(
        "Find exact and near-duplicate documents; write Dolma attributes that mark them.\n\n"
        "\b\nExample:\n  dolmakit dedup minhash data/documents --run dedup_minhash"
    ),
)
