"""The `dolmakit train-classifier` command.

Library modules are imported inside each command (lazily), so that `dolmakit --help` and
shell completion load none of them.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("train-classifier")
@click.argument("name")
@click.option(
    "--labelled",
    multiple=True,
    help='JSONL file(s), folder or glob with {"text": ..., "label": ...} lines (repeatable).',
)
@click.option(
    "--class",
    "classes",
    multiple=True,
    metavar="LABEL=DOCS",
    help="Documents (file, folder or glob) whose label is LABEL (repeatable, >= 2 labels).",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: taggers/models/NAME).",
)
@click.option("--holdout", default=0.1, show_default=True, help="Fraction held out for the card.")
@click.option("--seed", default=0, show_default=True, help="Seed of the split and of fastText.")
@click.option("--epoch", default=10, show_default=True, help="fastText epochs.")
@click.option("--lr", default=0.3, show_default=True, help="fastText learning rate.")
@click.option("--dim", default=32, show_default=True, help="fastText vector size.")
@click.option("--word-ngrams", default=2, show_default=True, help="fastText word n-grams.")
@click.option("--min-count", default=2, show_default=True, help="Ignore rarer words.")
@click.option("--bucket", default=50_000, show_default=True, help="Hash buckets for n-grams.")
@click.option("--max-per-label", type=int, default=None, help="Cap examples per label.")
@click.option("--keep-case", is_flag=True, help="Do not lower-case the text.")
@click.option("--quantize", is_flag=True, help="Write a small quantized model.ftz.")
def train_classifier_command(
    name: str,
    labelled: tuple[str, ...],
    classes: tuple[str, ...],
    output: Path | None,
    holdout: float,
    seed: int,
    epoch: int,
    lr: float,
    dim: int,
    word_ngrams: int,
    min_count: int,
    bucket: int,
    max_per_label: int | None,
    keep_case: bool,
    quantize: bool,
) -> None:
    """Train a fastText classifier and write it with a model card.

    Training data is labelled JSONL (--labelled) or documents per label (--class
    LABEL=DOCS, at least two labels). The model, model_card.json (data files and their
    sha256, parameters, held-out precision/recall per label) and README.md go to
    taggers/models/NAME/ or --output. Use it with the `classifier` tagger.

    \b
    Example:
      dolmakit train-classifier docs_vs_fortunes \\
        --class docs='data/documents/python-doc/*' --class fortune='data/documents/fortunes/*'
      dolmakit train-classifier toxic --labelled jigsaw.jsonl --quantize
    """
    from dolmakit.io.storage import is_remote
    from dolmakit.taggers.train import (
        TrainConfig,
        load_classes,
        load_labelled_jsonl,
        train_classifier,
    )

    if bool(labelled) == bool(classes):
        raise click.UsageError("give either --labelled or --class (not both)")
    if output is not None and is_remote(output):
        # Training data may be in object storage; the model is written by fastText, locally.
        raise click.UsageError("--output must be a local folder (copy the model to s3 after)")
    if labelled:
        data = load_labelled_jsonl(labelled)
    else:
        per_label: dict[str, list[str]] = {}
        for item in classes:
            label, sep, docs = item.partition("=")
            if not sep or not label or not docs:
                raise click.UsageError(f"--class {item!r}: expected LABEL=DOCS")
            per_label.setdefault(label, []).append(docs)
        data = load_classes(per_label)
    config = TrainConfig(
        epoch=epoch,
        lr=lr,
        dim=dim,
        word_ngrams=word_ngrams,
        min_count=min_count,
        bucket=bucket,
        seed=seed,
        holdout=holdout,
        lowercase=not keep_case,
        max_per_label=max_per_label,
        quantize=quantize,
    )
    result = train_classifier(data, name, output, config)
    click.echo(
        f"trained on {result.train_examples:,} examples, held out {result.heldout_examples:,}: "
        f"accuracy {result.accuracy:.4f}"
    )
    for m in result.metrics:
        click.echo(
            f"  {m.label}: precision {m.precision:.4f} recall {m.recall:.4f} (support {m.support})"
        )
    click.echo(f"wrote {result.model_path} and its model card")
