"""dolmakit takedown: the next version without the listed documents, every other byte kept.

The fixture mix has crawled `web` pages (URLs on three domains, one with a subdomain),
sampled at 0.7, and `books` upsampled (rate above 1, so some appear twice), in small
shards. Expected removals are worked out from the v1 shards directly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_mix_helpers import make_source, words, write_spec

from dolmakit.audit.diff import diff_mixes, format_diff
from dolmakit.audit.trace import where
from dolmakit.audit.verify import verify_mix
from dolmakit.cli.main import cli
from dolmakit.io.compression import iter_chunks
from dolmakit.mix import build_mix
from dolmakit.mix.manifest import read_manifest
from dolmakit.mix.takedown import TakedownError, next_version, read_takedown_list, take_down
from dolmakit.run.options import RunOptions

DOMAINS = ("example.org", "news.example.com", "blog.example.net")


def web_doc(i: int) -> dict[str, Any]:
    host = DOMAINS[i % 3]
    return {
        "id": f"w{i}",
        "text": words(20 + i, f"w{i}x"),
        "source": "web",
        "metadata": {"url": f"https://{host}/page/{i}", "license": "CC-BY-4.0"},
    }


def book_doc(i: int) -> dict[str, Any]:
    return {"id": f"b{i}", "text": words(30 + 3 * i, f"b{i}y"), "source": "books"}


@pytest.fixture(scope="module")
def v1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("takedown")
    data = root / "data"
    make_source(data, "web", [web_doc(i) for i in range(30)])
    make_source(data, "books", [book_doc(i) for i in range(6)])
    spec = {
        "name": "td",
        "version": 1,
        "seed": 3,
        "tokenizer": "whitespace",
        "target_tokens": 1500,
        "sources": [
            {"name": "web", "documents": ["documents/web/*.jsonl.zst"], "rate": 0.7},
            {
                "name": "books",
                "documents": ["documents/books/*.jsonl.zst"],
                "weight": 1.0,
                "max_repeats": 3,
                "licence": "CC0-1.0",
            },
        ],
        "output": {"format": "jsonl.zst", "shard_size": 1200},
    }
    path = write_spec(root / "td.yaml", spec)
    return build_mix(
        path, data_root=data, output=root / "mixes", run_options=RunOptions(progress=False)
    ).mix_dir


def lines(mix: Path) -> list[bytes]:
    """Return every output line of a mix, in order, as stored."""
    out = []
    for shard in read_manifest(mix).shards:
        out.extend(b"".join(iter_chunks(mix / shard.path)).splitlines())
    return out


def write_list(path: Path, entries: list[str]) -> Path:
    path.write_text("# takedown request\n\n" + "\n".join(entries) + "\n")
    return path


def kept_after(before: list[bytes], gone: set[str]) -> list[bytes]:
    return [line for line in before if json.loads(line)["id"] not in gone]


def test_ids_are_removed_with_every_copy_and_nothing_else_changes(v1: Path, tmp_path: Path) -> None:
    before = lines(v1)
    ids = [json.loads(line)["id"] for line in before]
    repeated = next(i for i in ids if ids.count(i) > 1 and i.startswith("b"))
    web = next(i for i in ids if i.startswith("w"))
    request = read_takedown_list(write_list(tmp_path / "ids.txt", [repeated, web, "nope"]), "ids")
    result = take_down(v1, request, "author's request", out=tmp_path / "v2", on="2026-12-01")
    after = lines(result.mix_dir)
    assert after == kept_after(before, {repeated, web})
    assert len(before) - len(after) == ids.count(repeated) + ids.count(web)
    m = result.manifest
    assert m.version == "2" and m.totals.documents == len(after)
    (record,) = m.takedowns or ()
    assert (record.number, record.kind, record.reason, record.date) == (
        1,
        "ids",
        "author's request",
        "2026-12-01",
    )
    assert (record.entries, record.entries_matched, record.documents) == (3, 2, 2)
    assert record.copies == ids.count(repeated) + ids.count(web)
    assert (
        record.list_sha256
        == __import__("hashlib").sha256((tmp_path / "ids.txt").read_bytes()).hexdigest()
    )
    assert record.previous_sha256 == read_manifest(v1).content_sha256
    assert result.unmatched == ("nope",)
    books = next(s for s in m.sources if s.name == "books")
    old_books = next(s for s in read_manifest(v1).sources if s.name == "books")
    assert books.funnel.taken_down == 1
    assert books.funnel.sampled == old_books.funnel.sampled  # not re-drawn
    assert books.rate == old_books.rate
    assert books.funnel.emitted_documents == old_books.funnel.emitted_documents - ids.count(
        repeated
    )
    assert verify_mix(result.mix_dir).ok, verify_mix(result.mix_dir).lines()


def test_untouched_shards_and_decisions_are_copied_byte_for_byte(v1: Path, tmp_path: Path) -> None:
    old = read_manifest(v1)
    first = b"".join(iter_chunks(v1 / old.shards[-1].path)).splitlines()
    doc_id = json.loads(first[0])["id"]
    request = read_takedown_list(write_list(tmp_path / "ids.txt", [doc_id]), "ids")
    new = take_down(v1, request, "r", out=tmp_path / "v2").manifest
    assert new.shards[0] == old.shards[0]
    assert (tmp_path / "v2" / old.shards[0].path).read_bytes() == (
        v1 / old.shards[0].path
    ).read_bytes()
    changed = [d for d in new.decisions if d not in old.decisions]
    assert len(changed) == 1 and changed[0].input.startswith(
        "documents/web" if doc_id.startswith("w") else "documents/books"
    )


def test_a_shard_that_empties_is_dropped_and_later_shards_move_up(v1: Path, tmp_path: Path) -> None:
    old = read_manifest(v1)
    assert len(old.shards) >= 3
    shard0 = [
        json.loads(x)["id"] for x in b"".join(iter_chunks(v1 / old.shards[0].path)).splitlines()
    ]
    request = read_takedown_list(write_list(tmp_path / "ids.txt", shard0), "ids")
    result = take_down(v1, request, "r", out=tmp_path / "v2")
    assert lines(result.mix_dir) == kept_after(lines(v1), set(shard0))
    assert [s.path for s in result.manifest.shards] == [
        f"shard-{n:05d}.jsonl.zst" for n in range(len(result.manifest.shards))
    ]
    assert verify_mix(result.mix_dir).ok


def test_urls_and_domains_match_metadata_url(v1: Path, tmp_path: Path) -> None:
    before = lines(v1)
    docs = [json.loads(line) for line in before]
    urls = {d["metadata"]["url"]: d["id"] for d in docs if "url" in d.get("metadata", {})}
    some = sorted(urls)[:2]
    request = read_takedown_list(
        write_list(tmp_path / "urls.txt", [u.replace("https://", "HTTPS://") for u in some]), "urls"
    )
    result = take_down(v1, request, "dmca", out=tmp_path / "u")
    assert lines(result.mix_dir) == kept_after(before, {urls[u] for u in some})
    # a domain takes its subdomains: example.com covers news.example.com
    request = read_takedown_list(write_list(tmp_path / "d.txt", ["Example.COM."]), "domains")
    result = take_down(v1, request, "site owner", out=tmp_path / "d")
    gone = {d["id"] for d in docs if "example.com/" in d.get("metadata", {}).get("url", "")}
    assert gone and lines(result.mix_dir) == kept_after(before, gone)
    both = read_takedown_list(write_list(tmp_path / "b.txt", ["example.com", "news.example.com"]),
                              "domains")  # fmt: skip
    record = take_down(v1, both, "site owner", out=tmp_path / "b").record
    assert (record.entries, record.entries_matched, record.documents) == (2, 2, len(gone))


def test_a_second_takedown_keeps_the_first_and_where_names_both(v1: Path, tmp_path: Path) -> None:
    ids = sorted({json.loads(line)["id"] for line in lines(v1)})
    first = read_takedown_list(write_list(tmp_path / "a.txt", [ids[0]]), "ids")
    v2 = take_down(v1, first, "first request", on="2026-01-02").mix_dir
    assert v2 == v1.parent / "v2"
    second = read_takedown_list(write_list(tmp_path / "b.txt", [ids[-1]]), "ids")
    v3 = take_down(v2, second, "second request", on="2026-02-03")
    assert [t.number for t in v3.manifest.takedowns or ()] == [1, 2]
    assert verify_mix(v3.mix_dir).ok, verify_mix(v3.mix_dir).lines()
    (origin,) = where(v3.mix_dir, ids[0])
    assert origin.reason() == (
        "not in the mix: removed by takedown 1 (first request) of 2026-01-02, from v1 to v2"
    )
    (origin,) = where(v3.mix_dir, ids[-1])
    assert "takedown 2 (second request)" in origin.reason()
    assert where(v3.mix_dir, ids[1])[0].outcome in ("kept", "not-sampled")
    diff = diff_mixes(v1, v3.mix_dir, every=True)
    assert {k[2] for k in diff.removed_examples} == {ids[0], ids[-1]}
    assert diff.added == 0 and not diff.spec
    text = format_diff(diff)
    assert "takedown 1 (first request, 2026-01-02): 1 document removed" in text
    assert "takedown 2 (second request, 2026-02-03)" in text


def test_cli_takedown_diff_and_where(v1: Path, tmp_path: Path) -> None:
    ids = sorted({json.loads(line)["id"] for line in lines(v1)})
    listed = write_list(tmp_path / "ids.txt", ids[:3])
    runner = CliRunner()
    out = tmp_path / "next"
    res = runner.invoke(
        cli,
        ["takedown", str(v1), "--ids", str(listed), "--reason", "GDPR erasure", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert res.output.startswith(
        "takedown 1 of td v1 -> v2: 3 of 3 ids matched; removed 3 documents"
    )
    res = runner.invoke(cli, ["audit", "diff", "--all", str(v1), str(out)])
    assert res.exit_code == 0, res.output
    removed = [line for line in res.output.splitlines() if line.startswith("  removed: ")]
    assert sorted(line.split()[1] for line in removed) == ids[:3]
    res = runner.invoke(cli, ["audit", "where", str(out), ids[0]])
    assert "removed by takedown 1 (GDPR erasure)" in res.output


@pytest.mark.parametrize(
    ("entries", "kind", "problem"),
    [
        (["ftp//broken"], "urls", "ids.txt:3: 'ftp//broken' is not a URL with a scheme and host"),
        (["exa mple.org"], "domains", "ids.txt:3: 'exa mple.org' is not a domain name"),
        ([], "ids", "the takedown list has no entries"),
    ],
)
def test_bad_lists_are_one_line_naming_file_and_line(
    tmp_path: Path, entries: list[str], kind: str, problem: str
) -> None:
    with pytest.raises(TakedownError, match=problem):
        read_takedown_list(write_list(tmp_path / "ids.txt", entries), kind)  # type: ignore[arg-type]


def test_a_list_matching_nothing_fails_unless_allowed(v1: Path, tmp_path: Path) -> None:
    listed = write_list(tmp_path / "ids.txt", ["nothing-like-this"])
    runner = CliRunner()
    args = [
        "takedown",
        str(v1),
        "--ids",
        str(listed),
        "--reason",
        "r",
        "--out",
        str(tmp_path / "o"),
    ]
    res = runner.invoke(cli, args)
    assert res.exit_code != 0
    assert (
        res.output.strip()
        .splitlines()[-1]
        .endswith(
            "ids.txt: none of its 1 id matches a document of td v1; nothing taken down"
            " (--allow-empty records the request anyway)"
        )
    )
    assert not (tmp_path / "o").exists()
    res = runner.invoke(cli, [*args, "--allow-empty"])
    assert res.exit_code == 0, res.output
    assert lines(tmp_path / "o") == lines(v1)
    assert read_manifest(tmp_path / "o").takedowns[0].documents == 0  # type: ignore[index]


def test_output_folder_not_empty_and_bad_options_are_one_line(v1: Path, tmp_path: Path) -> None:
    listed = write_list(tmp_path / "ids.txt", ["w1"])
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    runner = CliRunner()
    res = runner.invoke(
        cli, ["takedown", str(v1), "--ids", str(listed), "--reason", "r", "--out", str(busy)]
    )
    assert res.exit_code != 0
    assert "busy: the output folder is not empty; give --out a new or empty folder" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(cli, ["takedown", str(v1), "--ids", str(listed), "--urls", str(listed),
                              "--reason", "r"])  # fmt: skip
    assert "give exactly one of --ids FILE, --urls FILE, --domains FILE" in res.output
    assert res.exit_code != 0


def test_next_version() -> None:
    assert next_version("2") == "3"
    assert next_version("1.9") == "1.10"
    with pytest.raises(Exception, match="does not end in a number"):
        next_version("beta")


def test_a_taken_down_version_rebuilds_byte_for_byte(v1: Path, tmp_path: Path) -> None:
    from dolmakit.audit.rebuild import rebuild_mix

    ids = sorted({json.loads(line)["id"] for line in lines(v1)})
    first = read_takedown_list(write_list(tmp_path / "a.txt", ids[:2]), "ids")
    v2 = take_down(v1, first, "one", out=tmp_path / "mixes" / "v2").mix_dir
    second = read_takedown_list(write_list(tmp_path / "b.txt", ids[-1:]), "ids")
    v3 = take_down(v2, second, "two", out=tmp_path / "mixes" / "v3").mix_dir
    result = rebuild_mix(v3)
    assert result.reproducible, result.message()
    assert result.files_compared == len(read_manifest(v3).shards) + 2 + 2 + 1


def test_the_summary_names_each_removed_document_once(v1: Path, tmp_path: Path) -> None:
    before = [json.loads(line)["id"] for line in lines(v1)]
    repeated = next(i for i in before if before.count(i) > 1)
    request = read_takedown_list(write_list(tmp_path / "ids.txt", [repeated]), "ids")
    result = take_down(v1, request, "r", out=tmp_path / "v2")
    assert [line for line in result.lines() if line.startswith("  removed: ")] == [
        f"  removed: {repeated}  (books, documents/books/part-0.jsonl.zst:{int(repeated[1:]) + 1})"
    ]


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_takedown_removes_exactly_the_listed_documents(v1: Path, data: st.DataObject) -> None:
    import tempfile

    before = lines(v1)
    ids = sorted({json.loads(line)["id"] for line in before})
    chosen = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids), unique=True))
    with tempfile.TemporaryDirectory() as tmp:
        request = read_takedown_list(write_list(Path(tmp) / "ids.txt", chosen), "ids")
        result = take_down(v1, request, "property", out=Path(tmp) / "out")
        assert lines(result.mix_dir) == kept_after(before, set(chosen))
        assert result.manifest.totals.tokens == sum(s.tokens for s in result.manifest.shards)
        assert verify_mix(result.mix_dir).ok


def test_a_parquet_mix_keeps_every_other_row(tmp_path: Path) -> None:
    from dolmakit.io.reader import read_documents

    data = tmp_path / "data"
    make_source(data, "web", [web_doc(i) for i in range(12)])
    spec = {
        "name": "pq",
        "version": 1,
        "seed": 3,
        "tokenizer": "whitespace",
        "sources": [{"name": "web", "documents": ["documents/web/*.jsonl.zst"], "rate": 1.0}],
        "output": {"format": "parquet", "shard_size": 600},
    }
    path = write_spec(tmp_path / "pq.yaml", spec)
    mix = build_mix(
        path, data_root=data, output=tmp_path / "mixes", run_options=RunOptions(progress=False)
    ).mix_dir

    def rows(folder: Path) -> list[dict[str, Any]]:
        shards = read_manifest(folder).shards
        return [d.to_dict() for s in shards for _, d in read_documents(folder / s.path)]

    request = read_takedown_list(write_list(tmp_path / "d.txt", ["example.org"]), "domains")
    result = take_down(mix, request, "r")
    gone = {f"w{i}" for i in range(0, 12, 3)}
    assert rows(result.mix_dir) == [d for d in rows(mix) if d["id"] not in gone]
    assert verify_mix(result.mix_dir).ok, verify_mix(result.mix_dir).lines()


def test_publish_and_the_summary_regenerate_from_the_new_version(v1: Path, tmp_path: Path) -> None:
    pytest.importorskip("tldextract")
    import pyarrow.parquet as pq

    from dolmakit.audit.summary import build_summary, load_provider
    from dolmakit.publish.release import publish_mix

    before = [json.loads(line)["id"] for line in lines(v1)]
    request = read_takedown_list(write_list(tmp_path / "ids.txt", [before[0]]), "ids")
    v2 = take_down(v1, request, "erasure request", out=tmp_path / "v2", on="2026-03-04").mix_dir
    publish_mix(v2, tmp_path / "release")
    ids = [r for f in sorted((tmp_path / "release/data").glob("*.parquet"))
           for r in pq.read_table(f, columns=["id"]).column("id").to_pylist()]  # fmt: skip
    assert ids == [i for i in before if i != before[0]]
    card = (tmp_path / "release" / "README.md").read_text()
    assert "Takedown 1 (2026-03-04, v1 -> v2): erasure request; 1 document removed" in card
    summary = build_summary([v2], load_provider(None))
    (line,) = summary["processing"]["takedowns"]
    assert line.startswith(
        "td v2: takedown 1 of 2026-03-04 (v1 -> v2, erasure request): 1 document removed"
    )
    assert summary["size"]["text"]["tokens"] == read_manifest(v2).totals.tokens
