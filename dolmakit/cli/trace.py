"""The `dolmakit index` and `dolmakit trace` commands: parse options, call dolmakit.trace.

Library modules are imported inside each command (lazily), so that `dolmakit --help` and
shell completion load none of them.
"""

from __future__ import annotations

import json
import os
import sys

import click

from dolmakit.cli.options import run_options
from dolmakit.errors import DolmakitError
from dolmakit.io.units import parse_size
from dolmakit.run.options import RunOptions


@click.command()
@click.argument("mix_dir", type=click.Path(file_okay=False))
@click.option(
    "--shard-size",
    default="auto",
    show_default=True,
    help="Text per index shard, below 2GiB; memory per worker is about 5x this. auto: 32MiB,"
    " more for a mix of over 2GiB of text so that there are at most 64 shards (up to 1GiB).",
)
@click.option("--force", is_flag=True, help="Rebuild even if a complete index is there.")
@run_options(on_error=False)
def index(
    mix_dir: str,
    shard_size: str,
    force: bool,
    run_options: RunOptions,
) -> None:
    """Build the span index of a mix, for `dolmakit trace`, under MIX_DIR/index/.

    Suffix arrays over the documents' UTF-8 bytes, cut into shards, with a position map
    from every byte to its document; index.json records every file's sha256 (checked by
    `dolmakit audit verify`). A killed build, rerun, finishes with the same bytes.

    \b
    Example:
      dolmakit index demo-out/mixes/demo/v2
    """
    from dolmakit.trace import IndexOptions, build_index

    result = build_index(
        mix_dir,
        IndexOptions(shard_bytes=None if shard_size == "auto" else parse_size(shard_size)),
        run_options=run_options,
        force=force,
    )
    for line in result.lines():
        click.echo(line)


@click.command()
@click.argument("mix_dir", type=click.Path(file_okay=False))
@click.argument("text", required=False)
@click.option("--file", "-f", "file", default=None, help="Read the output from this file.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--min-words", default=6, show_default=True, help="Shortest span kept, in words.")
@click.option(
    "--max-frequency",
    default=10,
    show_default=True,
    help="Keep spans occurring at most this many times in the mix.",
)
@click.option(
    "--max-density",
    default=0.05,
    show_default=True,
    help="Keep at most ceil(this x words of the output) spans.",
)
@click.option(
    "--rank",
    type=click.Choice(["probability", "length"]),
    default="probability",
    show_default=True,
    help="Which spans the density limit keeps: lowest unigram probability, or longest.",
)
@click.option("--max-documents", default=10, show_default=True, help="Documents per span.")
@click.option("--context", default=100, show_default=True, help="Characters shown around a span.")
@click.option(
    "--max-bytes",
    default="100KB",
    show_default=True,
    help="Refuse outputs longer than this.",
)
@click.option("--serve", is_flag=True, help="Open a local web page instead of printing.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve: address.")
@click.option("--port", default=8000, show_default=True, help="With --serve: port.")
def trace(
    mix_dir: str,
    text: str | None,
    file: str | None,
    as_json: bool,
    min_words: int,
    max_frequency: int,
    max_density: float,
    rank: str,
    max_documents: int,
    context: int,
    max_bytes: str,
    serve: bool,
    host: str,
    port: int,
) -> None:
    """Find the spans of a model's output that occur verbatim in a mix, and their documents.

    The output is TEXT, the file given by --file, or standard input (TEXT is -). Spans are
    maximal runs of whole words of one line found in the mix; kept are those of at least
    --min-words words occurring at most --max-frequency times, at most --max-density per
    word of the output, each with up to --max-documents documents ranked by BM25 relevance
    to the whole output. Needs `dolmakit index MIX_DIR` first.

    \b
    Examples:
      dolmakit trace demo-out/mixes/demo/v2 --file answer.txt
      echo "some model output" | dolmakit trace demo-out/mixes/demo/v2 - --json
      dolmakit trace demo-out/mixes/demo/v2 --serve --port 8000
    """
    from dolmakit.trace import SpanOptions, TraceOptions, format_trace, open_index
    from dolmakit.trace import trace_text as run_trace

    options = TraceOptions(
        spans=SpanOptions(min_words, max_frequency, max_density, rank),  # type: ignore[arg-type]
        max_documents=max_documents,
        context_chars=context,
        max_bytes=parse_size(max_bytes),
    )
    if serve:
        if text is not None or file is not None:
            raise DolmakitError("--serve takes no TEXT or --file: paste the output in the page")
        from dolmakit.trace.web import serve as run_server

        run_server(mix_dir, options, host=host, port=port)
        return
    output = _read_output(text, file, options.max_bytes)
    index = open_index(mix_dir)
    try:
        result = run_trace(index, output, options)
    finally:
        index.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        click.echo(format_trace(result))


def _read_output(text: str | None, file: str | None, max_bytes: int) -> str:
    """Return the output to trace from TEXT, --file or standard input, checked."""
    from dolmakit.trace import check_output

    if text is not None and file is not None:
        raise DolmakitError("give the output as TEXT or --file, not both")
    if file is not None:
        try:
            with open(file, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size > max_bytes:
                    raise DolmakitError(
                        f"{file}: {size:,} bytes; the limit is {max_bytes:,} bytes (--max-bytes)"
                    )
                data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise DolmakitError(f"{file}: cannot read: {exc.strerror}") from None
        return check_output(data, file, max_bytes, partial=True)
    if text is None or text == "-":
        if text is None and sys.stdin.isatty():
            raise DolmakitError("no output to trace: give TEXT, --file F, or - for standard input")
        data = sys.stdin.buffer.read(max_bytes + 1)
        return check_output(data, "standard input", max_bytes, partial=True)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise DolmakitError("TEXT is not valid UTF-8 text") from None
    return check_output(data, "TEXT", max_bytes)
