"""The storage layer: s3:// locations, listing and globbing, atomic writes, clear errors."""

from __future__ import annotations

import glob
import pickle
from pathlib import Path, PurePosixPath

import pytest
from click.testing import CliRunner
from conftest import make_docs, write_lines
from conftest_s3 import set_moto_auth, tree_bytes, upload_tree
from hypothesis import given, settings
from hypothesis import strategies as st

from dolmakit.cli.main import cli
from dolmakit.errors import DolmakitError, StorageError
from dolmakit.io import storage
from dolmakit.io.atomic import atomic_open, write_bytes_atomic
from dolmakit.io.compression import iter_chunks
from dolmakit.io.paths import attribute_path, expand_inputs, split_dataset_path
from dolmakit.io.reader import read_documents
from dolmakit.io.storage import RemotePath, location, match_components
from dolmakit.io.writer import DocumentWriter, JsonlWriter


def test_location_parses_uris_and_keeps_local_paths() -> None:
    loc = location("s3://bucket/docs/a.jsonl")
    assert isinstance(loc, RemotePath)
    assert str(loc) == "s3://bucket/docs/a.jsonl"
    assert (loc.bucket, loc.key, loc.fs_path) == ("bucket", "docs/a.jsonl", "bucket/docs/a.jsonl")
    assert str(loc.parent / "b.jsonl") == "s3://bucket/docs/b.jsonl"
    assert str(loc.with_name("c.zst")) == "s3://bucket/docs/c.zst"
    assert loc.relative_to(location("s3://bucket")) == PurePosixPath("docs/a.jsonl")
    assert str(Path("/out") / loc.relative_to(location("s3://bucket"))) == "/out/docs/a.jsonl"
    # What Path() collapses an URI to is repaired; plain paths stay Path, unchanged.
    assert location(Path("s3://bucket/docs/a.jsonl")) == loc
    assert location("data/x.jsonl") == Path("data/x.jsonl")
    assert type(location("data/x.jsonl")) is not RemotePath
    assert pickle.loads(pickle.dumps(loc)) == loc
    assert loc != Path("/bucket/docs/a.jsonl") and Path("/bucket/docs/a.jsonl") != loc
    assert len({loc, Path("/bucket/docs/a.jsonl")}) == 2
    with pytest.raises(StorageError, match="unsupported storage scheme 'gs'"):
        location("gs://bucket/x")
    with pytest.raises(StorageError, match="no bucket name"):
        location("s3://")


def test_remote_path_refuses_local_file_operations() -> None:
    loc = location("s3://bucket/x.jsonl")
    with pytest.raises(StorageError, match=r"s3://bucket/x\.jsonl: this step needs a local file"):
        open(loc, "rb")  # noqa: SIM115 - must fail before opening anything


def test_dataset_paths_on_s3() -> None:
    doc = location("s3://b/corpus/documents/web/en-0001.jsonl.zst")
    dataset, rel = split_dataset_path(doc)
    assert str(dataset) == "s3://b/corpus" and isinstance(dataset, RemotePath)
    assert rel == Path("web/en-0001.jsonl.zst")
    assert str(attribute_path(doc, "q")) == "s3://b/corpus/attributes/q/web/en-0001.jsonl.zst"
    assert str(attribute_path("s3://b/documents/x.jsonl", "q")) == "s3://b/attributes/q/x.jsonl"


NAMES = st.sampled_from(["a", "b", "ab", ".h", "x.jsonl", "y.zst", "a.jsonl", "[", "c"])
PATTERN_PARTS = st.sampled_from(["*", "**", "a*", "?", "*.jsonl", "[ab]", "a", ".h", "*b", "x*"])


