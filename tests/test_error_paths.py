"""Error paths that used to crash: each ends in one named line or a counted reject.

Corrupt compressed inputs in both mixer passes, JSON nested past the limit in every stage,
outputs that cannot be written, `inspect` with nothing to show, and `audit verify` on a
recompressed shard.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_audit_helpers import Mixes, build_mixes, copy_mix
from test_mix_helpers import simple_spec, write_spec

from dolmakit.cli.main import cli
from dolmakit.document import MAX_NESTING, NestingError, document_from_dict
from dolmakit.errors import InputError
from dolmakit.io.reader import JSON_COLUMNS_KEY, read_documents
from dolmakit.io.rejects import Rejects
from dolmakit.mix.stage import _kept_documents

WEB = [{"id": f"w{i}", "text": f"web document {i} " * 12} for i in range(6)]
BOOKS = [{"id": f"b{i}", "text": f"book {i} " * 20} for i in range(5)]


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["-q", *map(str, args)])


def jsonl(docs: list[dict]) -> list[bytes]:
    return [json.dumps(d).encode() + b"\n" for d in docs]


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# name, file name, bytes of the web file, valid documents, rejected line, reason class
CORRUPT = {
    "zst-middle-frame": (
        "part.jsonl.zst",
        lambda lines: b"".join(
            zst(x) if i != 2 else b"\x28\xb5\x2f\xfd" + b"\xff" * 20 for i, x in enumerate(lines)
        ),
        2,
        3,
        "unreadable file",
    ),
    "zst-trailing-garbage": (
        "part.jsonl.zst",
        lambda lines: zst(b"".join(lines)) + b"trailing garbage",
        6,
        7,
        "unreadable file",
    ),
    "zst-plain-text": ("part.jsonl.zst", lambda lines: b"".join(lines), 0, 1, "unreadable file"),
    "zst-truncated": (
        "part.jsonl.zst",
        lambda lines: b"".join(map(zst, lines[:5])) + zst(lines[5])[:-8],
        5,
        6,
        "truncated file",
    ),
    "gz-truncated": (
        "part.jsonl.gz",
        lambda lines: b"".join(map(gz, lines[:5])) + gz(lines[5])[:-12],
        5,
        6,
        "truncated file",
    ),
    "gz-plain-text": ("part.jsonl.gz", lambda lines: b"".join(lines), 0, 1, "unreadable file"),
}


def corrupt_dataset(root: Path, kind: str) -> Path:
    name, make, *_ = CORRUPT[kind]
    web = root / "documents" / "web" / name
    web.parent.mkdir(parents=True)
    web.write_bytes(make(jsonl(WEB)))
    books = root / "documents" / "books" / "part.jsonl.zst"
    books.parent.mkdir(parents=True)
    books.write_bytes(zst(b"".join(jsonl(BOOKS))))
    spec = simple_spec(
        {"name": "web", "documents": ["documents/web/*"], "weight": 0.5},
        {"name": "books", "documents": ["documents/books/*"], "weight": 0.5},
    )
    return write_spec(root / "mix.yaml", spec)


@pytest.mark.parametrize("kind", sorted(CORRUPT))
def test_mix_rejects_a_corrupt_input_once_and_prints_the_balance(tmp_path: Path, kind: str) -> None:
    name, _, valid, line, reason = CORRUPT[kind]
    spec = corrupt_dataset(tmp_path, kind)
    result = invoke("mix", spec, "--output", tmp_path / "out", "--workers", "1")
    assert result.exit_code == 0, result.output
    read = valid + 1 + len(BOOKS)
    assert f"  {read} documents read = {valid + len(BOOKS)} valid + 1 rejected (2 input files)" in (
        result.output
    )
    assert f"  rejected: 1 {reason}\n" in result.output
    assert f"  web: read {valid + 1} (1 rejected), passed {valid}," in result.output
    mix = tmp_path / "out" / "t" / "v1"
    (entry,) = [
        json.loads(x) for x in (mix / ".dolmakit" / "rejects.jsonl").read_text().splitlines()
    ]
    assert (entry["path"], entry["line"]) == (f"documents/web/{name}", line)
    assert entry["reason"].startswith(f"{reason}: ")


def test_mix_on_processes_backend_with_a_corrupt_input(tmp_path: Path) -> None:
    spec = corrupt_dataset(tmp_path, "zst-trailing-garbage")
    result = invoke("mix", spec, "--output", tmp_path / "out", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "  12 documents read = 11 valid + 1 rejected (2 input files)" in result.output


def test_pass_two_names_a_file_that_broke_after_pass_one(tmp_path: Path) -> None:
    path = tmp_path / "part.jsonl.zst"
    path.write_bytes(b"".join(zst(x) for x in jsonl(WEB)))
    wanted = {2: 0, 5: 1}
    assert [line for line, _, _ in _kept_documents(path, wanted)] == [2, 5]
    # Lines after the last wanted one are not read: garbage there is never seen.
    path.write_bytes(b"".join(zst(x) for x in jsonl(WEB)[:5]) + b"garbage")
    assert [line for line, _, _ in _kept_documents(path, wanted)] == [2, 5]
    path.write_bytes(b"".join(zst(x) for x in jsonl(WEB)[:3]) + b"garbage")
    with pytest.raises(InputError, match=r"part\.jsonl\.zst:4: unreadable file: corrupt zstd"):
        list(_kept_documents(path, wanted))


# ------------------------------------------------------------------------- nesting


def nested(levels: int) -> object:
    """Return arrays nested `levels` deep (1: [])."""
    value: object = []
    for _ in range(levels - 1):
        value = [value]
    return value


def deep_line(doc_id: str, levels: int) -> bytes:
    """A document whose nesting is `levels` in all (the document is level 1)."""
    inner = "[" * (levels - 2) + "]" * (levels - 2)
    return (
        f'{{"id": "{doc_id}", "text": "deep document {doc_id}", '
        f'"metadata": {{"url": "u-{doc_id}", "x": {inner}}}}}'
    ).encode()


def depth(value: object) -> int:
    """Reference nesting depth of a decoded JSON value (scalars 0)."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def test_nesting_limit_is_exact() -> None:
    for levels, ok in ((MAX_NESTING, True), (MAX_NESTING + 1, False)):
        line = deep_line("a", levels)
        obj = msgspec.json.decode(line)
        assert depth(obj) == levels
        for hint, raw in ((None, None), (len(line), None), (None, line)):
            if ok:
                assert document_from_dict(obj, hint, raw).id == "a"
            else:
                with pytest.raises(NestingError, match="more than 256 levels"):
                    document_from_dict(obj, hint, raw)
    extra = {"id": "a", "text": "t", "other": nested(MAX_NESTING)}
    with pytest.raises(NestingError, match="'other'"):
        document_from_dict(extra)


