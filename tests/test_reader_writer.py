"""Reading and writing documents in every format, and every kind of bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import zstandard
from conftest import make_docs, write_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dolmakit import Document, DocumentWriter, InputError, Rejects, read_documents
from dolmakit.io.reader import iter_lines

FORMATS = ["jsonl", "jsonl.gz", "jsonl.zst", "parquet"]

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
documents = st.builds(
    Document,
    id=st.text(min_size=1, max_size=30),
    text=st.text(max_size=300),
    source=st.none() | st.text(max_size=10),
    added=st.none() | st.just("2024-01-01T00:00:00Z"),
    created=st.none() | st.text(max_size=25),
    metadata=st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    extra=st.dictionaries(
        st.text(min_size=1, max_size=8).filter(
            lambda k: k not in {"id", "text", "source", "added", "created", "metadata"}
        ),
        json_values,
        max_size=2,
    ),
)


@pytest.mark.parametrize("fmt", FORMATS)
@given(docs=st.lists(documents, max_size=20))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_document_round_trips_through_every_format(
    tmp_path: Path, fmt: str, docs: list[Document]
) -> None:
    path = tmp_path / f"round.{fmt}"
    with DocumentWriter(path) as writer:
        for doc in docs:
            writer.write(doc)
    rejects = Rejects()
    back = [doc for _, doc in read_documents(path, rejects)]
    assert rejects.total == 0
    assert [d.to_dict() for d in back] == [d.to_dict() for d in docs]


def test_line_numbers_count_every_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [*make_docs(2), "not json", *make_docs(1, prefix="x")])
    rejects = Rejects()
    got = [(line, doc.id) for line, doc in read_documents(path, rejects)]
    assert got == [(1, "d0"), (2, "d1"), (4, "x0")]
    assert rejects.counts == {"invalid JSON": 1}


def test_lines_split_across_chunks_are_joined(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    docs = [{"id": str(i), "text": "x" * (300_000 + i)} for i in range(12)]
    write_lines(path, docs)
    assert [len(doc.text) for _, doc in read_documents(path)] == [len(d["text"]) for d in docs]


def test_last_line_without_newline_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}')
    assert [doc.id for _, doc in read_documents(path)] == ["a", "b"]


BAD_LINES = [
    (b"{not json", "invalid JSON"),
    (b'{"id": "a", "text": "\xff\xfe"}', "invalid UTF-8: byte 21 (0xff)"),
    (b'\xef\xbb\xbf{"id": "a", "text": "x"}', "UTF-8 byte order mark"),
    (b'{"id": "", "text": "x"}', "invalid document: field 'id' must not be empty"),
    (
        b'{"id": "a", "text": "x", "metadata": {"m": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        "JSON nested too deeply",
    ),
    (b'{"text": "no id"}', "invalid document: missing field 'id'"),
    (b'{"id": "a"}', "invalid document: missing field 'text'"),
    (b'{"id": 7, "text": "x"}', "invalid document: field 'id' must be a string, got int"),
    (b'{"id": "a", "text": ["x"]}', "invalid document: field 'text' must be a string, got list"),
    (
        b'{"id": "a", "text": "x", "metadata": 3}',
        "invalid document: field 'metadata' must be an object",
    ),
    (b"[1, 2]", "invalid document: expected a JSON object, got list"),
    (b"   ", "blank line"),
]


@pytest.mark.parametrize(("line", "reason"), BAD_LINES)
def test_bad_line_is_skipped_with_its_reason(tmp_path: Path, line: bytes, reason: str) -> None:
    path = write_lines(
        tmp_path / "bad.jsonl.zst", [make_docs(1)[0], line, make_docs(1, prefix="z")[0]]
    )
    log = tmp_path / "rejects.jsonl"
    rejects = Rejects(log_path=log)
    ids = [doc.id for _, doc in read_documents(path, rejects)]
    rejects.close()
    assert ids == ["d0", "z0"]
    [entry] = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["path"] == str(path)
    assert entry["line"] == 2
    assert entry["reason"].startswith(reason)


@pytest.mark.parametrize(("line", "reason"), BAD_LINES)
def test_bad_line_fails_with_file_and_line(tmp_path: Path, line: bytes, reason: str) -> None:
    path = write_lines(tmp_path / "bad.jsonl", [make_docs(1)[0], line])
    with pytest.raises(InputError) as info:
        list(read_documents(path, Rejects(on_error="fail")))
    assert str(info.value).startswith(f"{path}:2: {reason.split(':')[0]}")


def test_line_over_the_limit_is_rejected_and_the_next_is_read(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "long.jsonl", [{"id": "a", "text": "x" * 5000}, {"id": "b", "text": "ok"}]
    )
    rejects = Rejects()
    assert [doc.id for _, doc in read_documents(path, rejects, max_line_bytes=1000)] == ["b"]
    assert rejects.counts == {"line too long": 1}


def test_oversized_line_spanning_many_chunks_is_skipped_without_buffering(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    path.write_bytes(
        b'{"id": "a", "text": "' + b"y" * (3 << 20) + b'"}\n{"id": "b", "text": "ok"}\n'
    )
    lines = list(iter_lines(path, max_line_bytes=1 << 20))
    assert lines == [(1, None), (2, b'{"id": "b", "text": "ok"}')]


@pytest.mark.parametrize("ext", ["jsonl.gz", "jsonl.zst"])
def test_truncated_compressed_file_keeps_what_was_read_and_reports_the_cut(
    tmp_path: Path, ext: str
) -> None:
    full = write_lines(
        tmp_path / f"full.{ext}", [{"id": str(i), "text": f"t{i} " * 50} for i in range(3000)]
    )
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    rejects = Rejects()
    docs = list(read_documents(cut, rejects))
    assert 0 < len(docs) < 3000
    assert rejects.counts == {"truncated file": 1}
    with pytest.raises(InputError, match=r"cut\.jsonl\.(gz|zst):\d+: truncated file"):
        list(read_documents(cut, Rejects(on_error="fail")))


def test_multi_member_gzip_and_multi_frame_zstd_are_read_whole(tmp_path: Path) -> None:
    gz = tmp_path / "m.jsonl.gz"
    gz.write_bytes(
        gzip.compress(b'{"id":"a","text":"1"}\n') + gzip.compress(b'{"id":"b","text":"2"}\n')
    )
    zst = tmp_path / "m.jsonl.zst"
    cctx = zstandard.ZstdCompressor()
    zst.write_bytes(
        cctx.compress(b'{"id":"a","text":"1"}\n') + cctx.compress(b'{"id":"b","text":"2"}\n')
    )
    for path in (gz, zst):
        assert [doc.id for _, doc in read_documents(path)] == ["a", "b"]


def test_garbage_compressed_file_is_one_reject(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl.zst"
    path.write_bytes(b"this is not zstd at all" * 10)
    rejects = Rejects()
    assert list(read_documents(path, rejects)) == []
    assert rejects.total == 1


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "jsonl.zst"])
def test_empty_file_yields_nothing(tmp_path: Path, fmt: str) -> None:
    path = write_lines(tmp_path / f"e.{fmt}", [])
    rejects = Rejects()
    assert list(read_documents(path, rejects)) == []
    assert rejects.total == 0


def test_unknown_fields_survive_jsonl(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [{"id": "a", "text": "t", "url": "u", "score": 1}])
    [(_, doc)] = list(read_documents(path))
    assert doc.extra == {"url": "u", "score": 1}
    out = tmp_path / "b.jsonl"
    with DocumentWriter(out) as writer:
        writer.write(doc)
    assert out.read_text() == '{"id":"a","text":"t","url":"u","score":1}\n'


def test_writer_leaves_no_file_when_interrupted(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl.zst"
    with pytest.raises(RuntimeError), DocumentWriter(out) as writer:
        writer.write(Document("a", "b"))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_compressed_output_is_reproducible(tmp_path: Path) -> None:
    for fmt in ("jsonl.gz", "jsonl.zst", "parquet"):
        blobs = []
        for name in ("x", "y"):
            with DocumentWriter(tmp_path / name / f"o.{fmt}") as writer:
                for d in make_docs(50):
                    writer.write(Document(**d))
            blobs.append((tmp_path / name / f"o.{fmt}").read_bytes())
        assert blobs[0] == blobs[1], fmt