@settings(max_examples=150, deadline=None)
@given(
    files=st.lists(st.lists(NAMES, min_size=1, max_size=4), min_size=1, max_size=8),
    pattern=st.lists(PATTERN_PARTS, min_size=1, max_size=4),
)
def test_object_glob_matches_like_local_glob(
    tmp_path_factory: pytest.TempPathFactory, files: list[list[str]], pattern: list[str]
) -> None:
    root = tmp_path_factory.mktemp("glob")
    made: set[Path] = set()
    for parts in files:
        path = root.joinpath(*parts)
        if any(parent in made for parent in path.parents) or any(
            m.is_relative_to(path) for m in made
        ):
            continue  # a name cannot be a file and a folder at once
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        made.add(path)
    expected = {
        Path(m).relative_to(root).parts
        for m in glob.glob(str(root.joinpath(*pattern)), recursive=True)
        # glob("file/**") returns "file/", a quirk of glob's, not a match of the file
        if Path(m).is_file() and not m.endswith("/")
    }
    keys = [p.relative_to(root).parts for p in made]
    got = {k for k in keys if match_components(tuple(pattern), list(k))}
    assert got == expected


def test_listing_and_globs_equal_local(tmp_path: Path, s3_bucket: RemotePath) -> None:
    local = tmp_path / "ds"
    for name in [
        "web/a-0.jsonl.zst",
        "web/a-1.jsonl",
        "web/.hidden.jsonl",
        "wiki/b.json.gz",
        "wiki/deep/c.parquet",
        "notes.txt",
        ".dolmakit/x.jsonl",
        "wiki/.tmp/d.jsonl",
    ]:
        write_lines(local / "documents" / name, make_docs(1))
    upload_tree(local, s3_bucket / "ds")
    specs = [
        "documents",
        "documents/web",
        "documents/**/*.jsonl*",
        "documents/*/*",
        "documents/wiki/deep/c.parquet",
        "documents/w*/a-?.jsonl*",
    ]
    for spec in specs:
        want = [p.relative_to(local) for p in expand_inputs([f"{local}/{spec}"])]
        got = [p.relative_to(s3_bucket / "ds") for p in expand_inputs([f"{s3_bucket}/ds/{spec}"])]
        assert got == want, spec
    assert all(isinstance(p, RemotePath) for p in expand_inputs([f"{s3_bucket}/ds/documents"]))


def test_bytes_written_to_s3_equal_local(tmp_path: Path, s3_bucket: RemotePath) -> None:
    docs = make_docs(50)
    from dolmakit.document import document_from_dict

    for name in ["x.jsonl", "x.jsonl.gz", "x.jsonl.zst", "x.parquet"]:
        for root in (tmp_path, s3_bucket):
            with DocumentWriter(root / name) as writer:
                for doc in docs:
                    writer.write(document_from_dict(doc))
        assert (s3_bucket / name).read_bytes() == (tmp_path / name).read_bytes(), name
        remote = [doc for _, doc in read_documents(s3_bucket / name)]
        assert remote == [doc for _, doc in read_documents(tmp_path / name)]
        assert [d.id for d in remote] == [d["id"] for d in docs]
    assert tree_bytes(s3_bucket) == tree_bytes(tmp_path)