json_values = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=12,
)


# No deadline: on a shared 2-core machine one example of 258 nested levels can take 300 ms.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, wrap=st.integers(0, MAX_NESTING + 2), text=st.text(max_size=40))
def test_nesting_check_agrees_with_the_reference_and_its_shortcut(
    value: object, wrap: int, text: str
) -> None:
    for _ in range(wrap):
        value = [value]
    obj = {"id": "a", "text": text, "metadata": {"v": value}}
    line = msgspec.json.encode(obj)
    too_deep = depth(obj) > MAX_NESTING
    for hint, raw in ((None, None), (len(line), None), (len(line), line), (None, line)):
        try:
            document_from_dict(obj, hint, raw)
            rejected = False
        except NestingError:
            rejected = True
        assert rejected == too_deep


def deep_dataset(root: Path, levels: int) -> Path:
    docs = root / "documents" / "web" / "part.jsonl.zst"
    docs.parent.mkdir(parents=True)
    lines = [json.dumps({**d, "metadata": {"url": d["id"]}}).encode() for d in WEB]
    lines.insert(2, deep_line("deep", levels))
    docs.write_bytes(zst(b"\n".join(lines) + b"\n"))
    source = {
        "name": "web",
        "documents": ["documents/web/*"],
        "attributes": ["tags", "ex", "mh"],
        "filter": "tags.lengths.characters > 0 and not ex.exact.duplicate",
        "weight": 1,
    }
    write_spec(root / "mix.yaml", simple_spec(source))
    return root


