"""Progress lines: the user's input paths, true counts, an ETA only once it means something."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner
from conftest import make_docs, write_lines

from dolmakit.cli.main import cli
from dolmakit.io.units import counted
from dolmakit.run.progress import Progress, short_names


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_counted_words() -> None:
    assert counted(1, "document") == "1 document"
    assert counted(0, "document") == "0 documents"
    assert counted(2240, "shard") == "2,240 shards"
    assert counted(2, "copy", "copies") == "2 copies"


def test_short_names_are_relative_to_the_common_folder() -> None:
    docs = Path("/data/demo/documents")
    paths = [docs / "python-doc" / "en-0000.jsonl.zst", docs / "fortunes" / "de-0000.jsonl.zst"]
    assert short_names(paths) == ["python-doc/en-0000.jsonl.zst", "fortunes/de-0000.jsonl.zst"]
    assert short_names([docs / "web" / "a.jsonl"]) == ["a.jsonl"]
    assert short_names([]) == []


def test_no_eta_until_a_few_shards_are_done_and_none_on_the_last_line() -> None:
    clock, out = Clock(), io.StringIO()
    progress = Progress("tag", 12, 1200, stream=out, clock=clock)
    clock.now += 5  # the first shard takes long: the models load
    progress.update(80, 100_000)
    progress.shard_done("python-doc/en-0000.jsonl.zst", 100)
    assert progress.eta() is None
    first = out.getvalue()
    assert first.startswith("tag: 1/12 shards · 80 docs · 16 docs/s · 0.0 MB/s · elapsed 0:05")
    assert "ETA" not in first and first.endswith(" · last: python-doc/en-0000.jsonl.zst\n")
    for _ in range(2):  # then one shard every 0.5 s
        clock.now += 0.5
        progress.shard_done("x", 100)
    assert progress.eta() == 4.5  # 9 shards left at 0.5 s each, not 9 x 5.7 s
    for _ in range(9):
        clock.now += 0.5
        progress.shard_done("x", 100)
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("tag: 12/12 shards") and "ETA" not in last


def test_a_step_without_bytes_shows_no_byte_rate_and_one_shard_no_last_name() -> None:
    clock, out = Clock(), io.StringIO()
    progress = Progress("dedup exact (e) attributes", 1, 10, stream=out, clock=clock)
    clock.now += 2
    progress.update(1, 0)
    progress.shard_done("web/a.jsonl", 10)
    assert out.getvalue() == (
        "dedup exact (e) attributes: 1/1 shard · 1 doc · 0 docs/s · elapsed 0:02\n"
    )


def test_dedup_progress_counts_the_attribute_step_and_names_inputs(tmp_path: Path) -> None:
    for source in ("books", "web"):  # the same three texts: web's copies are the duplicates
        docs = [{**d, "id": f"{source}{i}", "source": source} for i, d in enumerate(make_docs(3))]
        write_lines(tmp_path / "documents" / source / "part-0.jsonl", docs)
    result = CliRunner().invoke(
        cli, ["dedup", "exact", str(tmp_path / "documents"), "--run", "e", "--backend", "serial"]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if " shards · " in line]
    assert [line.split(":")[0] for line in lines] == [
        "dedup exact (e) hashes",
        "dedup exact (e) attributes",
    ]
    attributes = lines[1]
    assert " · 6 docs · " in attributes and "MB/s" not in attributes
    assert attributes.endswith(" · last: web/part-0.jsonl")
    assert "3 documents marked as duplicates" in result.output
    assert "  web: 3 documents, 3 documents marked as duplicates" in result.output