def test_truncated_object_is_detected(s3_bucket: RemotePath, tmp_path: Path) -> None:
    write_lines(tmp_path / "x.jsonl.zst", make_docs(200))
    data = (tmp_path / "x.jsonl.zst").read_bytes()
    (s3_bucket / "x.jsonl.zst").write_bytes(data[: len(data) // 2])
    with pytest.raises(EOFError, match="truncated"):
        for _ in iter_chunks(f"{s3_bucket}/x.jsonl.zst"):
            pass


def test_failed_writes_leave_no_object(s3_bucket: RemotePath) -> None:
    final = s3_bucket / "out" / "x.jsonl.zst"
    with pytest.raises(RuntimeError), JsonlWriter(final) as writer:
        for i in range(20_000):  # several MB: a multipart upload has started
            writer.write({"id": str(i), "text": "word " * 40})
        raise RuntimeError("killed mid-file")
    with pytest.raises(RuntimeError), atomic_open(s3_bucket / "out" / "raw.bin") as out:
        out.write(b"partial")
        raise RuntimeError("failed")
    assert storage.list_files(s3_bucket) == []
    write_bytes_atomic(s3_bucket / "out" / "ok.json", b"{}")
    assert [str(p) for p in storage.list_files(s3_bucket)] == [f"{s3_bucket}/out/ok.json"]


def test_fingerprint_uses_etag(s3_bucket: RemotePath) -> None:
    obj = s3_bucket / "a.bin"
    assert storage.fingerprint(obj) == {"missing": True}
    obj.write_bytes(b"one")
    first = storage.fingerprint(obj)
    assert first["bytes"] == 3 and first["etag"]
    obj.write_bytes(b"two")
    second = storage.fingerprint(obj)
    assert second["bytes"] == 3 and second["etag"] != first["etag"]


def _cli_error(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_missing_bucket_and_key_are_one_line_errors(s3_bucket: RemotePath) -> None:
    line = _cli_error(["inspect", "s3://no-such-bucket/documents"])
    assert line == (
        "Error: s3://no-such-bucket/documents: bucket 'no-such-bucket' does not exist"
        " or is not visible to these credentials"
    )
    line = _cli_error(["inspect", f"{s3_bucket}/documents/x.jsonl"])
    assert line == f"Error: {s3_bucket}/documents/x.jsonl: no such object or prefix"
    with pytest.raises(DolmakitError, match="matched no document files"):
        expand_inputs([f"{s3_bucket}/documents/*.jsonl"])


def test_unreachable_endpoint_is_a_quick_clear_error(
    s3_bucket: RemotePath, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOLMAKIT_S3_ENDPOINT", "http://127.0.0.1:9")
    line = _cli_error(["inspect", f"{s3_bucket}/documents"])
    assert line == (
        f"Error: {s3_bucket}/documents: cannot reach the S3 endpoint http://127.0.0.1:9"
        " (check DOLMAKIT_S3_ENDPOINT and the network)"
    )


def test_refused_credentials_are_a_clear_error(s3_server: str, s3_bucket: RemotePath) -> None:
    (s3_bucket / "documents" / "x.jsonl").write_bytes(b'{"id": "1", "text": "a"}\n')
    set_moto_auth(s3_server, 0)
    try:
        line = _cli_error(["inspect", f"{s3_bucket}/documents"])
    finally:
        set_moto_auth(s3_server, float("inf"))
    assert line.startswith(f"Error: {s3_bucket}/documents: access denied: no valid S3 credentials")


def test_delete_tree_removes_a_folder_or_a_prefix_and_nothing_beside_it(
    tmp_path: Path, s3_bucket: RemotePath
) -> None:
    names = ["mix/a.txt", "mix/sub/b.txt", "mix/sub/deeper/c.txt", "mix2/d.txt", "mix.txt"]
    for root in (tmp_path, s3_bucket):
        for name in names:
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(name.encode())
        storage.delete_tree(root / "mix")
        storage.delete_tree(root / "missing")  # nothing there: not an error
        assert sorted(tree_bytes(root)) == ["mix.txt", "mix2/d.txt"]
        assert not (root / "mix").exists() and not (root / "mix/sub/b.txt").exists()
        storage.delete_tree(root / "mix.txt")  # a single file or object
        assert sorted(tree_bytes(root)) == ["mix2/d.txt"]
    with pytest.raises(StorageError, match="refusing to delete a whole bucket"):
        storage.delete_tree(s3_bucket)
    assert (s3_bucket / "mix2/d.txt").read_bytes() == b"mix2/d.txt"
    storage.delete(s3_bucket / "mix2/nothing", missing_ok=True)
    with pytest.raises(StorageError, match="no such object"):
        storage.delete(s3_bucket / "mix2/nothing", missing_ok=False)