@pytest.mark.parametrize("levels", [MAX_NESTING, MAX_NESTING + 1, 990, 1500, 5000])
def test_deep_json_is_processed_or_rejected_by_every_stage(tmp_path: Path, levels: int) -> None:
    root = deep_dataset(tmp_path, levels)
    docs = root / "documents"
    kept = levels <= MAX_NESTING
    written = len(WEB) + kept
    balance = f"{len(WEB) + 1} documents read = {written} written + {1 - kept} rejected"
    serial = ("--workers", "1")
    runs = {
        "tag": invoke("tag", docs, "--run", "tags", "--taggers", "lengths", *serial),
        "exact": invoke("dedup", "exact", docs, "--run", "ex", "--by", "metadata.url", *serial),
        "minhash": invoke("dedup", "minhash", docs, "--run", "mh", *serial),
        "convert": invoke("convert", docs, root / "pq", "--format", "parquet", *serial),
    }
    for stage, result in runs.items():
        assert result.exit_code == 0, (stage, result.output)
        assert balance in result.output, (stage, result.output)
        if not kept:
            assert "rejected: 1 JSON nested too deeply" in result.output, stage
    back = invoke("convert", root / "pq", root / "back", "--format", "jsonl", *serial)
    assert f"{written} documents read = {written} written + 0 rejected" in back.output
    mixed = invoke("mix", root / "mix.yaml", "--output", root / "out", *serial)
    assert mixed.exit_code == 0, mixed.output
    assert f"{len(WEB) + 1} documents read = {written} valid + {1 - kept} rejected" in mixed.output
    shown = invoke("inspect", docs, "--id", "deep")
    trace = invoke("audit", "trace", root / "out" / "t" / "v1", "deep")
    stats = invoke("stats", root)
    assert stats.exit_code == 0, stats.output
    for result in (back, mixed, shown, trace, stats):
        assert "Traceback" not in result.output and "RecursionError" not in result.output
    if kept:
        assert shown.exit_code == 0 and "deep document deep" in shown.output
        assert trace.exit_code == 0, trace.output
        parquet = invoke("inspect", root / "pq", "--id", "deep", "--json")
        assert parquet.exit_code == 0
        assert depth(json.loads(parquet.output)["metadata"]) == levels - 1
    else:
        assert shown.exit_code == 1
        assert "part.jsonl.zst:3: rejected: JSON nested too deeply" in shown.output
        assert "no document with id 'deep'" in shown.output
        assert trace.exit_code == 1 and "not an output document" in trace.output


def test_deep_json_in_a_parquet_column_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "deep.parquet"
    table = pa.table(
        {
            "id": ["a", "b"],
            "text": ["x", "y"],
            "metadata": ["{}", "[" * 5000 + "]" * 5000],
        },
        schema=pa.schema(
            [("id", pa.string()), ("text", pa.string()), ("metadata", pa.string())],
            metadata={JSON_COLUMNS_KEY: b"metadata"},
        ),
    )
    pq.write_table(table, path)
    rejects = Rejects()
    assert [doc.id for _, doc in read_documents(path, rejects)] == ["a"]
    assert rejects.counts == {"JSON nested too deeply": 1}


# ------------------------------------------------------------------------- outputs


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A dataset of two sources with a mix spec, and a regular file `blocker` beside it."""
    corrupt_dataset(tmp_path, "zst-trailing-garbage")
    (tmp_path / "blocker").write_text("a file, not a folder\n")
    return tmp_path


def one_error_line(result: Result, blocker: Path | str) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and ".tmp-" not in result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: cannot write ")
    assert line.endswith(f": {blocker} is a file, not a folder")
    return line


UNDER_A_FILE = {
    "convert": (["convert", "documents", "blocker/out"], "the destination blocker/out"),
    "mix --output": (["mix", "mix.yaml", "--output", "blocker/out"], "the mix "),
    "mix --work-dir": (
        ["mix", "mix.yaml", "--output", "out", "--work-dir", "blocker/work"],
        "the work folder ",
    ),
    "dedup minhash --report-dir": (
        ["dedup", "minhash", "documents", "--report-dir", "blocker/r"],
        "the report folder blocker/r",
    ),
    "dedup exact --report-dir": (
        ["dedup", "exact", "documents", "--report-dir", "blocker/r"],
        "the report folder blocker/r",
    ),
}


@pytest.mark.parametrize("case", sorted(UNDER_A_FILE))
def test_output_under_a_regular_file_is_one_line(
    small: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    args, what = UNDER_A_FILE[case]
    monkeypatch.chdir(small)
    result = invoke(*args)
    line = one_error_line(result, small / "blocker" if case.startswith("mix") else "blocker")
    assert line.startswith(f"Error: cannot write {what}")


@pytest.mark.parametrize(
    "args",
    [
        ["tag", "documents", "--run", "tags", "--taggers", "lengths"],
        ["dedup", "exact", "documents", "--run", "ex"],
        ["dedup", "minhash", "documents", "--run", "mh", "--report-dir", "report"],
    ],
    ids=["tag", "dedup exact", "dedup minhash"],
)
def test_a_file_where_attributes_should_be_is_one_line(
    small: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    (small / "attributes").write_text("not a folder\n")
    monkeypatch.chdir(small)
    one_error_line(invoke(*args), small / "attributes")


def test_the_runner_names_a_file_in_the_way_of_any_output(tmp_path: Path) -> None:
    from dolmakit.errors import StorageError
    from dolmakit.run.runner import ShardJob, ShardResult, run_shards

    (tmp_path / "file").write_text("x")
    job = ShardJob("k", tmp_path / "in", (tmp_path / "file" / "out.jsonl",), None)
    with pytest.raises(StorageError, match=r"an output folder .*/file/?: .*/file is a file"):
        run_shards(
            "s",
            [job],
            lambda j, r: ShardResult("k", stats=None),
            record_dir=tmp_path / "rec",
            config={},
            stats=type(None),
        )


def test_an_unreadable_input_gets_no_output_and_mix_says_why(tmp_path: Path) -> None:
    docs = tmp_path / "documents" / "web"
    docs.mkdir(parents=True)
    good = jsonl(WEB)
    pq.write_table(pa.table({"id": [d["id"] for d in WEB], "text": [d["text"] for d in WEB]}),
                   docs / "a.parquet")  # fmt: skip
    (docs / "b.jsonl").write_bytes(b"".join(good))
    assert (
        invoke("tag", tmp_path / "documents", "--run", "tags", "--taggers", "lengths").exit_code
        == 0
    )
    attrs = tmp_path / "attributes" / "tags" / "web" / "a.parquet"
    assert attrs.is_file()
    (docs / "a.parquet").write_bytes(b"PAR1 garbage, not a parquet file")
    runs = [
        ["tag", "documents", "--run", "tags", "--taggers", "lengths"],
        ["dedup", "exact", "documents", "--run", "ex"],
        ["dedup", "minhash", "documents", "--run", "mh"],
        ["convert", "documents", "converted"],
    ]
    for args in runs:
        result = invoke(*[tmp_path / a if a in ("documents", "converted") else a for a in args])
        assert result.exit_code == 0, (args, result.output)
        assert "rejected: 1 unreadable file" in result.output
    assert not attrs.exists()  # the earlier file of the readable input is gone too
    for run in ("ex", "mh"):
        assert not (tmp_path / "attributes" / run / "web" / "a.parquet").exists()
        assert (tmp_path / "attributes" / run / "web" / "b.jsonl").is_file()
    assert not (tmp_path / "converted" / "a.jsonl.zst").exists()
    assert (tmp_path / "converted" / "b.jsonl.zst").is_file()
    spec = simple_spec(
        {"name": "web", "documents": ["documents/web/*"], "attributes": ["tags"], "weight": 1}
    )
    write_spec(tmp_path / "mix.yaml", spec)
    mixed = invoke("mix", tmp_path / "mix.yaml", "--output", tmp_path / "out")
    assert mixed.exit_code == 1
    assert "has no file for documents/web/a.parquet" in mixed.output
    assert "the document file cannot be read" in mixed.output
    assert len(mixed.output.strip().splitlines()) == 1


# ------------------------------------------------------------------------- inspect


def test_inspect_says_why_nothing_is_shown(tmp_path: Path, dataset: Callable[..., Path]) -> None:
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet")
    result = invoke("inspect", garbage)
    assert result.exit_code == 1
    listed, error = result.output.splitlines()
    assert listed.startswith(f"{garbage}: rejected: unreadable file: ")
    assert error == f"Error: no document to show in {garbage}: 1 unreadable file (listed above)"
    ds = dataset({"web/a.jsonl": []})
    (ds / "documents" / "web" / "a.jsonl").write_bytes(
        b"".join(jsonl(WEB[:2])) + b'{"id": "bad", "text": 5}\n' + b"".join(jsonl(WEB[2:3]))
    )
    docs = ds / "documents"
    missing = invoke("inspect", docs, "--id", "bad")
    assert missing.exit_code == 1
    assert "a.jsonl:3: rejected: invalid document: field 'text' must be a string" in missing.output
    assert missing.output.strip().splitlines()[-1] == (
        f"Error: no document with id 'bad' in {docs}; 1 rejected line (listed above), "
        "it may be among them"
    )
    found = invoke("inspect", docs, "--id", "w2", "--json")
    assert found.exit_code == 0 and json.loads(found.output.splitlines()[0])["id"] == "w2"
    assert "a.jsonl:3: rejected" in found.output  # still listed: it was read on the way
    first = invoke("inspect", docs, "--limit", "1", "--json")
    assert first.exit_code == 0 and len(first.output.splitlines()) == 1


# ------------------------------------------------------------------------- verify


@pytest.fixture(scope="module")
def mixes(tmp_path_factory: pytest.TempPathFactory) -> Mixes:
    return build_mixes(tmp_path_factory.mktemp("error-paths-verify"))


def verify(mix: Path) -> Result:
    return CliRunner().invoke(cli, ["audit", "verify", str(mix)])


def test_verify_tells_a_recompressed_shard_from_a_truncated_one(
    mixes: Mixes, tmp_path: Path
) -> None:
    mix = copy_mix(mixes.v1, tmp_path / "mix")
    shard = mix / "shard-00001.jsonl.zst"
    original = shard.read_bytes()
    content = b"".join(zstandard.ZstdDecompressor().read_to_iter(original))
    shard.write_bytes(zstandard.ZstdCompressor(level=19).compress(content))
    assert shard.stat().st_size < len(original)
    result = verify(mix)
    assert result.exit_code == 1
    problems = result.output.splitlines()[:-1]
    assert len(problems) == 1 and problems[0].startswith(
        "changed: shard-00001.jsonl.zst: compressed bytes differ from the manifest's sha256 ("
    )
    assert "decompresses to its end with the recorded" in problems[0]
    assert "truncated" not in result.output
    shard.write_bytes(original[: len(original) // 2])
    cut = verify(mix).output
    assert "truncated: shard-00001.jsonl.zst: " in cut
    assert ": the compressed stream ends early" in cut
    shard.write_bytes(original[:4] + b"\xff" * 4 + original[8:])
    broken = verify(mix)
    assert broken.exit_code == 1 and "Traceback" not in broken.output
    assert "unreadable: shard-00001.jsonl.zst: line 1: corrupt zstd data" in broken.output


def test_labelled_training_lines_name_read_errors(tmp_path: Path) -> None:
    from dolmakit.taggers.train import load_labelled_jsonl

    good = b'{"text": "a b", "label": "hq"}\n'
    deep = tmp_path / "deep.jsonl"
    deep.write_bytes(
        good + b'{"text": "x", "label": "hq", "m": ' + b"[" * 5000 + b"]" * 5000 + b"}\n"
    )
    with pytest.raises(InputError, match=r"deep\.jsonl:2: JSON nested too deeply"):
        load_labelled_jsonl([deep])
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gz(good * 3)[:-12])
    with pytest.raises(InputError, match=r"cut\.jsonl\.gz:\d+: truncated file"):
        load_labelled_jsonl([cut])
